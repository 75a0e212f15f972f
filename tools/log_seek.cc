#include "tools/log_seek.h"

#include <algorithm>

#include "format/batch_internal.h"
#include "log/file_batch_reader.h"
#include "tools/findings.h"
#include "tools/index_reader.h"
#include "tools/kafka_files.h"
#include "util/status_macros.h"

namespace spool::cli {

uint64_t IndexedPosition(FileSystem* fs, const std::string& index_path,
                         int64_t base_offset, const File& log,
                         int64_t before_offset) {
  if (index_path.empty() || before_offset <= base_offset) return 0;
  absl::StatusOr<std::unique_ptr<IndexReader>> index =
      IndexReader::Open(fs, index_path, kOffsetEntrySize);
  if (!index.ok()) return 0;
  std::string_view bytes;
  int64_t i;
  std::optional<OffsetEntry> best;
  while ((*index)->Next(&bytes, &i)) {
    OffsetEntry e = DecodeOffsetEntry(bytes, base_offset);
    if (e.offset >= before_offset) break;
    best = e;
  }
  if (!best.has_value()) return 0;
  char header[kBatchHeaderSize];
  absl::StatusOr<size_t> n = log.Read(best->position, sizeof(header), header);
  if (!n.ok() || *n != sizeof(header)) return 0;
  absl::StatusOr<BatchHeader> h =
      ParseBatchHeader(std::string_view(header, sizeof(header)));
  if (!h.ok() || h->last_offset() != best->offset) return 0;
  return best->position;
}

absl::StatusOr<int64_t> SegmentEndOffset(FileSystem* fs,
                                         const SegmentFiles& seg) {
  SPOOL_ASSIGN_OR_RETURN(auto file, fs->Open(seg.log, {.read_only = true}));
  SPOOL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  FileBatchReader reader(*file,
                         IndexedPosition(fs, seg.index, seg.base_offset, *file),
                         size, {.verify_crc = false});
  int64_t end = seg.base_offset;
  ScannedBatch b;
  while (reader.Next(&b)) end = std::max(end, b.batch.header().next_offset());
  if (reader.stop() == FileBatchReader::Stop::kIoError) return reader.status();
  return end;
}

absl::StatusOr<PartitionBounds> ReadPartitionBounds(
    FileSystem* fs, const PartitionListing& listing,
    std::optional<int64_t> checkpointed_start) {
  PartitionBounds b;
  b.segments = static_cast<int64_t>(listing.segments.size());
  for (const SegmentFiles& s : listing.segments) {
    SPOOL_ASSIGN_OR_RETURN(FileInfo info, fs->Stat(s.log));
    b.size_bytes += static_cast<int64_t>(info.size);
  }
  if (!listing.segments.empty()) {
    b.log_start_offset = listing.segments.front().base_offset;
    SPOOL_ASSIGN_OR_RETURN(b.log_end_offset,
                           SegmentEndOffset(fs, listing.segments.back()));
  }
  if (checkpointed_start.has_value()) {
    b.log_start_offset = std::max(b.log_start_offset, *checkpointed_start);
  }
  if (listing.segments.empty()) b.log_end_offset = b.log_start_offset;
  return b;
}

std::map<TopicPartition, int64_t> ReadCheckpointOffsets(
    FileSystem* fs, const std::string& data_dir, std::string_view name) {
  std::map<TopicPartition, int64_t> out;
  if (data_dir.empty()) return out;
  FindingSink ignore(nullptr, false);  // `spool verify` reports bad files
  auto entries =
      ReadCheckpointFile(fs, JoinPath(data_dir, std::string(name)), &ignore);
  if (!entries.ok()) return out;
  for (const CheckpointOffset& e : *entries) out[e.tp] = e.offset;
  return out;
}

}  // namespace spool::cli
