// Collecting `spool stats`: one pass over each partition's batch headers
// (FileBatchReader, no CRC check: `spool verify` does that), decompressing
// compressed batches to measure them, plus the newest .snapshot.

#include "tools/stats.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "format/compression.h"
#include "log/checkpoint_file.h"
#include "log/file_batch_reader.h"
#include "tools/log_seek.h"
#include "tools/progress.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

constexpr size_t kMaxDecompressedBytes = size_t{64} << 20;

std::vector<std::pair<std::string, PartitionStatsExtension>>&
PartitionExtensions() {
  static auto* v =
      new std::vector<std::pair<std::string, PartitionStatsExtension>>();
  return *v;
}

std::vector<std::pair<std::string, DataDirStatsExtension>>&
DataDirExtensions() {
  static auto* v =
      new std::vector<std::pair<std::string, DataDirStatsExtension>>();
  return *v;
}

// Adds one batch to the totals. `scratch` is reused for decompression.
void AddBatch(const RecordBatchView& batch, PartitionStats* st,
              std::string* scratch) {
  const BatchHeader& h = batch.header();
  ++st->batches;
  st->records += h.records_count;
  st->stored_bytes += h.size_bytes();
  if (h.is_control()) ++st->control_batches;
  ++st->batches_by_codec[std::string(CompressionName(h.compression()))];
  int64_t uncompressed = h.size_bytes();
  if (h.compression() != Compression::kNone && h.records_count > 0) {
    absl::Status s = Decompress(h.compression(), batch.records_region(),
                                kMaxDecompressedBytes, scratch);
    if (s.ok()) uncompressed = kBatchHeaderSize + scratch->size();
  }
  st->uncompressed_bytes += uncompressed;
  if (h.base_timestamp >= 0 && !h.has_delete_horizon() &&
      (st->first_timestamp < 0 || h.base_timestamp < st->first_timestamp)) {
    st->first_timestamp = h.base_timestamp;
  }
  st->max_timestamp = std::max(st->max_timestamp, h.max_timestamp);
  st->log_end_offset = std::max(st->log_end_offset, h.next_offset());
}

absl::Status ScanSegment(FileSystem* fs, const SegmentFiles& seg,
                         PartitionStats* st, Progress* progress,
                         std::string* scratch) {
  SPOOL_ASSIGN_OR_RETURN(auto file, fs->Open(seg.log, {.read_only = true}));
  SPOOL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  st->size_bytes += static_cast<int64_t>(size);
  st->log_end_offset = std::max(st->log_end_offset, seg.base_offset);
  FileBatchReader reader(*file, 0, size, {.verify_crc = false});
  ScannedBatch b;
  while (reader.Next(&b)) {
    AddBatch(b.batch, st, scratch);
    progress->Add(b.batch.bytes().size());
  }
  if (reader.stop() == FileBatchReader::Stop::kIoError) return reader.status();
  if (reader.stop() != FileBatchReader::Stop::kEnd && st->scan_stop.empty()) {
    st->scan_stop = absl::StrFormat("%s:%d: %s", seg.log, reader.valid_end(),
                                    reader.status().message());
  }
  return absl::OkStatus();
}

// The newest snapshot that parses.
void ReadProducers(FileSystem* fs, const PartitionListing& l,
                   PartitionStats* st) {
  for (auto it = l.snapshots.rbegin(); it != l.snapshots.rend(); ++it) {
    absl::StatusOr<std::string> data = fs->ReadFile(*it);
    if (!data.ok()) continue;
    absl::StatusOr<ProducerSnapshot> s = ParseProducerSnapshot(*data);
    if (!s.ok() || !s->crc_ok()) continue;
    st->snapshot = *it;
    st->producers = s->entries;
    return;
  }
}

}  // namespace

bool RegisterPartitionStatsExtension(std::string name,
                                     PartitionStatsExtension fn) {
  PartitionExtensions().emplace_back(std::move(name), std::move(fn));
  return true;
}

bool RegisterDataDirStatsExtension(std::string name, DataDirStatsExtension fn) {
  DataDirExtensions().emplace_back(std::move(name), std::move(fn));
  return true;
}

absl::StatusOr<PartitionStats> CollectPartitionStats(
    const StatsContext& ctx, const std::string& dir,
    const std::map<TopicPartition, int64_t>& recovery_points,
    const std::map<TopicPartition, int64_t>& log_starts, Progress* progress) {
  SPOOL_ASSIGN_OR_RETURN(PartitionListing l, ListPartition(ctx.fs, dir));
  PartitionStats st;
  st.dir = dir;
  st.tp = l.tp;
  st.segments = static_cast<int64_t>(l.segments.size());
  std::string scratch;
  for (const SegmentFiles& seg : l.segments) {
    SPOOL_RETURN_IF_ERROR(ScanSegment(ctx.fs, seg, &st, progress, &scratch));
  }
  st.log_start_offset = l.segments.empty() ? 0 : l.segments.front().base_offset;
  if (st.tp.has_value()) {
    if (auto it = log_starts.find(*st.tp); it != log_starts.end()) {
      st.log_start_offset = std::max(st.log_start_offset, it->second);
    }
    if (auto it = recovery_points.find(*st.tp); it != recovery_points.end()) {
      st.recovery_point = it->second;
    }
  }
  ReadProducers(ctx.fs, l, &st);
  for (auto& [name, fn] : PartitionExtensions()) {
    SPOOL_RETURN_IF_ERROR(fn(ctx, &st));
  }
  return st;
}

absl::StatusOr<StatsReport> CollectStats(const StatsContext& ctx) {
  SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> dirs,
                         PartitionDirs(ctx.fs, ctx.path));
  auto recovery =
      ReadCheckpointOffsets(ctx.fs, ctx.state.dir, kRecoveryPointCheckpoint);
  auto starts =
      ReadCheckpointOffsets(ctx.fs, ctx.state.dir, kLogStartCheckpoint);
  Progress progress("stats", 0);
  StatsReport report;
  for (const std::string& dir : dirs) {
    SPOOL_ASSIGN_OR_RETURN(
        PartitionStats st,
        CollectPartitionStats(ctx, dir, recovery, starts, &progress));
    report.partitions.push_back(std::move(st));
  }
  for (auto& [name, fn] : DataDirExtensions()) {
    SPOOL_ASSIGN_OR_RETURN(std::optional<StatsSection> section,
                           fn(ctx, report.partitions));
    if (section.has_value()) report.sections.push_back(std::move(*section));
  }
  return report;
}

}  // namespace spool::cli
