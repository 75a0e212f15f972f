// Finding things in a partition's .log files without an engine: where to
// start reading for an offset (through the offset index, checked against
// the log), where a segment's valid batches end, and a partition's start
// and end offsets. Shared by `spool dump`, `spool metrics` and the offline
// lag of `spool offsets` / `groups` / `stats`.
//
// Read-only; constant memory whatever the segment size. Thread-compatible.

#ifndef SPOOL_TOOLS_LOG_SEEK_H_
#define SPOOL_TOOLS_LOG_SEEK_H_

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "spool/file_system.h"
#include "spool/topic_partition.h"
#include "tools/path_kind.h"

namespace spool::cli {

// The position of the last offset-index entry whose offset is below
// `before_offset` (the default: the last entry), if the batch at that
// position really ends at the entry's offset; else 0 (read from the start).
// An index entry (o, p) says the batch at byte p ends with offset o, so a
// scan from p meets every batch holding an offset >= before_offset.
// `index_path` may be empty (no index: 0).
uint64_t IndexedPosition(
    FileSystem* fs, const std::string& index_path, int64_t base_offset,
    const File& log,
    int64_t before_offset = std::numeric_limits<int64_t>::max());

// The offset after the last valid batch of the segment (its base offset if
// it has none), scanning from its last index entry. No CRC check.
absl::StatusOr<int64_t> SegmentEndOffset(FileSystem* fs,
                                         const SegmentFiles& seg);

// A partition's offsets and size as the engine would report them after
// opening it: log start = max(first segment's base offset, the
// log-start-offset checkpoint entry), log end = the end of the last
// segment's valid batches.
struct PartitionBounds {
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t size_bytes = 0;  // .log bytes
  int64_t segments = 0;
};
// `checkpointed_start` is the partition's log-start checkpoint entry, if
// any.
absl::StatusOr<PartitionBounds> ReadPartitionBounds(
    FileSystem* fs, const PartitionListing& listing,
    std::optional<int64_t> checkpointed_start);

// The entries of a data directory's checkpoint file (e.g.
// kLogStartCheckpoint) by partition; empty if `data_dir` is empty or the
// file is absent or unreadable (`spool verify` reports bad files).
std::map<TopicPartition, int64_t> ReadCheckpointOffsets(
    FileSystem* fs, const std::string& data_dir, std::string_view name);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_LOG_SEEK_H_
