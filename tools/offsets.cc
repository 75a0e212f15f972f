// spool offsets: the committed consumer-group offsets in the tables, each
// with the partition's log end and the group's lag there (docs/cli.md).

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/cli.h"
#include "tools/group_lag.h"
#include "tools/tables_command.h"

namespace spool::cli {
namespace {

std::string CommitTime(const CommittedOffset& o) {
  return o.commit_time == absl::InfinitePast()
             ? "-"
             : FormatTimestamp(absl::ToUnixMillis(o.commit_time));
}

json OffsetJson(const GroupReport& g, const GroupPartitionRow& p) {
  const CommittedOffset& o = *p.commit;
  json j = {{"type", "offset"},
            {"group", g.name},
            {"topic", p.lag.tp.topic},
            {"partition", p.lag.tp.partition},
            {"committed", o.offset},
            {"leaderEpoch", o.leader_epoch},
            {"commitTime", o.commit_time == absl::InfinitePast()
                               ? json(nullptr)
                               : json(absl::ToUnixMillis(o.commit_time))},
            {"metadata", o.metadata},
            {"member", p.member.empty() ? json(nullptr) : json(p.member)}};
  AddLagJson(p.lag, &j);
  return j;
}

void Print(const TablesCommand& c, const std::vector<GroupReport>& groups,
           Output& out) {
  Table t({"group", "partition", "committed", "epoch", "commit time", "log end",
           "lag", "backlog bytes", "lag seconds", "metadata"});
  int64_t rows = 0;
  for (const GroupReport& g : groups) {
    for (const GroupPartitionRow& p : g.partitions) {
      if (!p.commit.has_value()) continue;  // assigned, never committed
      ++rows;
      if (c.json) {
        out.JsonLine(OffsetJson(g, p));
        continue;
      }
      std::vector<std::string> row = {
          g.name, p.lag.tp.ToString(), absl::StrCat(p.commit->offset),
          p.commit->leader_epoch < 0 ? "-"
                                     : absl::StrCat(p.commit->leader_epoch),
          CommitTime(*p.commit)};
      for (std::string& cell : LagCells(p.lag)) row.push_back(cell);
      std::string metadata;
      AppendData(&metadata, p.commit->metadata, DataFormat::kUtf8);
      row.push_back(metadata.empty() ? "-" : metadata);
      t.AddRow(std::move(row));
    }
  }
  if (c.json) return;
  out.buffer() += rows == 0 ? "no committed offsets\n" : t.ToString();
}

int RunOffsets(int argc, char** argv) {
  Args args("offsets", "[--group G] [--json] [--now TIME] <data dir>",
            "Reads the consumer groups' committed offsets from the engine's\n"
            "tables (<data dir>/spool-tables, opened read-only: works while\n"
            "an engine runs) and shows, per group and partition, the\n"
            "committed offset, leader epoch, commit time and metadata, with\n"
            "the partition's log end and the group's lag there (records,\n"
            "bytes, and the age of the oldest unconsumed record), computed\n"
            "from the partition's files. Exits 1 if a row does not decode.");
  args.AddFlag({"group", "G", "only this group"});
  AddTablesFlags(args);
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  std::optional<TablesCommand> c = OpenTablesCommand("offsets", args, &exit);
  if (!c.has_value()) return exit;
  Output out;
  FindingSink problems(&out, c->json);
  absl::StatusOr<std::vector<GroupReport>> groups = CollectGroupReports(
      c->fs, *c->tables, {args.Get("group"), c->data_dirs, c->now}, &problems);
  if (!groups.ok()) {
    out.Flush();
    return Fail("offsets", groups.status());
  }
  Print(*c, *groups, out);
  return problems.problems() > 0 ? kExitProblems : kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"offsets", "committed consumer-group offsets and lag (from the tables)",
     RunOffsets});

}  // namespace
}  // namespace spool::cli
