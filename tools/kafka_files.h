// Readers for the small per-directory files the `spool` commands show and
// check, all in Kafka's formats (/work/shared/kafka-format.md §3.4, §4.2,
// §8.3; docs/format/checkpoints.md):
//   * offset checkpoints (recovery-point-offset-checkpoint, ...) and a
//     partition's leader-epoch-checkpoint, with the byte position of every
//     line so problems can be located;
//   * producer-state snapshots (<offset>.snapshot, version 1);
//   * transaction indexes (<base>.txnindex, 34-byte entries).
// All read-only.

#ifndef SPOOL_TOOLS_KAFKA_FILES_H_
#define SPOOL_TOOLS_KAFKA_FILES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "spool/file_system.h"
#include "spool/topic_partition.h"
#include "tools/findings.h"

namespace spool::cli {

struct CheckpointOffset {
  TopicPartition tp;
  int64_t offset = 0;
  int64_t position = 0;  // byte position of the entry's line
};

// Reads an offset checkpoint file ("topic partition offset" entries). A
// missing file has no entries. Format problems (version, count, malformed
// lines) go to `sink` as "checkpoint-format" problems and the entries that
// did parse are returned; I/O errors are returned.
absl::StatusOr<std::vector<CheckpointOffset>> ReadCheckpointFile(
    FileSystem* fs, const std::string& path, FindingSink* sink);

struct LeaderEpoch {
  int32_t epoch = 0;
  int64_t start_offset = 0;
  int64_t position = 0;
};
// Reads <partition>/leader-epoch-checkpoint ("epoch startOffset" entries);
// also reports entries whose epochs or offsets do not increase.
absl::StatusOr<std::vector<LeaderEpoch>> ReadLeaderEpochFile(
    FileSystem* fs, const std::string& path, FindingSink* sink);

struct SnapshotEntry {
  int64_t producer_id = 0;
  int16_t producer_epoch = 0;
  int32_t last_sequence = 0;
  int64_t last_offset = 0;
  int32_t offset_delta = 0;
  int64_t timestamp = 0;
  int32_t coordinator_epoch = 0;
  int64_t current_txn_first_offset = -1;  // -1: no open transaction
};
struct ProducerSnapshot {
  int16_t version = 0;
  uint32_t crc = 0;
  uint32_t computed_crc = 0;
  std::vector<SnapshotEntry> entries;
  bool crc_ok() const { return crc == computed_crc; }
};
// Parses a snapshot file's bytes. kDataLoss (with the byte position) for
// an unknown version or a length that does not match the entry count; a
// CRC mismatch is not an error here (see crc_ok()).
absl::StatusOr<ProducerSnapshot> ParseProducerSnapshot(std::string_view data);

struct AbortedTxn {
  int16_t version = 0;
  int64_t producer_id = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  int64_t last_stable_offset = 0;
};
inline constexpr int kAbortedTxnSize = 34;
AbortedTxn DecodeAbortedTxn(std::string_view bytes);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_KAFKA_FILES_H_
