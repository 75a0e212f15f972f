#include "tools/engine_command.h"

#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "spool/file_system.h"
#include "tools/path_kind.h"
#include "tools/tables_reader.h"
#include "util/strings.h"

namespace spool::cli {

void AddEngineFlags(Args& args) {
  args.AddFlag({"data-dirs", "DIR,...",
                "the engine's other data directories, in its order (an "
                "engine with several must be opened with all of them)"});
}

std::unique_ptr<Engine> OpenEngineCommand(std::string_view command,
                                          std::string_view verb,
                                          const std::string& path,
                                          const Args& args, int* exit) {
  FileSystem* fs = FileSystem::Default();
  // The path must already be an engine's data directory: the engine would
  // otherwise create one (tables, lock file) wherever it is pointed.
  absl::StatusOr<TablesTarget> target = ResolveTables(fs, path, command);
  if (!target.ok()) {
    *exit = FailPath(command, target.status());
    return nullptr;
  }
  EngineOptions options;
  options.data_dirs = {target->data_dir};
  for (absl::string_view d :
       absl::StrSplit(ToAbsl(args.Get("data-dirs")), ',', absl::SkipEmpty())) {
    options.data_dirs.emplace_back(d);
  }
  for (const std::string& dir : options.data_dirs) {
    if (LockHeld(dir + "/.lock")) {
      std::cerr << absl::StrFormat(
          "spool %s: refusing to %s: an engine holds %s/.lock (stop it "
          "first, or do this through the running engine's API)\n",
          command, verb, dir);
      *exit = kExitProblems;
      return nullptr;
    }
  }
  options.create_if_missing = false;
  options.shards = 1;
  options.cleaner_threads = 0;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(options);
  if (!engine.ok()) {
    *exit = Fail(std::string(command), engine.status());
    return nullptr;
  }
  return *std::move(engine);
}

int CloseEngineCommand(std::string_view command, Engine& engine, int exit) {
  absl::Status closed = engine.Close();
  if (!closed.ok()) return Fail(std::string(command), closed);
  return exit;
}

}  // namespace spool::cli
