// The "subscriptions" section of `spool stats`: for the topics shown, each
// shared subscription's backlog, in-flight and parked records and its
// dead-letter topic's depth, when the data directory holds the engine's
// tables (tools/subscription_report.h).

#include <set>

#include "absl/strings/str_cat.h"
#include "tools/stats.h"
#include "tools/subscription_report.h"
#include "tools/tables_reader.h"

namespace spool::cli {
namespace {

using P = SubPartitionState;

absl::StatusOr<std::optional<StatsSection>> SubscriptionSection(
    const StatsContext& ctx, const std::vector<PartitionStats>& partitions) {
  if (!HasTables(ctx.fs, ctx.state.dir)) return std::nullopt;
  std::set<std::string> topics;
  for (const PartitionStats& p : partitions) {
    if (p.tp.has_value()) topics.insert(p.tp->topic);
  }
  StatsSection section;
  section.name = "subscriptions";
  section.title = "shared subscriptions";
  TablesTarget target{ctx.state.dir, JoinPath(ctx.state.dir, kTablesDirName),
                      ctx.state};
  absl::StatusOr<std::unique_ptr<TableStore>> tables =
      OpenTablesReadOnly(ctx.fs, target);
  FindingSink problems(nullptr, false);
  absl::StatusOr<std::vector<SubscriptionReport>> subs =
      tables.ok()
          ? CollectSubscriptionReports(
                ctx.fs, **tables, {"", "", {ctx.state.dir}, ctx.now}, &problems)
          : absl::StatusOr<std::vector<SubscriptionReport>>(tables.status());
  if (!subs.ok()) {
    section.title = absl::StrCat(
        "shared subscriptions: the tables could not "
        "be read (",
        subs.status().ToString(), ")");
    section.data = {{"error", subs.status().ToString()}};
    return section;
  }
  if (problems.problems() > 0) {
    absl::StrAppend(&section.title, " (", problems.problems(),
                    " table rows did not decode; see spool subscriptions)");
  }
  section.columns = {
      "topic",   "subscription", "backlog",           "in flight",
      "waiting", "parked",       "dead-letter topic", "dlq depth"};
  section.data = json::array();
  for (const SubscriptionReport& r : *subs) {
    if (!topics.contains(r.sub.topic)) continue;
    const std::string& dlq = r.sub.config.dead_letter_topic;
    section.rows.push_back(
        {r.sub.topic, r.sub.name, absl::StrCat(r.Total(&P::backlog)),
         absl::StrCat(r.Total(&P::in_flight)),
         absl::StrCat(r.Total(&P::waiting)), absl::StrCat(r.Total(&P::parked)),
         dlq.empty() ? "-" : dlq,
         r.dlq_depth ? absl::StrCat(*r.dlq_depth) : "-"});
    section.data.push_back(
        {{"topic", r.sub.topic},
         {"subscription", r.sub.name},
         {"backlog", r.Total(&P::backlog)},
         {"inFlight", r.Total(&P::in_flight)},
         {"waiting", r.Total(&P::waiting)},
         {"parked", r.Total(&P::parked)},
         {"deadLetterTopic", dlq.empty() ? json(nullptr) : json(dlq)},
         {"dlqDepth", r.dlq_depth ? json(*r.dlq_depth) : json(nullptr)}});
  }
  if (section.rows.empty() && problems.problems() == 0) return std::nullopt;
  return section;
}

const bool kRegistered =
    RegisterDataDirStatsExtension("subscriptions", SubscriptionSection);

}  // namespace
}  // namespace spool::cli
