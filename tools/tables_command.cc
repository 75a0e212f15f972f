#include "tools/tables_command.h"

#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "util/strings.h"

namespace spool::cli {

void AddTablesFlags(Args& args) {
  args.AddFlag({"json", "", "one JSON object per line"})
      .AddFlag({"data-dirs", "DIR,...",
                "the engine's other data directories, to find partitions "
                "for the lag"})
      .AddFlag({"now", "TIME",
                "measure lag in seconds against TIME (ms or RFC 3339)",
                "the current time"});
}

std::optional<TablesCommand> OpenTablesCommand(std::string_view command,
                                               const Args& args, int* exit) {
  if (args.positional().size() != 1) {
    *exit = args.UsageError("expected exactly one path");
    return std::nullopt;
  }
  TablesCommand c;
  c.fs = FileSystem::Default();
  c.json = args.Has("json");
  c.now = absl::Now();
  if (args.Has("now")) {
    int64_t millis = 0;
    if (!ParseTimeFlag(args.Get("now"), &millis)) {
      *exit = args.UsageError(absl::StrFormat(
          "--now needs milliseconds since the epoch or an RFC 3339 time, got "
          "'%s'",
          args.Get("now")));
      return std::nullopt;
    }
    c.now = absl::FromUnixMillis(millis);
  }
  absl::StatusOr<TablesTarget> target =
      ResolveTables(c.fs, args.positional()[0], command);
  if (!target.ok()) {
    *exit = FailPath(command, target.status());
    return std::nullopt;
  }
  c.target = *std::move(target);
  c.data_dirs.push_back(c.target.data_dir);
  for (absl::string_view d :
       absl::StrSplit(ToAbsl(args.Get("data-dirs")), ',', absl::SkipEmpty())) {
    c.data_dirs.emplace_back(d);
  }
  if (c.target.state.engine_running) {
    std::cerr << "spool " << command
              << ": note: engine running; showing the tables as of now (they "
                 "may change while you look)\n";
  }
  absl::StatusOr<std::unique_ptr<TableStore>> tables =
      OpenTablesReadOnly(c.fs, c.target);
  if (!tables.ok()) {
    *exit = Fail(std::string(command), tables.status());
    return std::nullopt;
  }
  c.tables = *std::move(tables);
  return c;
}

}  // namespace spool::cli
