// The consumer-group gauges of `spool metrics`, from the tables.

#include "absl/strings/str_format.h"
#include "tools/group_lag.h"
#include "tools/tables_reader.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

void PartitionGauges(PrometheusWriter& w, const std::string& group,
                     const GroupPartitionRow& p) {
  const PrometheusWriter::Labels l = {
      {"group", group},
      {"topic", p.lag.tp.topic},
      {"partition", absl::StrFormat("%d", p.lag.tp.partition)}};
  if (p.commit.has_value()) {
    w.Gauge("spool_consumer_committed_offset",
            "Committed offset of the group: the next record it will consume.",
            l, static_cast<double>(p.commit->offset));
  }
  if (!p.lag.found) return;  // the partition is not in this directory
  w.Gauge("spool_consumer_lag_records",
          "Records between the group's position and the log end.", l,
          static_cast<double>(p.lag.lag_records));
  w.Gauge("spool_consumer_lag_seconds",
          "Age of the oldest record the group has not consumed (0 when "
          "caught up).",
          l, p.lag.lag_seconds);
  w.Gauge("spool_consumer_backlog_bytes",
          "Bytes of log between the group's position and the log end.", l,
          static_cast<double>(p.lag.backlog_bytes));
}

}  // namespace

absl::Status AppendGroupMetrics(PrometheusWriter& w, FileSystem* fs,
                                const std::string& data_dir, absl::Time now) {
  if (!HasTables(fs, data_dir)) return absl::OkStatus();
  TablesTarget target{data_dir, JoinPath(data_dir, kTablesDirName), {}};
  SPOOL_ASSIGN_OR_RETURN(std::unique_ptr<TableStore> tables,
                         OpenTablesReadOnly(fs, target));
  FindingSink ignore(nullptr, false);  // `spool groups` reports bad rows
  SPOOL_ASSIGN_OR_RETURN(
      std::vector<GroupReport> groups,
      CollectGroupReports(fs, *tables, {"", {data_dir}, now}, &ignore));
  int64_t listed = 0;
  for (const GroupReport& g : groups) {
    if (!g.stored.has_value()) continue;
    ++listed;
    const PrometheusWriter::Labels l = {{"group", g.name}};
    w.Gauge("spool_consumer_group_members",
            "Members of the group (here: as last stored).", l,
            static_cast<double>(g.stored->members.size()));
    w.Gauge("spool_consumer_group_generation",
            "The group's generation (moves with every rebalance).", l,
            static_cast<double>(g.stored->generation));
    for (const GroupPartitionRow& p : g.partitions) {
      PartitionGauges(w, g.name, p);
    }
  }
  w.Gauge("spool_consumer_groups", "Consumer groups.", {},
          static_cast<double>(listed));
  return absl::OkStatus();
}

}  // namespace spool::cli
