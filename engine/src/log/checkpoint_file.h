// Kafka's offset checkpoint files (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint, ...): UTF-8 text
//
//   0                      version
//   2                      number of entries
//   orders 0 1200          topic partition offset
//   orders 1 988
//
// written to "<file>.tmp", synced and renamed over the target (then the
// directory is synced). See docs/format/checkpoints.md.

#ifndef SPOOL_LOG_CHECKPOINT_FILE_H_
#define SPOOL_LOG_CHECKPOINT_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "spool/file_system.h"
#include "spool/topic_partition.h"

namespace spool {

using OffsetCheckpoint = absl::btree_map<TopicPartition, int64_t>;

inline constexpr std::string_view kRecoveryPointCheckpoint =
    "recovery-point-offset-checkpoint";
inline constexpr std::string_view kLogStartCheckpoint =
    "log-start-offset-checkpoint";

// Parses checkpoint text. kDataLoss naming `source` and the line for a bad
// version, a count that does not match the entries, or a malformed entry.
absl::StatusOr<OffsetCheckpoint> ParseOffsetCheckpoint(std::string_view text,
                                                       std::string_view source);
std::string FormatOffsetCheckpoint(const OffsetCheckpoint& entries);

// Reads a checkpoint file; a missing file reads as no entries.
absl::StatusOr<OffsetCheckpoint> ReadOffsetCheckpoint(FileSystem* fs,
                                                      const std::string& path);
// Writes it atomically and durably.
absl::Status WriteOffsetCheckpoint(FileSystem* fs, const std::string& path,
                                   const OffsetCheckpoint& entries);

}  // namespace spool

#endif  // SPOOL_LOG_CHECKPOINT_FILE_H_
