// Consumer lag computed offline, from the partitions' files, with the
// definitions the engine uses (docs/consumer-groups.md, "Lag"):
//
//   position      = max(committed, log start); the log start without a commit
//   lag_records   = max(0, log end - position)
//   backlog_bytes = bytes of whole batches from the one holding `position`
//                   to the log end
//   lag_seconds   = now - timestamp of the first record at or after
//                   `position` (0 when caught up or without a timestamp)
//
// Partitions are looked up by name (<topic>-<partition>) in the given data
// directories; a partition found in none has no lag (`found` false).
//
// Thread-compatible. Read-only.

#ifndef SPOOL_TOOLS_OFFLINE_LAG_H_
#define SPOOL_TOOLS_OFFLINE_LAG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "spool/file_system.h"
#include "spool/topic_partition.h"
#include "tools/log_seek.h"
#include "tools/path_kind.h"

namespace spool::cli {

struct OfflineLag {
  TopicPartition tp;
  int64_t committed = -1;  // -1: no commit
  bool found = false;      // the partition's directory was found
  std::string dir;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t lag_records = 0;
  int64_t backlog_bytes = 0;
  // Timestamp of the oldest unconsumed record, if there is one with a
  // timestamp.
  std::optional<int64_t> oldest_unconsumed_ms;
  double lag_seconds = 0;
};

class OfflineLogs {
 public:
  // `data_dirs`: where partition directories are looked for, in order.
  OfflineLogs(FileSystem* fs, std::vector<std::string> data_dirs);

  // The lag of a group at `committed` (-1: none) on `tp`, measured at
  // `now`. Errors are I/O errors reading the partition.
  absl::StatusOr<OfflineLag> Lag(const TopicPartition& tp, int64_t committed,
                                 absl::Time now);

  // The partition's bounds, or nullopt if no data directory holds it.
  absl::StatusOr<std::optional<PartitionBounds>> Bounds(
      const TopicPartition& tp);

 private:
  struct Partition {
    std::string dir;
    PartitionListing listing;
    PartitionBounds bounds;
  };
  // nullptr if no data directory holds the partition.
  absl::StatusOr<const Partition*> Find(const TopicPartition& tp);
  // Fills backlog_bytes and oldest_unconsumed_ms for `position`.
  absl::Status Backlog(const Partition& p, int64_t position, OfflineLag* lag);

  FileSystem* const fs_;
  const std::vector<std::string> data_dirs_;
  std::map<std::string, std::map<TopicPartition, int64_t>> log_starts_;
  std::map<TopicPartition, std::optional<Partition>> cache_;
};

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_OFFLINE_LAG_H_
