#include "tools/offline_lag.h"

#include <algorithm>

#include "log/checkpoint_file.h"
#include "log/file_batch_reader.h"
#include "spool/record.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

// Batches looked at, at most, for the first record at or after a position
// (compaction gaps, control batches), as the engine does.
constexpr int kTimestampProbes = 4;

// The timestamp of the first data record at or after `position` among the
// next batches of `reader`, starting with `first`.
std::optional<int64_t> FirstTimestamp(const ScannedBatch& first,
                                      FileBatchReader& reader,
                                      int64_t position) {
  ScannedBatch b = first;
  for (int probe = 0; probe < kTimestampProbes; ++probe) {
    if (!b.batch.header().is_control()) {
      RecordIterator it(b.batch, {.verify_crc = false});
      RecordView r;
      while (it.Next(&r)) {
        if (r.offset < position) continue;
        if (r.timestamp < 0) return std::nullopt;
        return r.timestamp;
      }
      if (!it.status().ok()) return std::nullopt;  // verify reports it
    }
    if (!reader.Next(&b)) break;
  }
  return std::nullopt;
}

}  // namespace

OfflineLogs::OfflineLogs(FileSystem* fs, std::vector<std::string> data_dirs)
    : fs_(fs), data_dirs_(std::move(data_dirs)) {}

absl::StatusOr<const OfflineLogs::Partition*> OfflineLogs::Find(
    const TopicPartition& tp) {
  if (auto it = cache_.find(tp); it != cache_.end()) {
    return it->second.has_value() ? &*it->second : nullptr;
  }
  std::optional<Partition>& slot = cache_[tp];
  for (const std::string& data_dir : data_dirs_) {
    const std::string dir = JoinPath(data_dir, tp.ToString());
    absl::StatusOr<FileInfo> info = fs_->Stat(dir);
    if (!info.ok() || !info->is_directory) continue;
    SPOOL_ASSIGN_OR_RETURN(PartitionListing listing, ListPartition(fs_, dir));
    if (!log_starts_.contains(data_dir)) {
      log_starts_[data_dir] =
          ReadCheckpointOffsets(fs_, data_dir, kLogStartCheckpoint);
    }
    std::optional<int64_t> start;
    const auto& starts = log_starts_[data_dir];
    if (auto it = starts.find(tp); it != starts.end()) start = it->second;
    SPOOL_ASSIGN_OR_RETURN(PartitionBounds bounds,
                           ReadPartitionBounds(fs_, listing, start));
    slot = Partition{dir, std::move(listing), bounds};
    return &*slot;
  }
  return nullptr;
}

absl::StatusOr<std::optional<PartitionBounds>> OfflineLogs::Bounds(
    const TopicPartition& tp) {
  SPOOL_ASSIGN_OR_RETURN(const Partition* p, Find(tp));
  if (p == nullptr) return std::optional<PartitionBounds>();
  return p->bounds;
}

absl::Status OfflineLogs::Backlog(const Partition& p, int64_t position,
                                  OfflineLag* lag) {
  const std::vector<SegmentFiles>& segs = p.listing.segments;
  // The segment holding `position`: the last one starting at or below it.
  size_t i = 0;
  while (i + 1 < segs.size() && segs[i + 1].base_offset <= position) ++i;
  bool found = false;
  for (; i < segs.size(); ++i) {
    const SegmentFiles& seg = segs[i];
    SPOOL_ASSIGN_OR_RETURN(auto file, fs_->Open(seg.log, {.read_only = true}));
    SPOOL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    if (found) {
      lag->backlog_bytes += static_cast<int64_t>(size);
      continue;
    }
    const uint64_t start =
        IndexedPosition(fs_, seg.index, seg.base_offset, *file, position);
    FileBatchReader reader(*file, start, size, {.verify_crc = false});
    ScannedBatch b;
    while (reader.Next(&b)) {
      if (b.batch.header().last_offset() < position) continue;
      found = true;
      lag->backlog_bytes = static_cast<int64_t>(size - b.position);
      lag->oldest_unconsumed_ms = FirstTimestamp(b, reader, position);
      break;
    }
    if (reader.stop() == FileBatchReader::Stop::kIoError) {
      return reader.status();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<OfflineLag> OfflineLogs::Lag(const TopicPartition& tp,
                                            int64_t committed, absl::Time now) {
  OfflineLag lag;
  lag.tp = tp;
  lag.committed = committed;
  SPOOL_ASSIGN_OR_RETURN(const Partition* p, Find(tp));
  if (p == nullptr) return lag;
  lag.found = true;
  lag.dir = p->dir;
  lag.log_start_offset = p->bounds.log_start_offset;
  lag.log_end_offset = p->bounds.log_end_offset;
  const int64_t position = std::max(committed, lag.log_start_offset);
  lag.lag_records = std::max<int64_t>(0, lag.log_end_offset - position);
  if (lag.lag_records == 0) return lag;
  SPOOL_RETURN_IF_ERROR(Backlog(*p, position, &lag));
  if (lag.oldest_unconsumed_ms.has_value()) {
    lag.lag_seconds = std::max(
        0.0, absl::ToDoubleSeconds(
                 now - absl::FromUnixMillis(*lag.oldest_unconsumed_ms)));
  }
  return lag;
}

}  // namespace spool::cli
