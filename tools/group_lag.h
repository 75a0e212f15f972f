// Consumer groups as stored in the tables, joined with their lag computed
// offline from the partitions' files (tools/offline_lag.h). Used by
// `spool offsets`, `spool groups`, and the group sections of `spool stats`
// and `spool metrics`.
//
// A group's partitions are, as for Engine::ConsumerGroups::Lag, every
// partition it has a commit on or a stored member is assigned.

#ifndef SPOOL_TOOLS_GROUP_LAG_H_
#define SPOOL_TOOLS_GROUP_LAG_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/consumer_groups_codec.h"
#include "engine/prometheus.h"
#include "tables/table_store.h"
#include "tools/findings.h"
#include "tools/offline_lag.h"
#include "tools/output.h"

namespace spool::cli {

struct GroupPartitionRow {
  OfflineLag lag;  // lag.committed is -1 without a commit
  std::optional<CommittedOffset> commit;
  std::string member;  // the stored member assigned the partition, if any
};

struct GroupReport {
  std::string name;
  // nullopt: offsets without a group record (the engine writes both in one
  // batch, so this means damaged tables; reported as a problem).
  std::optional<StoredGroup> stored;
  std::vector<GroupPartitionRow> partitions;  // by topic and partition

  int64_t lag_records() const;
  double max_lag_seconds() const;
};

// "empty" (no members), "rebalancing" (a member has not joined the current
// generation), "stable"; as GroupStateName for a running engine.
std::string_view StoredGroupState(const StoredGroup& g);

struct GroupsQuery {
  std::string group;  // empty: every group
  // Where partitions are looked for: the tables' data directory first,
  // then the engine's other data directories.
  std::vector<std::string> data_dirs;
  absl::Time now;  // lag_seconds is measured against this
};

// Reads the groups and offsets tables and computes each partition's lag.
// Undecodable rows go to `sink` as problems.
absl::StatusOr<std::vector<GroupReport>> CollectGroupReports(
    FileSystem* fs, const TableStore& tables, const GroupsQuery& query,
    FindingSink* sink);

// The lag fields as JSON ("logStartOffset", "logEndOffset", "lagRecords",
// "backlogBytes", "lagSeconds", "oldestUnconsumedTimestamp"); nulls for a
// partition whose directory was not found.
void AddLagJson(const OfflineLag& lag, json* j);
// Text cells: log end, lag records, backlog bytes, lag seconds ("-" when
// the partition was not found).
std::vector<std::string> LagCells(const OfflineLag& lag);

// Writes the consumer-group gauges of Engine::Metrics (docs/operations.md,
// "Metrics") for the tables in `data_dir`, if it has any: per group and
// partition spool_consumer_committed_offset / _lag_records /
// _lag_seconds / _backlog_bytes, per group spool_consumer_group_members /
// _generation (as last stored), and spool_consumer_groups. Partitions are
// looked for in `data_dir`. Undecodable rows are skipped.
absl::Status AppendGroupMetrics(PrometheusWriter& w, FileSystem* fs,
                                const std::string& data_dir, absl::Time now);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_GROUP_LAG_H_
