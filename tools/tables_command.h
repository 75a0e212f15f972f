// What `spool offsets`, `spool groups` and `spool subscriptions` share:
// their common flags (--json, --data-dirs, --now), resolving the path to
// the engine's tables, opening them read-only, the "engine running" note,
// and the exit code (1 if a row did not decode).

#ifndef SPOOL_TOOLS_TABLES_COMMAND_H_
#define SPOOL_TOOLS_TABLES_COMMAND_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "tables/table_store.h"
#include "tools/cli.h"
#include "tools/findings.h"
#include "tools/output.h"
#include "tools/tables_reader.h"

namespace spool::cli {

// Adds --json, --data-dirs and --now.
void AddTablesFlags(Args& args);

struct TablesCommand {
  FileSystem* fs = nullptr;
  TablesTarget target;
  std::unique_ptr<TableStore> tables;
  // The tables' data directory first, then those of --data-dirs.
  std::vector<std::string> data_dirs;
  absl::Time now;  // --now, or the current time
  bool json = false;
};

// Checks the one positional path and the shared flags, resolves and opens
// the tables. On failure prints the error and returns nullopt with the
// exit code in *exit (2 for usage errors and wrong paths, 1 otherwise).
std::optional<TablesCommand> OpenTablesCommand(std::string_view command,
                                               const Args& args, int* exit);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_TABLES_COMMAND_H_
