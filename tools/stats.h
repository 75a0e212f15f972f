// `spool stats`: per-partition offsets, segments, bytes, records,
// compression and timestamps from a full scan of the batch headers, and the
// producer state held in .snapshot files.
//
// Extension points for what other components keep outside the log (the
// per-group lag and per-subscription backlog, which read Spool's tables):
//   * a PartitionStatsExtension adds named values to every partition (shown
//     as extra table columns and JSON fields);
//   * a DataDirStatsExtension adds a section after the partition table,
//     given every partition's stats (e.g. lag = log end - committed offset).
// Register them at static-initialization time from their own tools/*.cc
// file, like commands:
//   const bool kLag = RegisterDataDirStatsExtension("group-lag", GroupLag);

#ifndef SPOOL_TOOLS_STATS_H_
#define SPOOL_TOOLS_STATS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "spool/file_system.h"
#include "spool/topic_partition.h"
#include "tools/kafka_files.h"
#include "tools/output.h"
#include "tools/path_kind.h"
#include "tools/progress.h"

namespace spool::cli {

struct PartitionStats {
  std::string dir;
  std::optional<TopicPartition> tp;
  int64_t segments = 0;
  int64_t size_bytes = 0;  // .log bytes
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  std::optional<int64_t> recovery_point;  // from the checkpoint
  int64_t batches = 0;
  int64_t records = 0;
  int64_t control_batches = 0;
  // Bytes of the batches as stored, and as they would be uncompressed
  // (61-byte header + decompressed records): ratio = uncompressed / stored.
  int64_t stored_bytes = 0;
  int64_t uncompressed_bytes = 0;
  std::map<std::string, int64_t> batches_by_codec;
  int64_t first_timestamp = -1;  // smallest batch base timestamp
  int64_t max_timestamp = -1;
  // Where the scan stopped early (a corrupt or torn batch), if it did.
  std::string scan_stop;
  // The newest producer snapshot, if any.
  std::string snapshot;
  std::vector<SnapshotEntry> producers;
  // Added by extensions: name -> value.
  std::vector<std::pair<std::string, json>> extra;

  double compression_ratio() const {
    return stored_bytes == 0 ? 1.0
                             : static_cast<double>(uncompressed_bytes) /
                                   static_cast<double>(stored_bytes);
  }
};

struct StatsContext {
  FileSystem* fs = nullptr;
  ClassifiedPath path;
  DataDirState state;
  absl::Time now;  // lag in seconds is measured against this
};

using PartitionStatsExtension =
    std::function<absl::Status(const StatsContext&, PartitionStats*)>;

// A block of output after the partition table.
struct StatsSection {
  std::string name;  // JSON "section" value
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  json data;  // the JSON form
};
// Returns nullopt when it has nothing to show for this directory.
using DataDirStatsExtension =
    std::function<absl::StatusOr<std::optional<StatsSection>>(
        const StatsContext&, const std::vector<PartitionStats>&)>;

bool RegisterPartitionStatsExtension(std::string name,
                                     PartitionStatsExtension fn);
bool RegisterDataDirStatsExtension(std::string name, DataDirStatsExtension fn);

// Scans one partition directory (every batch header; compressed batches are
// decompressed to measure them) and runs the partition extensions.
// The checkpoint maps supply the recovery point and log start, if known.
absl::StatusOr<PartitionStats> CollectPartitionStats(
    const StatsContext& ctx, const std::string& dir,
    const std::map<TopicPartition, int64_t>& recovery_points,
    const std::map<TopicPartition, int64_t>& log_starts, Progress* progress);

// Every partition of the path, then the sections of the data-directory
// extensions.
struct StatsReport {
  std::vector<PartitionStats> partitions;
  std::vector<StatsSection> sections;
};
absl::StatusOr<StatsReport> CollectStats(const StatsContext& ctx);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_STATS_H_
