// PartitionLog::Compact: plans a cleaning, runs the two cleaner passes
// (log_cleaner.cc) without holding the append lock, and swaps the cleaned
// segments in (docs/compaction.md, "Crash safety"):
//   A. cleaned segments are written as "<base>.{log,index,timeindex}.cleaned"
//      and synced; their index files are renamed to .swap; directory sync;
//   B. their .log files are renamed to .swap; directory sync — the commit
//      point: from here recovery completes the swap;
//   C. the replaced segments are renamed to .deleted; directory sync;
//   D. the cleaned segments' indexes, then logs, take their final names,
//      each step followed by a directory sync; the segment list is
//      replaced and the old segments are removed when their last reader
//      lets go.
// Recovery (partition_log_recovery.cc) removes .cleaned files and index
// .swap files without a .log.swap (rollback before B) and completes every
// .log.swap (after B).

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "log/partition_log.h"
#include "util/status_macros.h"

namespace spool {
namespace {

// Groups segments [0, count) into runs that fit one segment: total size,
// index entries and offset span within the limits.
std::vector<std::pair<size_t, size_t>> GroupBySize(
    const std::vector<std::shared_ptr<Segment>>& segs, size_t count,
    int64_t max_bytes, int64_t max_index_entries) {
  std::vector<std::pair<size_t, size_t>> groups;
  size_t i = 0;
  while (i < count) {
    size_t j = i + 1;
    int64_t bytes = static_cast<int64_t>(segs[i]->size());
    int64_t entries = segs[i]->offset_index().file().entries();
    while (j < count) {
      const Segment& next = *segs[j];
      const int64_t span = next.next_offset() - 1 - segs[i]->base_offset();
      if (bytes + static_cast<int64_t>(next.size()) > max_bytes ||
          entries + next.offset_index().file().entries() >= max_index_entries ||
          span > std::numeric_limits<int32_t>::max()) {
        break;
      }
      bytes += static_cast<int64_t>(next.size());
      entries += next.offset_index().file().entries();
      ++j;
    }
    groups.emplace_back(i, j);
    i = j;
  }
  return groups;
}

void DeleteAll(const std::vector<std::shared_ptr<Segment>>& segs) {
  // Best effort: recovery removes leftover .cleaned files.
  for (const auto& s : segs) s->DeleteFiles().IgnoreError();
}

}  // namespace

std::string CompactionStats::ToString() const {
  if (!cleaned) {
    return absl::StrFormat("nothing to clean (dirty ratio %.3f)", dirty_ratio);
  }
  return absl::StrFormat(
      "%s offsets [%d, %d) (dirty from %d, ratio %.3f): %d segments / %d "
      "bytes -> %d segments / %d bytes; %d of %d records removed (%d "
      "tombstones), %d keys; %.3f s",
      dry_run ? "would clean" : "cleaned", first_offset, end_offset,
      first_dirty_offset, dirty_ratio, segments_before, bytes_before,
      segments_after, bytes_after, records_removed, records_read,
      tombstones_removed, keys, seconds);
}

CleanablePart PartitionLog::PlanLocked(absl::Time now,
                                       const CleanerRules& rules,
                                       const SegmentList& segs,
                                       int64_t first_unstable) const {
  CleanablePart p;
  const int64_t hwm = high_watermark_.load();
  const int64_t now_ms = absl::ToUnixMillis(now);
  const bool lag = rules.min_compaction_lag > absl::ZeroDuration();
  const int64_t lag_ms = absl::ToInt64Milliseconds(rules.min_compaction_lag);
  // Never the active (last) segment.
  while (p.end_index + 1 < segs.size()) {
    const Segment& seg = *segs[p.end_index];
    const int64_t upper = segs[p.end_index + 1]->base_offset();
    if (upper > hwm || upper > first_unstable) break;
    if (lag && seg.max_timestamp() > now_ms - lag_ms) break;
    ++p.end_index;
  }
  if (segs.empty()) return p;
  p.end_offset = segs[p.end_index]->base_offset();
  int64_t start = std::max(log_start_offset_.load(), segs[0]->base_offset());
  int64_t dirty = cleaned_offset_.load();
  p.first_dirty = std::clamp(dirty < 0 ? start : dirty, start,
                             std::max(start, p.end_offset));
  for (size_t i = 0; i < p.end_index; ++i) {
    const int64_t size = static_cast<int64_t>(segs[i]->size());
    p.cleanable_bytes += size;
    if (segs[i]->next_offset() > p.first_dirty) {
      if (p.dirty_bytes == 0) p.first_dirty_index = i;
      p.dirty_bytes += size;
    }
  }
  if (p.dirty_bytes == 0) p.first_dirty_index = p.end_index;
  p.dirty_ratio = p.cleanable_bytes > 0
                      ? static_cast<double>(p.dirty_bytes) / p.cleanable_bytes
                      : 0;
  if (rules.max_compaction_lag != absl::InfiniteDuration() &&
      p.first_dirty_index < p.end_index) {
    const int64_t ts = segs[p.first_dirty_index]->max_timestamp();
    p.max_lag_exceeded = ts >= 0 && now_ms - ts > absl::ToInt64Milliseconds(
                                                      rules.max_compaction_lag);
  }
  return p;
}

CleanablePart PartitionLog::Cleanable(absl::Time now,
                                      const CleanerRules& rules) const {
  MutexLock lock(&append_mu_);
  int64_t first_unstable = std::numeric_limits<int64_t>::max();
  for (const ProducerEntry& e : producers_.Entries()) {
    if (e.current_txn_first_offset >= 0) {
      first_unstable = std::min(first_unstable, e.current_txn_first_offset);
    }
  }
  CleanablePart p = PlanLocked(now, rules, *snapshot(), first_unstable);
  dirty_ratio_.store(p.dirty_ratio);
  return p;
}

absl::StatusOr<CompactionStats> PartitionLog::Compact(
    absl::Time now, const CleanerRules& rules, const CleanerControl& control) {
  MutexLock clean_lock(&clean_mu_);
  const absl::Time started = absl::Now();
  std::shared_ptr<const SegmentList> segs;
  absl::flat_hash_set<int64_t> producer_last;
  CleanablePart plan;
  {
    MutexLock lock(&append_mu_);
    if (closed_) {
      return absl::FailedPreconditionError(
          absl::StrFormat("%s: log is closed", dir_));
    }
    segs = snapshot();
    int64_t first_unstable = std::numeric_limits<int64_t>::max();
    for (const ProducerEntry& e : producers_.Entries()) {
      if (!e.batches.empty())
        producer_last.insert(e.batches.back().last_offset);
      if (e.current_txn_first_offset >= 0) {
        first_unstable = std::min(first_unstable, e.current_txn_first_offset);
      }
    }
    plan = PlanLocked(now, rules, *segs, first_unstable);
  }
  dirty_ratio_.store(plan.dirty_ratio);
  CompactionStats stats;
  stats.dry_run = rules.dry_run;
  stats.dirty_ratio = plan.dirty_ratio;
  stats.first_dirty_offset = plan.first_dirty;
  const bool due = rules.force || plan.max_lag_exceeded ||
                   plan.dirty_ratio >= rules.min_cleanable_dirty_ratio;
  // Without new records only a forced cleaning runs (it drops tombstones
  // whose horizon passed).
  if (plan.end_index == 0 || (plan.dirty_bytes == 0 && !rules.force) || !due) {
    return stats;
  }

  // Pass 1: the latest offset of every key in the dirty part.
  OffsetMap map(rules.max_map_bytes);
  DirtyScan scan;
  scan.map_end = plan.end_offset;
  if (plan.dirty_bytes > 0) {
    SPOOL_ASSIGN_OR_RETURN(
        scan, BuildOffsetMap(*segs, plan.first_dirty_index, plan.end_index,
                             plan.first_dirty, control, &map));
  }
  if (plan.dirty_bytes > 0 && scan.map_end <= plan.first_dirty) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s: the cleaner's key map (%d bytes) cannot hold the keys of one "
        "batch at offset %d; raise cleaner_map_bytes",
        dir_, rules.max_map_bytes, plan.first_dirty));
  }
  // Clean every segment up to the one holding the map's last offset.
  size_t count = 0;
  while (count < plan.end_index &&
         (*segs)[count]->base_offset() < scan.map_end) {
    ++count;
  }
  stats.cleaned = true;
  stats.first_offset = (*segs)[0]->base_offset();
  stats.end_offset = std::min(scan.map_end, plan.end_offset);
  stats.keys = static_cast<int64_t>(map.size());
  stats.segments_before = static_cast<int64_t>(count);
  for (size_t i = 0; i < count; ++i) {
    stats.bytes_before += static_cast<int64_t>((*segs)[i]->size());
  }

  // Pass 2: rewrite group by group.
  const int64_t max_entries =
      config_.segment_index_bytes / OffsetIndex::kEntrySize;
  RewriteInput in;
  in.segments = segs.get();
  in.map = &map;
  in.aborted = &scan.aborted;
  in.producer_last_offsets = &producer_last;
  in.now_ms = absl::ToUnixMillis(now);
  in.delete_horizon_ms =
      rules.delete_retention == absl::InfiniteDuration()
          ? std::numeric_limits<int64_t>::max()
          : in.now_ms + absl::ToInt64Milliseconds(rules.delete_retention);
  in.dry_run = rules.dry_run;
  in.ctx = ctx_;
  in.now = now;
  SegmentList cleaned;
  for (auto [begin, end] :
       GroupBySize(*segs, count, config_.segment_bytes, max_entries)) {
    in.begin = begin;
    in.end = end;
    in.group_end = end < segs->size() ? (*segs)[end]->base_offset()
                                      : (*segs)[end - 1]->next_offset();
    absl::StatusOr<std::shared_ptr<Segment>> out =
        RewriteGroup(in, control, &stats);
    absl::Status s = out.status();
    if (s.ok() && closing_.load()) {
      s = absl::CancelledError("compaction cancelled (the log is closing)");
    }
    if (!s.ok()) {
      if (out.ok() && *out != nullptr) cleaned.push_back(*out);
      DeleteAll(cleaned);
      return absl::Status(
          s.code(), absl::StrFormat("compacting %s: %s", dir_, s.message()));
    }
    if (*out != nullptr) cleaned.push_back(std::move(*out));
    ++stats.segments_after;
  }
  stats.seconds = absl::ToDoubleSeconds(absl::Now() - started);
  if (rules.dry_run) return stats;

  {
    MutexLock lock(&append_mu_);
    SPOOL_RETURN_IF_ERROR(SwapLocked(*segs, count, cleaned));
  }
  cleaned_offset_.store(stats.end_offset);
  stats.seconds = absl::ToDoubleSeconds(absl::Now() - started);
  cleaner_runs_.fetch_add(1);
  cleaner_bytes_read_.fetch_add(stats.bytes_before + scan.bytes_read);
  cleaner_bytes_written_.fetch_add(stats.bytes_after);
  cleaner_bytes_reclaimed_.fetch_add(stats.bytes_reclaimed());
  cleaner_records_removed_.fetch_add(stats.records_removed);
  cleaner_micros_.fetch_add(absl::ToInt64Microseconds(absl::Now() - started));
  return stats;
}

