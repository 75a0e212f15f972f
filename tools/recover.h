// `spool recover`: runs the engine's crash recovery on a closed data
// directory (or one partition) and reports what it truncated; with
// --dry-run, a read-only replay of the same decisions.

#ifndef SPOOL_TOOLS_RECOVER_H_
#define SPOOL_TOOLS_RECOVER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "log/log_config.h"
#include "log/partition_log.h"
#include "spool/file_system.h"
#include "spool/topic_partition.h"

namespace spool::cli {

struct RecoverTarget {
  std::string dir;  // the partition directory
  std::optional<TopicPartition> tp;
  int64_t recovery_point = 0;  // from the checkpoint; 0 = scan everything
  int64_t log_start_offset = 0;
};

// What PartitionLog::Open(clean_shutdown = false) would do to `target`,
// computed without modifying anything: leftovers it would remove, the
// segments it would scan (from the one holding the recovery point), where
// each scan stops and how much it would truncate, the later segments it
// would remove. Scans with FileBatchReader and the same checks as
// Segment::Recover (CRC, structure, offsets increasing and within 2^31-1 of
// the base offset). Index sanity checks of trusted segments are not
// replayed (the engine rebuilds a bad index from its log; that can only
// truncate the log if the log is corrupt too).
absl::StatusOr<RecoveryReport> DryRunRecovery(FileSystem* fs,
                                              const RecoverTarget& target,
                                              const LogConfig& config);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_RECOVER_H_
