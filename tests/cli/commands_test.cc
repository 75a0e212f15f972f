// Behaviour of the commands beyond their golden output: CLI manners (help,
// usage errors, bad paths), read-only commands next to a running engine,
// recover / index rebuild / corrupt / metrics / stats semantics.

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/cli_test_util.h"
#include "gtest/gtest.h"
#include "log/log_directory.h"

namespace spool::cli_test {
namespace {

using nlohmann::json;

const char* const kCommands[] = {"dump",   "verify",       "stats",   "recover",
                                 "index",  "corrupt",      "metrics", "offsets",
                                 "groups", "subscriptions"};

// Every regular file under `dir` with its contents.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[e.path().string()] = ReadFileOrDie(e.path());
  }
  return out;
}

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/datadir";
    CopyTree(CliDataDir() + "/datadir", dir_);
  }
  std::string Path(const std::string& rel) const { return dir_ + "/" + rel; }

  TempDir tmp_;
  std::string dir_;
};

TEST(CliMannersTest, EveryCommandHasHelp) {
  for (const char* command : kCommands) {
    RunResult r = RunSpool({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.out.find(absl::StrCat("usage: spool ", command)),
              std::string::npos)
        << r.out;
  }
  EXPECT_EQ(RunSpool({"index", "rebuild", "--help"}).exit_code, 0);
}

TEST(CliMannersTest, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> lines = {
      {},
      {"no-such-command"},
      {"dump"},
      {"dump", "--no-such-flag", "x"},
      {"dump", "--data", "rot13", "datadir"},
      {"dump", "--from-offset", "ten", "datadir"},
      {"dump", "--from-time", "yesterday", "datadir"},
      {"verify", "a", "b"},
      {"index"},
      {"index", "shrink", "x.log"},
      {"corrupt", "datadir/orders-0/00000000000000000000.log"},
      {"corrupt", "--flip-bit", "1:9",
       "datadir/orders-0/00000000000000000000.log"},
      {"corrupt", "--zero", "9:3", "datadir/orders-0/00000000000000000000.log"},
  };
  for (const auto& args : lines) {
    RunResult r = RunSpool(args, CliDataDir());
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_NE(r.err.find("usage"), std::string::npos) << r.err;
  }
}

TEST(CliMannersTest, BadPathsHaveClearMessages) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
    int exit_code;
  };
  const std::vector<Case> cases = {
      {{"dump", "datadir/nope"}, "datadir/nope: no such file or directory", 2},
      {{"dump", "golden/help.txt"}, "is not a segment file", 2},
      {{"verify", "golden"}, "is neither a partition directory", 2},
      {{"stats", "datadir/orders-0/00000000000000000000.log"},
       "stats takes a partition directory or a data directory",
       2},
      {{"recover", "datadir/orders-0/00000000000000000000.index"},
       "recover takes a partition directory or a data directory",
       2},
      {{"index", "rebuild", "datadir/orders-0"},
       "index rebuild takes a segment's .log file",
       2},
  };
  for (const Case& c : cases) {
    RunResult r = RunSpool(c.args, CliDataDir());
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args[1];
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

TEST_F(CopyTest, UnreadableFileFailsWithExitOne) {
  // Root reads any file: drop to nobody for the run.
  std::string as_user;
  if (geteuid() == 0) {
    if (RunShell("command -v setpriv").exit_code != 0) {
      GTEST_SKIP() << "running as root without setpriv";
    }
    as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    std::filesystem::permissions(tmp_.path(),
                                 std::filesystem::perms::owner_all |
                                     std::filesystem::perms::group_read |
                                     std::filesystem::perms::group_exec |
                                     std::filesystem::perms::others_read |
                                     std::filesystem::perms::others_exec);
  }
  const std::string log = Path("orders-0/00000000000000000000.log");
  std::filesystem::permissions(log, std::filesystem::perms::none);
  RunResult r = RunShell(absl::StrCat(as_user, "env SPOOL_NO_PROGRESS=1 '",
                                      SpoolBinary(), "' dump '", log, "'"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("ermission denied"), std::string::npos) << r.err;
}

TEST_F(CopyTest, ReadOnlyCommandsWorkAndSayWhenAnEngineHoldsTheDirectory) {
  LogDirectory::Options options;
  options.path = dir_;
  auto engine = LogDirectory::Open(options);  // takes the lock
  ASSERT_TRUE(engine.ok()) << engine.status();
  const auto before = Snapshot(dir_);
  for (const char* command : {"dump", "verify", "stats", "metrics"}) {
    RunResult r = RunSpool({command, dir_});
    EXPECT_EQ(r.exit_code, 0) << command << r.out << r.err;
    EXPECT_NE(r.err.find("engine running; the active segment's tail may "
                         "still be moving"),
              std::string::npos)
        << command << ": " << r.err;
  }
  RunResult recover = RunSpool({"recover", dir_});
  EXPECT_EQ(recover.exit_code, 1);
  EXPECT_NE(recover.err.find("refusing to recover"), std::string::npos);
  EXPECT_EQ(
      RunSpool({"index", "rebuild", Path("orders-0/00000000000000000000.log")})
          .exit_code,
      1);
  EXPECT_EQ(RunSpool({"corrupt", "--in-place", "--truncate-at", "0",
                      Path("orders-0/00000000000000000000.log")})
                .exit_code,
            1);
  EXPECT_EQ(Snapshot(dir_), before);
  // The probe released its shared lock: the engine's lock is still good
  // and, once the engine is gone, the directory can be locked again.
  engine->reset();
  EXPECT_EQ(RunSpool({"recover", "--dry-run", dir_}).exit_code, 0);
  EXPECT_EQ(RunSpool({"recover", dir_}).exit_code, 0);
}

TEST_F(CopyTest, ReadOnlyCommandsModifyNothing) {
  const auto before = Snapshot(dir_);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"dump", "--all-files", "--records", dir_},
           {"verify", "--deep", dir_},
           {"stats", dir_},
           {"metrics", dir_},
           {"recover", "--dry-run", dir_},
           {"index", "rebuild", "--dry-run",
            Path("orders-0/00000000000000000000.log")}}) {
    RunSpool(args);
  }
  EXPECT_EQ(Snapshot(dir_), before);
}

