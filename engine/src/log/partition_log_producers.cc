// PartitionLog: idempotent producers and message-id de-duplication
// (docs/idempotence.md) — the checks made under the append lock, producer
// snapshots, and rebuilding both states when the log is opened.

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "format/batch_internal.h"
#include "log/file_batch_reader.h"
#include "log/partition_log.h"
#include "spool/errors.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

constexpr size_t kSnapshotsToKeep = 3;
// In LogAppendResult::record_offsets while the append is in progress: a
// record that will get a new offset.
constexpr int64_t kNewRecord = -1;

// The same code and error kind, with `context` in front of the message.
absl::Status Annotate(const absl::Status& s, std::string_view context) {
  return MakeError(s.code(), GetErrorKind(s),
                   absl::StrFormat("%s: %s", context, s.message()));
}

// The batch without the records whose `keep` is false, re-encoded.
absl::StatusOr<std::string> RebuildWithout(std::string_view batch,
                                           const std::vector<bool>& keep,
                                           int64_t* max_timestamp) {
  SPOOL_ASSIGN_OR_RETURN(RecordBatchView view, RecordBatchView::Parse(batch));
  const BatchHeader& h = view.header();
  BatchBuilderOptions o;
  o.compression = h.compression() == Compression::kZstd ? Compression::kZstd
                                                        : Compression::kNone;
  o.partition_leader_epoch = h.partition_leader_epoch;
  RecordBatchBuilder builder(o);
  RecordIterator it(view);
  RecordView r;
  size_t i = 0;
  *max_timestamp = -1;
  while (it.Next(&r)) {
    if (keep[i++]) {
      builder.Add(r.key, r.value,
                  std::vector<HeaderView>(r.headers.begin(), r.headers.end()),
                  r.timestamp);
      *max_timestamp = std::max(*max_timestamp, r.timestamp);
    }
  }
  SPOOL_RETURN_IF_ERROR(it.status());
  return builder.Build();
}

}  // namespace

absl::StatusOr<bool> PartitionLog::CheckDuplicatesLocked(
    std::string* batch, BatchHeader* h, int64_t* max_ts,
    const std::vector<std::optional<std::string>>& ids,
    const LogAppendOptions& options, LogAppendResult* result) {
  if (h->producer_id >= 0 && options.assign_offsets) {
    absl::StatusOr<ProducerCheck> c = producers_.Check(*h);
    if (!c.ok()) return Annotate(c.status(), dir_);
    if (c->duplicate) {
      result->duplicate = true;
      result->base_offset = c->first_offset;
      result->last_offset = c->last_offset;
      result->records = h->records_count;
      for (int32_t i = 0; i < h->records_count && !ids.empty(); ++i) {
        result->record_offsets.push_back(c->first_offset + i);
      }
      duplicates_.fetch_add(1);
      return true;
    }
  }
  if (ids.empty() || !dedup_.has_value()) return false;
  const int64_t now = clock_->NowMillis();
  dedup_->Expire(now);
  // record_offsets: an earlier copy's offset, kNewRecord, or -(j + 2) for
  // "the same id as record j of this batch".
  std::vector<int64_t> offsets(ids.size(), kNewRecord);
  absl::flat_hash_map<std::string, size_t> first;
  int duplicates = 0, repeats = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].has_value()) continue;
    if (std::optional<int64_t> o = dedup_->Find(*ids[i], now)) {
      offsets[i] = *o;
      ++duplicates;
    } else if (auto it = first.find(ToAbsl(*ids[i])); it != first.end()) {
      offsets[i] = -static_cast<int64_t>(it->second) - 2;
      ++repeats;
    } else {
      first[ToAbsl(*ids[i])] = i;
    }
  }
  if (duplicates + repeats == 0) return false;
  result->record_offsets = offsets;
  if (duplicates == static_cast<int>(ids.size())) {
    result->duplicate = true;
    result->base_offset = *std::min_element(offsets.begin(), offsets.end());
    result->last_offset = *std::max_element(offsets.begin(), offsets.end());
    result->records = static_cast<int32_t>(ids.size());
    duplicates_.fetch_add(1);
    return true;
  }
  if (h->producer_id >= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: an idempotent producer's batch mixes %d message ids already in "
        "the de-duplication window with new ones; send them separately",
        dir_, duplicates + repeats));
  }
  std::vector<bool> keep(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) keep[i] = offsets[i] == kNewRecord;
  SPOOL_ASSIGN_OR_RETURN(*batch, RebuildWithout(*batch, keep, max_ts));
  SPOOL_ASSIGN_OR_RETURN(RecordBatchView rebuilt,
                         RecordBatchView::Parse(*batch));
  *h = rebuilt.header();
  return false;
}

void PartitionLog::RememberAppendLocked(
    const BatchHeader& h, const std::vector<std::optional<std::string>>& ids,
    LogAppendResult* result) {
  const int64_t now = clock_->NowMillis();
  if (h.producer_id >= 0) {
    producers_.Update(h, now);
    producer_count_.store(static_cast<int64_t>(producers_.size()));
  }
  if (ids.empty() || !dedup_.has_value()) return;
  std::vector<int64_t>& offsets = result->record_offsets;
  if (offsets.empty()) offsets.assign(ids.size(), kNewRecord);
  int64_t next = result->base_offset;
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (offsets[i] != kNewRecord) continue;
    offsets[i] = next++;
    if (ids[i].has_value()) dedup_->Add(*ids[i], offsets[i], now);
  }
  for (int64_t& o : offsets) {
    if (o < kNewRecord) o = offsets[static_cast<size_t>(-o - 2)];
  }
  dedup_count_.store(static_cast<int64_t>(dedup_->size()));
}