absl::Status PartitionLog::SwapLocked(const SegmentList& old_segs, size_t count,
                                      const SegmentList& cleaned) {
  auto current = snapshot();
  bool unchanged = !closed_ && current->size() > count;
  for (size_t i = 0; unchanged && i < count; ++i) {
    unchanged = (*current)[i] == old_segs[i];
  }
  if (!unchanged) {
    DeleteAll(cleaned);
    if (closed_) {
      return absl::FailedPreconditionError(
          absl::StrFormat("%s: log is closed", dir_));
    }
    return absl::AbortedError(absl::StrFormat(
        "%s: segments changed during compaction (retention or truncation); "
        "nothing was swapped",
        dir_));
  }
  // Before the commit point a failure leaves the old segments in place.
  absl::Status s;
  for (const auto& seg : cleaned) {
    if (s.ok()) s = seg->RenameIndexesToSuffix(kSwapSuffix);
  }
  if (s.ok()) s = fs_->SyncDir(dir_);
  if (!s.ok()) {
    DeleteAll(cleaned);
    return s;
  }
  // B: the commit point.
  for (const auto& seg : cleaned) {
    if (s.ok()) s = seg->RenameLogToSuffix(kSwapSuffix);
  }
  if (s.ok()) s = fs_->SyncDir(dir_);
  // C and D.
  for (size_t i = 0; s.ok() && i < count; ++i) {
    s = old_segs[i]->RenameWithSuffix(kDeletedSuffix);
  }
  if (s.ok()) s = fs_->SyncDir(dir_);
  for (const auto& seg : cleaned) {
    if (s.ok()) s = seg->RenameIndexesToSuffix("");
  }
  if (s.ok()) s = fs_->SyncDir(dir_);
  for (const auto& seg : cleaned) {
    if (s.ok()) s = seg->RenameLogToSuffix("");
  }
  if (s.ok()) s = fs_->SyncDir(dir_);
  if (!s.ok()) {
    // The files are between two consistent states that recovery resolves;
    // the in-memory list no longer matches them.
    return Poison(absl::Status(
        s.code(),
        absl::StrFormat("segment swap of %s failed: %s", dir_, s.message())));
  }
  SegmentList next(cleaned.begin(), cleaned.end());
  next.insert(next.end(), current->begin() + static_cast<ptrdiff_t>(count),
              current->end());
  SetSegments(std::move(next));
  for (size_t i = 0; i < count; ++i) old_segs[i]->DeleteFilesOnDestruction();
  return absl::OkStatus();
}

}  // namespace spool
