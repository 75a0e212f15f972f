// PartitionLog::Open's loading and crash recovery (docs/format/segments.md,
// "Recovery"):
//   1. leftovers of interrupted operations: *.deleted, *.cleaned and *.tmp
//      files are removed; a complete set of *.swap files replaces the
//      segments it covers;
//   2. index files without a .log are removed;
//   3. after a clean shutdown every segment is loaded from its metadata;
//      otherwise segments below the recovery point are loaded and the rest
//      are scanned batch by batch, truncated at the first torn or corrupt
//      batch (later segments are removed) and synced.

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "log/file_batch_reader.h"
#include "log/partition_log.h"
#include "util/status_macros.h"

namespace spool {
namespace {

bool IsSegmentFile(std::string_view name) {
  return std::string_view(name).ends_with(kLogSuffix) ||
         std::string_view(name).ends_with(kIndexSuffix) ||
         std::string_view(name).ends_with(kTimeIndexSuffix);
}

// The offset after the last valid batch of a .log file.
absl::StatusOr<int64_t> ScanNextOffset(FileSystem* fs, const std::string& path,
                                       int64_t base) {
  SPOOL_ASSIGN_OR_RETURN(auto file, fs->Open(path, {.read_only = true}));
  SPOOL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  FileBatchReader reader(*file, 0, size);
  ScannedBatch b;
  int64_t next = base;
  while (reader.Next(&b)) next = b.batch.header().next_offset();
  return next;
}

}  // namespace

bool RecoveryReport::data_dropped() const {
  if (!removed_files.empty()) {
    for (const std::string& f : removed_files) {
      if (std::string_view(f).ends_with(kLogSuffix)) return true;
    }
  }
  for (const Truncation& t : truncations) {
    if (!t.zero_tail) return true;
  }
  return false;
}

std::string RecoveryReport::ToString() const {
  std::string out = absl::StrFormat(
      "%s shutdown; recovery point %d; %d segments loaded, %d scanned (%d "
      "bytes); log [%d, %d)",
      clean_shutdown ? "clean" : "unclean", recovery_point, segments_loaded,
      segments_scanned, bytes_scanned, log_start_offset, log_end_offset);
  for (const Truncation& t : truncations) {
    absl::StrAppendFormat(
        &out, "; truncated %s at byte %d: dropped %d bytes from offset %d (%s)",
        t.file, t.position, t.bytes, t.first_lost_offset,
        t.zero_tail ? "zero-filled tail" : t.reason);
  }
  if (!removed_files.empty()) {
    absl::StrAppend(&out, "; removed ", absl::StrJoin(removed_files, ", "));
  }
  return out;
}

// Completes an interrupted segment swap (compaction, docs/compaction.md,
// "Crash safety"). A "<base>.log.swap" exists only once every file of the
// cleaned segment was synced and its index files renamed to .swap (and the
// directory synced), so it is complete: it replaces every other segment
// file whose base offset lies in [base, its next offset) — the cleaner
// makes each cleaned segment end exactly where the segments it replaces
// end. Index .swap files without their .log.swap are the leftovers of a
// swap that had not reached that point: removed (the old segments stay).
// Index files of a completed swap that are missing are rebuilt when the
// segment is opened.
static absl::Status CompleteSwaps(FileSystem* fs, const std::string& dir,
                                  std::vector<std::string>* names,
                                  RecoveryReport* report) {
  auto is_swap = [](std::string_view name) {
    return name.ends_with(kSwapSuffix);
  };
  auto unswapped = [](std::string_view name) {
    return std::string(name.substr(0, name.size() - kSwapSuffix.size()));
  };
  std::map<int64_t, int64_t> ranges;  // swapped-in base -> next offset
  for (const std::string& name : *names) {
    if (!is_swap(name) || !unswapped(name).ends_with(kLogSuffix)) continue;
    std::optional<int64_t> base = ParseSegmentBaseOffset(name);
    if (!base.has_value()) continue;
    SPOOL_ASSIGN_OR_RETURN(int64_t next,
                           ScanNextOffset(fs, JoinPath(dir, name), *base));
    ranges[*base] = std::max(next, *base + 1);
  }
  bool any_swap = false;
  auto replaced = [&](int64_t base) {
    auto it = ranges.upper_bound(base);
    if (it == ranges.begin()) return false;
    --it;
    return base >= it->first && base < it->second;
  };
  std::vector<std::string> kept;
  for (const std::string& name : *names) {
    std::optional<int64_t> base = ParseSegmentBaseOffset(name);
    if (is_swap(name)) {
      any_swap = true;
      if (base.has_value() && ranges.contains(*base)) continue;  // renamed
      SPOOL_RETURN_IF_ERROR(fs->Remove(JoinPath(dir, name)));    // orphan
      report->removed_files.push_back(name);
      continue;
    }
    if (base.has_value() && IsSegmentFile(name) && replaced(*base)) {
      SPOOL_RETURN_IF_ERROR(fs->Remove(JoinPath(dir, name)));
      report->removed_files.push_back(name);
      continue;
    }
    kept.push_back(name);
  }
  if (!any_swap) return absl::OkStatus();
  for (const std::string& name : *names) {
    std::optional<int64_t> base = ParseSegmentBaseOffset(name);
    if (!is_swap(name) || !base.has_value() || !ranges.contains(*base)) {
      continue;
    }
    std::string target = unswapped(name);
    SPOOL_RETURN_IF_ERROR(
        fs->Rename(JoinPath(dir, name), JoinPath(dir, target)));
    kept.push_back(target);
  }
  SPOOL_RETURN_IF_ERROR(fs->SyncDir(dir));
  *names = std::move(kept);
  return absl::OkStatus();
}

absl::Status PartitionLog::RemoveLeftovers(std::vector<std::string>* names,
                                           RecoveryReport* report) {
  std::vector<std::string> kept;
  for (const std::string& name : *names) {
    if (std::string_view(name).ends_with(kDeletedSuffix) ||
        std::string_view(name).ends_with(kCleanedSuffix) ||
        std::string_view(name).ends_with(".tmp")) {
      absl::Status s = fs_->Remove(JoinPath(dir_, name));
      if (!s.ok() && !absl::IsNotFound(s)) return s;
      report->removed_files.push_back(name);
    } else {
      kept.push_back(name);
    }
  }
  *names = std::move(kept);
  SPOOL_RETURN_IF_ERROR(CompleteSwaps(fs_, dir_, names, report));
  // Index files whose .log is gone are orphans.
  std::map<int64_t, bool> has_log;
  for (const std::string& name : *names) {
    std::optional<int64_t> base = ParseSegmentBaseOffset(name);
    if (base.has_value() && std::string_view(name).ends_with(kLogSuffix)) {
      has_log[*base] = true;
    }
  }
  kept.clear();
  for (const std::string& name : *names) {
    std::optional<int64_t> base = ParseSegmentBaseOffset(name);
    if (base.has_value() && IsSegmentFile(name) && !has_log.contains(*base)) {
      SPOOL_RETURN_IF_ERROR(fs_->Remove(JoinPath(dir_, name)));
      report->removed_files.push_back(name);
    } else {
      kept.push_back(name);
    }
  }
  *names = std::move(kept);
  return absl::OkStatus();
}

absl::Status PartitionLog::Load(RecoveryReport* report) {
  SPOOL_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
  SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(dir_));
  SPOOL_RETURN_IF_ERROR(RemoveLeftovers(&names, report));
  std::vector<int64_t> bases;
  for (const std::string& name : names) {
    std::optional<int64_t> base = ParseSegmentBaseOffset(name);
    if (base.has_value() && std::string_view(name).ends_with(kLogSuffix)) {
      bases.push_back(*base);
    }
  }
  std::sort(bases.begin(), bases.end());
  SPOOL_RETURN_IF_ERROR(OpenSegments(bases, report));
  if (!report->clean_shutdown) {
    // As with its data (OpenSegments syncs the active segment), a crashed
    // process may have created this directory, or a segment in it, without
    // syncing the entry (an open or roll that failed half-way): appends
    // synced from now on would vanish with their file at a power loss.
    SPOOL_RETURN_IF_ERROR(fs_->SyncDir(dir_));
    SPOOL_RETURN_IF_ERROR(fs_->SyncDir(DirName(dir_)));
  }
  auto segs = snapshot();
  int64_t end = segs->back()->next_offset();
  int64_t start =
      std::max(log_start_offset_.load(), segs->front()->base_offset());
  if (end < log_start_offset_.load()) {
    // Everything is below the checkpointed log start (records deleted
    // before the crash whose segment deletion did not survive): start over
    // with an empty segment there.
    for (const auto& seg : *segs) {
      SPOOL_RETURN_IF_ERROR(seg->DeleteFiles());
      report->removed_files.push_back(std::string(BaseName(seg->log_path())));
    }
    start = end = log_start_offset_.load();
    SPOOL_ASSIGN_OR_RETURN(auto seg,
                           Segment::Create(ctx_, start, clock_->Now()));
    SPOOL_RETURN_IF_ERROR(fs_->SyncDir(dir_));
    SetSegments({std::move(seg)});
  }
  // Segments wholly below the checkpointed log start were being deleted
  // when the process stopped: finish that.
  auto loaded = snapshot();
  size_t below = 0;
  while (below + 1 < loaded->size() &&
         (*loaded)[below + 1]->base_offset() <= start) {
    report->removed_files.push_back(
        std::string(BaseName((*loaded)[below]->log_path())));
    SPOOL_RETURN_IF_ERROR((*loaded)[below]->DeleteFiles());
    ++below;
  }
  if (below > 0) {
    SegmentList rest(loaded->begin() + static_cast<ptrdiff_t>(below),
                     loaded->end());
    SetSegments(std::move(rest));
  }
  log_start_offset_.store(start);
  durable_offset_.store(end);
  high_watermark_.store(end);
  log_end_offset_.store(end);
  report->log_start_offset = start;
  report->log_end_offset = end;
  MutexLock lock(&append_mu_);
  SPOOL_RETURN_IF_ERROR(LoadProducerStateLocked(report->clean_shutdown));
  return RebuildDedupWindowLocked();
}