TEST_F(CopyTest, RecoverTruncatesWhatDryRunPredicted) {
  const std::string seg = Path("orders-0/00000000000000000017.log");
  ASSERT_EQ(RunSpool({"corrupt", "--in-place", "--truncate-at", "600", seg})
                .exit_code,
            0);
  const auto damaged = Snapshot(dir_);
  RunResult dry = RunSpool({"recover", "--dry-run", "--json", dir_});
  EXPECT_EQ(dry.exit_code, 1) << dry.out << dry.err;
  EXPECT_EQ(Snapshot(dir_), damaged);
  RunResult real = RunSpool({"recover", "--json", dir_});
  EXPECT_EQ(real.exit_code, 1) << real.out << real.err;
  std::vector<json> d = ParseJsonLines(dry.out), r = ParseJsonLines(real.out);
  ASSERT_EQ(d.size(), 2u);
  ASSERT_EQ(r.size(), 2u);
  const json& truncation = r[1]["truncations"][0];
  EXPECT_EQ(truncation["file"], seg);
  EXPECT_EQ(truncation["position"], 564);
  EXPECT_EQ(truncation["bytes"], 36);
  EXPECT_EQ(truncation["firstLostOffset"], 21);
  EXPECT_EQ(r[1]["logEndOffset"], 21);
  for (const char* key : {"truncations", "logEndOffset", "logStartOffset",
                          "segmentsScanned", "bytesScanned", "removedFiles"}) {
    EXPECT_EQ(d[1][key], r[1][key]) << key;
  }
  EXPECT_EQ(std::filesystem::file_size(seg), 564u);
  // The directory is consistent again, checkpoints included.
  RunResult verify = RunSpool({"verify", dir_});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_EQ(ReadFileOrDie(Path("recovery-point-offset-checkpoint")),
            "0\n2\nevents 1 6\norders 0 21\n");
}

TEST_F(CopyTest, RecoverRemovesSegmentsAfterMidLogCorruption) {
  ASSERT_EQ(RunSpool({"corrupt", "--in-place", "--flip-bit", "100:0",
                      Path("orders-0/00000000000000000000.log")})
                .exit_code,
            0);
  WriteFileOrDie(Path("recovery-point-offset-checkpoint"),
                 "0\n2\nevents 1 6\norders 0 0\n");
  RunResult dry = RunSpool({"recover", "--dry-run", "--json", dir_});
  RunResult real = RunSpool({"recover", "--json", dir_});
  EXPECT_EQ(real.exit_code, 1);
  json d = ParseJsonLines(dry.out)[1], r = ParseJsonLines(real.out)[1];
  EXPECT_EQ(r["logEndOffset"], 1);
  EXPECT_EQ(r["truncations"][0]["position"], 75);
  EXPECT_TRUE(r["dataDropped"].get<bool>());
  EXPECT_EQ(d["removedFiles"], r["removedFiles"]);
  EXPECT_EQ(d["truncations"], r["truncations"]);
  EXPECT_FALSE(
      std::filesystem::exists(Path("orders-0/00000000000000000017.log")));
}

