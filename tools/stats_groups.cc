// The "consumer group lag" section of `spool stats`: for the partitions
// shown, each group's committed offset and lag, when the data directory
// holds the engine's tables (tools/group_lag.h).

#include <set>

#include "absl/strings/str_cat.h"
#include "tools/group_lag.h"
#include "tools/stats.h"
#include "tools/tables_reader.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

StatsSection Unreadable(const absl::Status& s) {
  StatsSection section;
  section.name = "group-lag";
  section.title = absl::StrCat(
      "consumer group lag: the tables could not be read (", s.ToString(), ")");
  section.data = {{"error", s.ToString()}};
  return section;
}

absl::StatusOr<std::optional<StatsSection>> GroupLagSection(
    const StatsContext& ctx, const std::vector<PartitionStats>& partitions) {
  if (!HasTables(ctx.fs, ctx.state.dir)) return std::nullopt;
  std::set<TopicPartition> shown;
  for (const PartitionStats& p : partitions) {
    if (p.tp.has_value()) shown.insert(*p.tp);
  }
  TablesTarget target{ctx.state.dir, JoinPath(ctx.state.dir, kTablesDirName),
                      ctx.state};
  absl::StatusOr<std::unique_ptr<TableStore>> tables =
      OpenTablesReadOnly(ctx.fs, target);
  if (!tables.ok()) return Unreadable(tables.status());
  FindingSink problems(nullptr, false);
  absl::StatusOr<std::vector<GroupReport>> groups = CollectGroupReports(
      ctx.fs, **tables, {"", {ctx.state.dir}, ctx.now}, &problems);
  if (!groups.ok()) return Unreadable(groups.status());
  StatsSection section;
  section.name = "group-lag";
  section.title = "consumer group lag";
  if (problems.problems() > 0) {
    absl::StrAppend(&section.title, " (", problems.problems(),
                    " table rows did not decode; see spool groups)");
  }
  section.columns = {"group",   "partition", "member",        "committed",
                     "log end", "lag",       "backlog bytes", "lag seconds"};
  section.data = json::array();
  for (const GroupReport& g : *groups) {
    for (const GroupPartitionRow& p : g.partitions) {
      if (!shown.contains(p.lag.tp)) continue;
      std::vector<std::string> row = {
          g.name, p.lag.tp.ToString(), p.member.empty() ? "-" : p.member,
          p.commit ? absl::StrCat(p.commit->offset) : "-"};
      for (std::string& cell : LagCells(p.lag)) row.push_back(cell);
      section.rows.push_back(std::move(row));
      json j = {
          {"group", g.name},
          {"topic", p.lag.tp.topic},
          {"partition", p.lag.tp.partition},
          {"member", p.member.empty() ? json(nullptr) : json(p.member)},
          {"committed", p.commit ? json(p.commit->offset) : json(nullptr)}};
      AddLagJson(p.lag, &j);
      section.data.push_back(std::move(j));
    }
  }
  if (section.rows.empty() && problems.problems() == 0) return std::nullopt;
  return section;
}

const bool kRegistered =
    RegisterDataDirStatsExtension("group-lag", GroupLagSection);

}  // namespace
}  // namespace spool::cli
