// Golden-output tests: each command's output on the checked-in fixture
// data directory (tests/data/cli/datadir) must equal the checked-in
// expectation (tests/data/cli/golden/<name>.txt), exit code included.
//
// Regenerate after an intended change:
//   SPOOL_UPDATE_GOLDEN=1 build/cli/tests/spool_cli_tests
//       --gtest_filter='*GoldenTest*'
// The fixture itself is written by WriteFixtureDataDir (cli_test_util.cc):
//   SPOOL_REGENERATE_CLI_FIXTURES=1 build/cli/tests/spool_cli_tests
//       --gtest_filter='CliFixtureTest.*'
// and must be regenerated (then the goldens) only when it should change.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/cli_test_util.h"
#include "gtest/gtest.h"

namespace spool::cli_test {
namespace {

struct GoldenCase {
  std::string name;  // golden/<name>.txt
  std::vector<std::string> args;
  int exit_code = 0;
  bool copy = false;  // run on a temporary copy (the command writes)
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }

// The command lines whose output is pinned. Paths are relative to
// tests/data/cli (or to the temporary copy's parent), so output is stable.
std::vector<GoldenCase> Cases() {
  const std::string seg0 = "datadir/orders-0/00000000000000000000";
  return {
      {"help", {"--help"}},
      {"dump-help", {"dump", "--help"}},
      {"dump-segment", {"dump", seg0 + ".log"}},
      {"dump-partition-records", {"dump", "--records", "datadir/orders-0"}},
      {"dump-range-hex",
       {"dump", "--records", "--data", "hex", "--from-offset", "4",
        "--to-offset", "8", "datadir/orders-0"}},
      {"dump-time-range",
       {"dump", "--records", "--from-time", "1700000000010", "--to-time",
        "2023-11-14T22:13:20.040Z", "datadir/orders-0"}},
      {"dump-json",
       {"dump", "--json", "--records", "--data", "base64", "datadir/events-1"}},
      {"dump-index", {"dump", seg0 + ".index"}},
      {"dump-timeindex", {"dump", seg0 + ".timeindex"}},
      {"dump-snapshot",
       {"dump", "datadir/orders-0/00000000000000000022.snapshot"}},
      {"dump-all-files", {"dump", "--all-files", "datadir/events-1"}},
      {"verify", {"verify", "datadir"}},
      {"verify-deep-json", {"verify", "--deep", "--json", "datadir"}},
      {"stats", {"stats", "datadir"}},
      {"stats-json", {"stats", "--json", "datadir"}},
      {"metrics", {"metrics", "datadir"}},
      {"recover-dry-run", {"recover", "--dry-run", "datadir"}},
      {"recover", {"recover", "datadir"}, 0, true},
      {"index-rebuild",
       {"index", "rebuild", "--index-interval-bytes", "150", seg0 + ".log"},
       0,
       true},
      {"corrupt-flip",
       {"corrupt", "--flip-bit", "100:3", "--in-place", seg0 + ".log"},
       0,
       true},
  };
}

std::string GoldenPath(const std::string& name) {
  return absl::StrCat(CliDataDir(), "/golden/", name, ".txt");
}

// What is compared: the command line, the exit code, stdout and stderr.
std::string Transcript(const GoldenCase& c, const RunResult& r) {
  return absl::StrCat("$ spool ", absl::StrJoin(c.args, " "), "\n", r.out,
                      r.err.empty() ? "" : absl::StrCat("[stderr]\n", r.err),
                      "[exit ", r.exit_code, "]\n");
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, OutputMatchesGolden) {
  const GoldenCase& c = GetParam();
  TempDir tmp;
  std::string cwd = CliDataDir();
  if (c.copy) {
    CopyTree(CliDataDir() + "/datadir", tmp.path() + "/datadir");
    cwd = tmp.path();
  }
  RunResult r = RunSpool(c.args, cwd);
  EXPECT_EQ(r.exit_code, c.exit_code) << r.out << r.err;
  const std::string got = Transcript(c, r);
  if (std::getenv("SPOOL_UPDATE_GOLDEN") != nullptr) {
    std::filesystem::create_directories(CliDataDir() + "/golden");
    WriteFileOrDie(GoldenPath(c.name), got);
    return;
  }
  EXPECT_EQ(got, ReadFileOrDie(GoldenPath(c.name)))
      << "run with SPOOL_UPDATE_GOLDEN=1 to accept the new output";
}

INSTANTIATE_TEST_SUITE_P(Commands, GoldenTest, ::testing::ValuesIn(Cases()),
                         [](const auto& test_info) {
                           return ReplaceAll(test_info.param.name, "-", "_");
                         });

TEST(CliFixtureTest, RegenerateFixtureDataDir) {
  if (std::getenv("SPOOL_REGENERATE_CLI_FIXTURES") == nullptr) {
    GTEST_SKIP() << "set SPOOL_REGENERATE_CLI_FIXTURES=1 to rewrite "
                    "tests/data/cli/datadir";
  }
  const std::string dir = CliDataDir() + "/datadir";
  std::filesystem::remove_all(dir);
  absl::Status s = WriteFixtureDataDir(dir);
  ASSERT_TRUE(s.ok()) << s;
}

TEST(CliFixtureTest, GeneratorIsDeterministic) {
  TempDir a, b;
  ASSERT_TRUE(WriteFixtureDataDir(a.path() + "/d").ok());
  ASSERT_TRUE(WriteFixtureDataDir(b.path() + "/d").ok());
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(a.path() + "/d")) {
    if (!e.is_regular_file()) continue;
    std::string rel = e.path().string().substr(a.path().size());
    EXPECT_EQ(ReadFileOrDie(e.path().string()), ReadFileOrDie(b.path() + rel))
        << rel;
  }
}

}  // namespace
}  // namespace spool::cli_test