TEST_F(CopyTest, IndexRebuildRestoresTheIndexes) {
  const std::string stem = Path("orders-0/00000000000000000000");
  const std::string index = ReadFileOrDie(stem + ".index");
  const std::string timeindex = ReadFileOrDie(stem + ".timeindex");
  RunSpool({"corrupt", "--in-place", "--zero", "0:16", stem + ".index"});
  std::filesystem::remove(stem + ".timeindex");
  RunResult r = RunSpool(
      {"index", "rebuild", "--index-interval-bytes", "150", stem + ".log"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFileOrDie(stem + ".index"), index);
  EXPECT_EQ(ReadFileOrDie(stem + ".timeindex"), timeindex);
}

TEST_F(CopyTest, CorruptWritesACopyUnlessInPlace) {
  const std::string log = Path("orders-0/00000000000000000017.log");
  const std::string original = ReadFileOrDie(log);
  RunResult r = RunSpool({"corrupt", "--zero", "0:8", log});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFileOrDie(log), original);
  std::string copy = ReadFileOrDie(log + ".corrupt");
  EXPECT_EQ(copy.substr(8), original.substr(8));
  EXPECT_EQ(copy.substr(0, 8), std::string(8, '\0'));
  RunResult beyond = RunSpool({"corrupt", "--flip-bit", "999999:0", log});
  EXPECT_EQ(beyond.exit_code, 1);
  EXPECT_NE(beyond.err.find("beyond the end of the file"), std::string::npos);
}

TEST_F(CopyTest, DropUnsyncedCutsAtTheRecoveryPoint) {
  WriteFileOrDie(Path("recovery-point-offset-checkpoint"),
                 "0\n2\nevents 1 6\norders 0 19\n");
  const std::string log = Path("orders-0/00000000000000000017.log");
  RunResult r = RunSpool({"corrupt", "--drop-unsynced", "--in-place", log});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("recovery point 19"), std::string::npos) << r.out;
  EXPECT_EQ(std::filesystem::file_size(log), 282u);  // the batch of offset 19
}

TEST(MetricsTest, GaugesFromTheFiles) {
  RunResult r = RunSpool({"metrics", "datadir"}, CliDataDir());
  ASSERT_EQ(r.exit_code, 0);
  std::map<std::string, std::string> samples;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> kv = absl::StrSplit(line, ' ');
    ASSERT_EQ(kv.size(), 2u) << line;
    samples[kv[0]] = kv[1];
  }
  const std::string orders = R"({topic="orders",partition="0"})";
  EXPECT_EQ(samples["spool_partition_log_end_offset" + orders], "22");
  EXPECT_EQ(samples["spool_partition_durable_offset" + orders], "22");
  EXPECT_EQ(samples["spool_partition_size_bytes" + orders], "1618");
  EXPECT_EQ(samples["spool_partition_segments" + orders], "2");
  EXPECT_EQ(samples["spool_partitions"], "2");
  EXPECT_EQ(samples.count("spool_partition_appends_total" + orders), 0u);
}

TEST(StatsTest, JsonParsesBack) {
  RunResult r = RunSpool({"stats", "--json", "datadir"}, CliDataDir());
  ASSERT_EQ(r.exit_code, 0);
  std::vector<json> lines = ParseJsonLines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["type"], "data-dir");
  EXPECT_TRUE(lines[0]["cleanShutdown"].get<bool>());
  const json& orders = lines[2];
  EXPECT_EQ(orders["topic"], "orders");
  EXPECT_EQ(orders["logEndOffset"], 22);
  EXPECT_EQ(orders["records"], 19);
  EXPECT_EQ(orders["controlBatches"], 1);
  EXPECT_EQ(orders["batchesByCodec"]["zstd"], 1);
  EXPECT_GT(orders["uncompressedBytes"].get<int64_t>(),
            orders["storedBytes"].get<int64_t>());
  ASSERT_EQ(orders["producers"].size(), 2u);
  EXPECT_EQ(orders["producers"][0]["producerId"], 1000);
}

TEST(DumpTest, FromOffsetStartsAtTheIndexedBatch) {
  RunResult r = RunSpool({"dump", "--json", "--from-offset", "16",
                          "datadir/orders-0/00000000000000000000.log"},
                         CliDataDir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = ParseJsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u);  // the file line and batch 16
  EXPECT_EQ(lines[1]["baseOffset"], 16);
  EXPECT_EQ(lines[1]["position"], 772);
}

TEST(DumpTest, DataFormatsAndRecordFilters) {
  RunResult r =
      RunSpool({"dump", "--json", "--records", "--data", "hex", "--from-offset",
                "2", "--to-offset", "2", "datadir/orders-0"},
               CliDataDir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> records;
  for (const json& j : ParseJsonLines(r.out)) {
    if (j["type"] == "record") records.push_back(j);
  }
  ASSERT_EQ(records.size(), 1u);  // one record of the batch [1, 3]
  EXPECT_EQ(records[0]["offset"], 2);
  EXPECT_TRUE(records[0]["key"].is_null());
  EXPECT_EQ(records[0]["value"], "6e6f206b6579");  // "no key"
}

TEST_F(CopyTest, DumpReportsInvalidBytesAndExitsOne) {
  const std::string log = Path("orders-0/00000000000000000017.log");
  RunSpool({"corrupt", "--in-place", "--truncate-at", "600", log});
  RunResult r = RunSpool({"dump", log});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Found 36 invalid bytes at the end of "
                       "00000000000000000017.log"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace spool::cli_test
