#include "tools/group_lag.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/tables_reader.h"
#include "util/status_macros.h"

namespace spool::cli {

int64_t GroupReport::lag_records() const {
  int64_t total = 0;
  for (const GroupPartitionRow& p : partitions) total += p.lag.lag_records;
  return total;
}

double GroupReport::max_lag_seconds() const {
  double m = 0;
  for (const GroupPartitionRow& p : partitions) {
    m = std::max(m, p.lag.lag_seconds);
  }
  return m;
}

std::string_view StoredGroupState(const StoredGroup& g) {
  if (g.members.empty()) return "empty";
  for (const StoredMember& m : g.members) {
    if (m.generation != g.generation) return "rebalancing";
  }
  return "stable";
}

absl::StatusOr<std::vector<GroupReport>> CollectGroupReports(
    FileSystem* fs, const TableStore& tables, const GroupsQuery& query,
    FindingSink* sink) {
  SPOOL_ASSIGN_OR_RETURN(auto groups, ReadGroupRows(tables, query.group, sink));
  SPOOL_ASSIGN_OR_RETURN(std::vector<OffsetRow> offsets,
                         ReadOffsetRows(tables, query.group, sink));
  std::map<std::string, GroupReport> reports;
  // Per group: partition -> (commit, member).
  std::map<std::string, std::map<TopicPartition, GroupPartitionRow>> rows;
  for (auto& [name, g] : groups) {
    reports[name].name = name;
    for (const StoredMember& m : g.members) {
      for (const TopicPartition& tp : m.assignment)
        rows[name][tp].member = m.id;
    }
    reports[name].stored = std::move(g);
  }
  for (OffsetRow& o : offsets) {
    GroupReport& r = reports[o.group];
    if (r.name.empty()) {
      r.name = o.group;
      sink->Problem(tables.path(), -1, "table-row",
                    absl::StrFormat("group \"%s\" has committed offsets but "
                                    "no groups record",
                                    PrintableKey(o.group)));
    }
    rows[o.group][o.tp].commit = std::move(o.offset);
  }
  OfflineLogs logs(fs, query.data_dirs);
  std::vector<GroupReport> out;
  for (auto& [name, report] : reports) {
    for (auto& [tp, row] : rows[name]) {
      const int64_t committed = row.commit ? row.commit->offset : -1;
      SPOOL_ASSIGN_OR_RETURN(row.lag, logs.Lag(tp, committed, query.now));
      report.partitions.push_back(std::move(row));
    }
    out.push_back(std::move(report));
  }
  return out;
}

void AddLagJson(const OfflineLag& lag, json* j) {
  auto v = [&](int64_t x) { return lag.found ? json(x) : json(nullptr); };
  (*j)["logStartOffset"] = v(lag.log_start_offset);
  (*j)["logEndOffset"] = v(lag.log_end_offset);
  (*j)["lagRecords"] = v(lag.lag_records);
  (*j)["backlogBytes"] = v(lag.backlog_bytes);
  (*j)["lagSeconds"] = lag.found ? json(lag.lag_seconds) : json(nullptr);
  (*j)["oldestUnconsumedTimestamp"] = lag.oldest_unconsumed_ms
                                          ? json(*lag.oldest_unconsumed_ms)
                                          : json(nullptr);
}

std::vector<std::string> LagCells(const OfflineLag& lag) {
  if (!lag.found) return {"-", "-", "-", "-"};
  return {absl::StrCat(lag.log_end_offset), absl::StrCat(lag.lag_records),
          absl::StrCat(lag.backlog_bytes),
          absl::StrFormat("%.1f", lag.lag_seconds)};
}

}  // namespace spool::cli
