// Helpers for the `spool` CLI tests: running the built binary, temporary
// copies of the checked-in fixtures, JSON-lines parsing, and the generator
// of the fixture data directory (tests/data/cli/datadir).

#ifndef SPOOL_TESTS_CLI_CLI_TEST_UTIL_H_
#define SPOOL_TESTS_CLI_CLI_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "spool/engine.h"

namespace spool::cli_test {

// The built tool, the checked-in CLI fixtures, the Kafka-written segments.
std::string SpoolBinary();
std::string CliDataDir();    // tests/data/cli
std::string KafkaRealDir();  // tests/data/kafka-real

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `spool <args...>` in `cwd` (empty: the current directory) with
// SPOOL_NO_PROGRESS set, capturing stdout and stderr.
RunResult RunSpool(const std::vector<std::string>& args,
                   const std::string& cwd = "");

// Runs a shell command line; returns its exit code and stdout.
RunResult RunShell(const std::string& command);

// A temporary directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Copies a directory tree (files and directories, dotfiles included).
void CopyTree(const std::string& from, const std::string& to);

// Parses one JSON object per line; fails the test on a line that is not.
std::vector<nlohmann::json> ParseJsonLines(const std::string& text);

// Replaces every occurrence of `from` in `s` with `to`.
std::string ReplaceAll(std::string s, const std::string& from,
                       const std::string& to);

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& contents);

// Writes the fixture data directory into `dir` (which must not exist): two
// partitions written through LogDirectory/PartitionLog with a manual clock
// and fixed timestamps, closed cleanly, plus a producer snapshot and a
// leader-epoch checkpoint in Kafka's formats. Deterministic.
absl::Status WriteFixtureDataDir(const std::string& dir);

// Opens an engine on `dir` (one shard, no cleaner) for a test to write or
// read what a command left; nullptr (and a test failure) if it cannot.
std::unique_ptr<Engine> OpenEngine(const std::string& dir);

// Records a topic holds: the sum over its partitions of log end minus log
// start (a test failure if the topic cannot be read).
int64_t Depth(Engine& engine, const std::string& topic);

// The name of the fixture's main partition and its segments' base offsets.
inline constexpr char kOrders[] = "orders-0";
inline constexpr char kEvents[] = "events-1";

}  // namespace spool::cli_test

#endif  // SPOOL_TESTS_CLI_CLI_TEST_UTIL_H_
