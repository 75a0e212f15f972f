// What the commands that open the engine to change a data directory
// (`spool redrive`, `spool parked`) share: the --data-dirs flag, checking
// the path (a data directory holding the engine's tables), refusing while
// another engine holds it, and opening the engine for a short operator
// action (one shard, no background cleaner).

#ifndef SPOOL_TOOLS_ENGINE_COMMAND_H_
#define SPOOL_TOOLS_ENGINE_COMMAND_H_

#include <memory>
#include <string>
#include <string_view>

#include "spool/engine.h"
#include "tools/cli.h"

namespace spool::cli {

// Adds --data-dirs (the engine's other data directories, in its order).
void AddEngineFlags(Args& args);

// Opens the engine on `path` (the engine's first data directory, or its
// spool-tables directory) plus --data-dirs. On failure prints the error
// and returns nullptr with the exit code in *exit: 2 for a path that does
// not exist or holds no Spool tables, 1 if an engine holds the directory
// ("refusing to <verb>: an engine holds <dir>/.lock") or the open failed.
std::unique_ptr<Engine> OpenEngineCommand(std::string_view command,
                                          std::string_view verb,
                                          const std::string& path,
                                          const Args& args, int* exit);

// Closes the engine; prints a failure and returns kExitProblems, or
// returns `exit`.
int CloseEngineCommand(std::string_view command, Engine& engine, int exit);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_ENGINE_COMMAND_H_