absl::Status PartitionLog::OpenSegments(const std::vector<int64_t>& bases,
                                        RecoveryReport* report) {
  SegmentList list;
  const int64_t recovery_point = durable_offset_.load();
  const bool clean = report->clean_shutdown;
  for (size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == bases.size();
    const int64_t next_base = last ? bases[i] : bases[i + 1];
    const bool trusted = clean || (!last && next_base <= recovery_point);
    if (trusted) {
      SPOOL_ASSIGN_OR_RETURN(
          auto seg, Segment::Open(ctx_, bases[i], /*active=*/last, next_base));
      ++report->segments_loaded;
      list.push_back(std::move(seg));
      continue;
    }
    SegmentRecovery r;
    SPOOL_ASSIGN_OR_RETURN(auto seg,
                           Segment::OpenAndRecover(ctx_, bases[i], &r));
    ++report->segments_scanned;
    report->bytes_scanned += r.valid_bytes + r.truncated_bytes;
    // What a crashed process left in the page cache is not yet on disk.
    SPOOL_RETURN_IF_ERROR(seg->SyncLog());
    bool truncated = r.truncated_bytes > 0;
    if (truncated) {
      report->truncations.push_back(
          {seg->log_path(), r.valid_bytes, r.truncated_bytes, r.next_offset,
           std::string(r.stop_reason.message()), r.zero_tail});
    }
    if (truncated && !last) {
      // Kafka's rule: never skip over a bad batch; what follows goes too.
      for (size_t j = i + 1; j < bases.size(); ++j) {
        for (std::string_view suffix :
             {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
          std::string name = SegmentFileName(bases[j], suffix);
          absl::Status s = fs_->Remove(JoinPath(dir_, name));
          if (!s.ok() && !absl::IsNotFound(s)) return s;
          report->removed_files.push_back(name);
        }
      }
      SPOOL_RETURN_IF_ERROR(fs_->SyncDir(dir_));
      list.push_back(std::move(seg));
      break;
    }
    if (!last) SPOOL_RETURN_IF_ERROR(seg->Seal(/*sync=*/true));
    list.push_back(std::move(seg));
  }
  if (list.empty()) {
    SPOOL_ASSIGN_OR_RETURN(
        auto seg,
        Segment::Create(ctx_, log_start_offset_.load(), clock_->Now()));
    SPOOL_RETURN_IF_ERROR(fs_->SyncDir(dir_));
    list.push_back(std::move(seg));
  }
  SetSegments(std::move(list));
  return absl::OkStatus();
}

}  // namespace spool