std::vector<int64_t> PartitionLog::SnapshotOffsets() const {
  std::vector<int64_t> out;
  absl::StatusOr<std::vector<std::string>> names = fs_->ListDir(dir_);
  if (!names.ok()) return out;
  for (const std::string& name : *names) {
    if (!std::string_view(name).ends_with(kSnapshotSuffix)) continue;
    if (std::optional<int64_t> o = ParseSegmentBaseOffset(name)) {
      out.push_back(*o);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status PartitionLog::WriteProducerSnapshotLocked(int64_t offset) {
  SPOOL_RETURN_IF_ERROR(fs_->WriteFileAtomic(
      JoinPath(dir_, SegmentFileName(offset, kSnapshotSuffix)),
      producers_.EncodeSnapshot()));
  std::vector<int64_t> offsets = SnapshotOffsets();
  for (size_t i = 0; i + kSnapshotsToKeep < offsets.size(); ++i) {
    // An old snapshot left behind only costs disk space.
    fs_->Remove(JoinPath(dir_, SegmentFileName(offsets[i], kSnapshotSuffix)))
        .IgnoreError();
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::ForEachBatchFrom(
    int64_t offset,
    const std::function<absl::Status(const RecordBatchView&)>& fn) const {
  auto segs = snapshot();
  for (const auto& seg : *segs) {
    if (seg->next_offset() <= offset) continue;
    const uint64_t size = seg->size();
    SPOOL_ASSIGN_OR_RETURN(uint64_t pos, seg->FindPosition(offset, size));
    SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<File> file, seg->LogFile());
    FileBatchReader reader(*file, pos, size, {.verify_crc = false});
    ScannedBatch b;
    while (reader.Next(&b)) {
      if (b.batch.header().last_offset() >= offset) {
        SPOOL_RETURN_IF_ERROR(fn(b.batch));
      }
    }
    if (reader.stop() != FileBatchReader::Stop::kEnd) return reader.status();
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::LoadProducerStateLocked(bool clean) {
  producers_.Clear();
  const int64_t end = log_end_offset_.load();
  std::vector<int64_t> offsets = SnapshotOffsets();
  for (int64_t o : offsets) {
    if (o > end) {  // describes data that is no longer in the log
      SPOOL_RETURN_IF_ERROR(
          fs_->Remove(JoinPath(dir_, SegmentFileName(o, kSnapshotSuffix))));
    }
  }
  // Kafka's rule: a cleanly closed log without snapshots has no producers.
  if (clean && offsets.empty()) return absl::OkStatus();
  int64_t from = log_start_offset_.load();
  for (auto it = offsets.rbegin(); it != offsets.rend(); ++it) {
    if (*it > end) continue;
    const std::string path =
        JoinPath(dir_, SegmentFileName(*it, kSnapshotSuffix));
    absl::StatusOr<std::string> bytes = fs_->ReadFile(path);
    absl::Status s =
        bytes.ok() ? producers_.DecodeSnapshot(*bytes, path) : bytes.status();
    if (s.ok()) {
      from = *it;
      break;
    }
    fs_->Remove(path).IgnoreError();  // corrupt: fall back to an older one
    producers_.Clear();
  }
  // Replayed batches count as appended now: their append time is not in
  // the log (record timestamps are the producers' and may be old), and an
  // early expiry would let a retry through as a new batch.
  const int64_t now = clock_->NowMillis();
  SPOOL_RETURN_IF_ERROR(ForEachBatchFrom(from, [&](const RecordBatchView& b) {
    const BatchHeader& h = b.header();
    if (h.producer_id >= 0 && h.base_offset >= from) producers_.Update(h, now);
    return absl::OkStatus();
  }));
  producers_.RemoveExpired(
      now, absl::ToInt64Milliseconds(config_.producer_id_expiration));
  producer_count_.store(static_cast<int64_t>(producers_.size()));
  return absl::OkStatus();
}

absl::Status PartitionLog::RebuildDedupWindowLocked() {
  if (config_.dedup_header.empty()) return absl::OkStatus();
  dedup_.emplace(config_.dedup_window, config_.dedup_max_ids);
  const int64_t now = clock_->NowMillis();
  SPOOL_ASSIGN_OR_RETURN(std::optional<int64_t> from,
                         OffsetForTimestamp(now - absl::ToInt64Milliseconds(
                                                      config_.dedup_window)));
  if (!from.has_value()) return absl::OkStatus();
  SPOOL_RETURN_IF_ERROR(ForEachBatchFrom(*from, [&](const RecordBatchView& b) {
    RecordIterator it(b);
    RecordView r;
    while (it.Next(&r)) {
      for (const HeaderView& hd : r.headers) {
        if (hd.key == config_.dedup_header && hd.value.has_value()) {
          dedup_->Add(*hd.value, r.offset, r.timestamp);
        }
      }
    }
    return it.status();
  }));
  dedup_->Expire(now);
  dedup_count_.store(static_cast<int64_t>(dedup_->size()));
  return absl::OkStatus();
}

void PartitionLog::ExpireProducers(absl::Time now) {
  MutexLock lock(&append_mu_);
  const int64_t now_ms = absl::ToUnixMillis(now);
  producers_.RemoveExpired(
      now_ms, absl::ToInt64Milliseconds(config_.producer_id_expiration));
  producer_count_.store(static_cast<int64_t>(producers_.size()));
  if (dedup_.has_value()) {
    dedup_->Expire(now_ms);
    dedup_count_.store(static_cast<int64_t>(dedup_->size()));
  }
}

std::vector<ProducerEntry> PartitionLog::Producers() const {
  MutexLock lock(&append_mu_);
  return producers_.Entries();
}

}  // namespace spool
