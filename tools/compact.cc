// spool compact: compacts partitions of a compacted topic now, or reports
// what compaction would remove (docs/compaction.md, docs/operations.md).

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "spool/engine.h"
#include "tools/cli.h"
#include "tools/engine_command.h"

namespace spool::cli {
namespace {

int RunCompact(int argc, char** argv) {
  Args args("compact",
            "[--dry-run] [--data-dirs DIR,...] <data dir> <topic> [partition]",
            "Opens the engine on <data dir> (it must not be running: the\n"
            "directory is locked) and compacts the topic's partitions (or\n"
            "one): keeps the latest record per key in the sealed segments\n"
            "older than the topic's min compaction lag, whatever the dirty\n"
            "ratio. --dry-run reports what would be removed and changes\n"
            "nothing. Exits 1 if a partition fails.");
  args.AddFlag({"dry-run", "", "report only; change nothing"});
  AddEngineFlags(args);
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  const auto& pos = args.positional();
  if (pos.size() < 2 || pos.size() > 3) {
    return args.UsageError("expected <data dir> <topic> [partition]");
  }
  int32_t only = -1;
  if (pos.size() == 3 && (!absl::SimpleAtoi(pos[2], &only) || only < 0)) {
    return args.UsageError(
        absl::StrFormat("partition '%s' is not a non-negative number", pos[2]));
  }
  std::unique_ptr<Engine> engine =
      OpenEngineCommand("compact", "compact", pos[0], args, &exit);
  if (engine == nullptr) return exit;
  absl::StatusOr<int32_t> n = engine->PartitionCount(pos[1]);
  if (!n.ok()) {
    return CloseEngineCommand("compact", *engine, Fail("compact", n.status()));
  }
  if (only >= *n) {
    return CloseEngineCommand(
        "compact", *engine,
        Fail("compact", absl::NotFoundError(absl::StrFormat(
                            "topic '%s' has no partition %d (it has %d)",
                            pos[1], only, *n))));
  }
  const CompactOptions copts{.dry_run = args.Has("dry-run"), .force = true};
  int failures = 0;
  for (int32_t p = 0; p < *n; ++p) {
    if (only >= 0 && p != only) continue;
    TopicPartition tp{pos[1], p};
    absl::StatusOr<CompactionStats> st = engine->Compact(tp, copts);
    if (!st.ok()) {
      ++failures;
      Fail("compact", st.status());
      continue;
    }
    absl::PrintF("%s: %s\n", tp.ToString(), st->ToString());
  }
  return CloseEngineCommand("compact", *engine,
                            failures > 0 ? kExitProblems : kExitOk);
}

const bool kRegistered = RegisterCommand(
    {"compact", "compact a compacted topic's partitions now (or dry run)",
     RunCompact});

}  // namespace
}  // namespace spool::cli
