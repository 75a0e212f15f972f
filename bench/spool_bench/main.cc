// spool-bench: Spool end to end against the raw-disk limit and RocksDB used
// as a queue, in one process run. See docs/performance.md.
//
// Exit codes: 0 done (missed targets are reported, not failures), 1 a run
// failed, 2 bad usage or a feature this build does not have.

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_format.h"
#include "config.h"
#include "report.h"
#include "run.h"
#include "spool_runner.h"

namespace spool::bench {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::string DefaultParent() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

// A fresh directory under `parent` for this invocation.
std::string MakeRootDir(const std::string& parent) {
  std::string tmpl = parent + "/spool-bench-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

int RunAll(const Options& options, const std::string& root) {
  const MachineInfo machine = CollectMachine(root);
  if (!options.json) std::cout << FormatHeader(machine, options) << std::flush;
  const std::vector<RunConfig> configs = ExpandRuns(options);
  std::vector<RunResult> results;
  for (size_t i = 0; i < configs.size(); ++i) {
    std::cerr << absl::StrFormat("spool-bench: run %d/%d\n", i + 1,
                                 configs.size());
    const std::string dir = absl::StrFormat("%s/run-%d", root, i);
    absl::StatusOr<RunResult> r = ExecuteRun(configs[i], dir, options.keep);
    if (!r.ok()) {
      std::cerr << "spool-bench: run " << i + 1 << " failed: " << r.status()
                << "\n";
      return kExitFailure;
    }
    if (!options.json) {
      std::cout << FormatRun(*r, static_cast<int>(i),
                             static_cast<int>(configs.size()))
                << std::flush;
    }
    results.push_back(std::move(*r));
  }
  const std::vector<Target> targets =
      EvaluateTargets(options.scenario, results);
  if (options.json) {
    std::cout << ToJson(machine, options, results, targets).dump(2) << "\n";
  } else {
    std::cout << FormatTargets(targets);
  }
  return 0;
}

int Main(int argc, char** argv) {
  absl::StatusOr<Options> options = ParseFlags(argc - 1, argv + 1);
  if (!options.ok()) {
    std::cerr << "spool-bench: " << options.status().message()
              << "\nrun 'spool-bench --help' for usage\n";
    return kExitUsage;
  }
  if (options->help || options->list_scenarios) {
    std::cout << Usage();
    return 0;
  }
  if (options->base.idempotent && !IdempotenceAvailable()) {
    std::cerr << "spool-bench: idempotence not available in this build\n";
    return kExitUsage;
  }
  if (options->base.idempotent && options->base.api != Api::kAppend) {
    std::cerr << "spool-bench: --idempotent needs --api append (batches "
                 "built with the producer id and sequence numbers)\n";
    return kExitUsage;
  }
  if (options->base.preallocate_bytes >= 0 && !PreallocationAvailable()) {
    std::cerr << "spool-bench: --preallocate: this build's topics have no "
                 "preallocate_bytes\n";
    return kExitUsage;
  }
  const std::string parent =
      options->dir.empty() ? DefaultParent() : options->dir;
  const std::string root = MakeRootDir(parent);
  if (root.empty()) {
    std::cerr << "spool-bench: cannot create a directory under " << parent
              << "\n";
    return kExitFailure;
  }
  std::cerr << "spool-bench: data in " << root << "\n";
  const int code = RunAll(*options, root);
  if (!options->keep) std::filesystem::remove_all(root);
  return code;
}

}  // namespace
}  // namespace spool::bench

int main(int argc, char** argv) { return spool::bench::Main(argc, argv); }
