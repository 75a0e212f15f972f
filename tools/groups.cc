// spool groups: the consumer groups in the tables: generation, strategy,
// members with their subscriptions and assignments, and the lag per
// partition (docs/cli.md).

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "spool/assignor.h"
#include "tools/cli.h"
#include "tools/group_lag.h"
#include "tools/tables_command.h"

namespace spool::cli {
namespace {

std::string Strategy(const StoredGroup& g) {
  return g.strategy ? std::string(AssignmentStrategyName(*g.strategy)) : "-";
}

std::string Assignment(const StoredMember& m) {
  std::vector<std::string> parts;
  for (const TopicPartition& tp : m.assignment) parts.push_back(tp.ToString());
  return parts.empty() ? "-" : absl::StrJoin(parts, ",");
}

json MemberJson(const StoredMember& m) {
  json assignment = json::array();
  for (const TopicPartition& tp : m.assignment) {
    assignment.push_back({{"topic", tp.topic}, {"partition", tp.partition}});
  }
  return {{"id", m.id},
          {"generation", m.generation},
          {"sessionTimeoutMs", absl::ToInt64Milliseconds(m.session_timeout)},
          {"topics", m.topics},
          {"assignment", std::move(assignment)}};
}

json GroupJson(const GroupReport& g) {
  json j = {{"type", "group"}, {"group", g.name}};
  if (g.stored.has_value()) {
    const StoredGroup& s = *g.stored;
    json topics = json::array(), members = json::array();
    for (const TopicPartitions& t : s.topics) {
      topics.push_back({{"topic", t.topic}, {"partitions", t.partitions}});
    }
    for (const StoredMember& m : s.members) members.push_back(MemberJson(m));
    j["state"] = StoredGroupState(s);
    j["generation"] = s.generation;
    j["strategy"] =
        s.strategy ? json(AssignmentStrategyName(*s.strategy)) : json(nullptr);
    j["emptySince"] =
        s.empty_since_ms < 0 ? json(nullptr) : json(s.empty_since_ms);
    j["topics"] = std::move(topics);
    j["members"] = std::move(members);
  }
  json partitions = json::array();
  for (const GroupPartitionRow& p : g.partitions) {
    json pj = {{"topic", p.lag.tp.topic},
               {"partition", p.lag.tp.partition},
               {"committed", p.commit ? json(p.commit->offset) : json(nullptr)},
               {"member", p.member.empty() ? json(nullptr) : json(p.member)}};
    AddLagJson(p.lag, &pj);
    partitions.push_back(std::move(pj));
  }
  j["lagRecords"] = g.lag_records();
  j["maxLagSeconds"] = g.max_lag_seconds();
  j["partitions"] = std::move(partitions);
  return j;
}

void PrintText(const std::vector<GroupReport>& groups, Output& out) {
  if (groups.empty()) {
    out.Line("no consumer groups");
    return;
  }
  Table summary({"group", "state", "generation", "strategy", "members",
                 "partitions", "lag", "max lag seconds", "empty since"});
  Table members({"group", "member", "generation", "session timeout",
                 "subscribed", "assigned"});
  Table lag({"group", "partition", "member", "committed", "log end", "lag",
             "backlog bytes", "lag seconds"});
  for (const GroupReport& g : groups) {
    const StoredGroup* s = g.stored ? &*g.stored : nullptr;
    summary.AddRow(
        {g.name, s ? std::string(StoredGroupState(*s)) : "no group record",
         s ? absl::StrCat(s->generation) : "-", s ? Strategy(*s) : "-",
         s ? absl::StrCat(s->members.size()) : "-",
         absl::StrCat(g.partitions.size()), absl::StrCat(g.lag_records()),
         absl::StrFormat("%.1f", g.max_lag_seconds()),
         s && s->empty_since_ms >= 0 ? FormatTimestamp(s->empty_since_ms)
                                     : "-"});
    for (const StoredMember& m : s ? s->members : std::vector<StoredMember>{}) {
      members.AddRow({g.name, m.id, absl::StrCat(m.generation),
                      absl::FormatDuration(m.session_timeout),
                      absl::StrJoin(m.topics, ","), Assignment(m)});
    }
    for (const GroupPartitionRow& p : g.partitions) {
      std::vector<std::string> row = {
          g.name, p.lag.tp.ToString(), p.member.empty() ? "-" : p.member,
          p.commit ? absl::StrCat(p.commit->offset) : "-"};
      for (std::string& cell : LagCells(p.lag)) row.push_back(cell);
      lag.AddRow(std::move(row));
    }
  }
  out.buffer() += summary.ToString();
  out.buffer() +=
      "\nmembers (as last stored; whether they are alive is known only to a "
      "running engine):\n";
  out.buffer() += members.empty() ? "  none\n" : members.ToString();
  out.buffer() += "\nlag per partition:\n";
  out.buffer() += lag.empty() ? "  none\n" : lag.ToString();
}

int RunGroups(int argc, char** argv) {
  Args args("groups", "[--group G] [--json] [--now TIME] <data dir>",
            "Reads the consumer groups from the engine's tables\n"
            "(<data dir>/spool-tables, opened read-only: works while an\n"
            "engine runs): state, generation, assignment strategy, the\n"
            "members as last stored with their subscriptions and\n"
            "assignments, and per partition (committed or assigned) the\n"
            "group's lag computed from the partition's files. Exits 1 if a\n"
            "row does not decode.");
  args.AddFlag({"group", "G", "only this group"});
  AddTablesFlags(args);
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  std::optional<TablesCommand> c = OpenTablesCommand("groups", args, &exit);
  if (!c.has_value()) return exit;
  Output out;
  FindingSink problems(&out, c->json);
  absl::StatusOr<std::vector<GroupReport>> groups = CollectGroupReports(
      c->fs, *c->tables, {args.Get("group"), c->data_dirs, c->now}, &problems);
  if (!groups.ok()) {
    out.Flush();
    return Fail("groups", groups.status());
  }
  if (c->json) {
    for (const GroupReport& g : *groups) out.JsonLine(GroupJson(g));
  } else {
    PrintText(*groups, out);
  }
  if (!args.Get("group").empty() && groups->empty()) {
    out.Flush();
    std::cerr << "spool groups: no group '" << args.Get("group") << "'\n";
    return kExitProblems;
  }
  return problems.problems() > 0 ? kExitProblems : kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"groups", "consumer groups: members, assignments, lag (from the tables)",
     RunGroups});

}  // namespace
}  // namespace spool::cli
