// `spool verify` on damaged copies of the fixture data directory: one case
// per kind of corruption, each expecting a specific finding (check, file,
// byte position, severity) and the exit code. The damage is done with
// `spool corrupt --in-place` where it can be, so that command is exercised
// too.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/cli_test_util.h"
#include "format/batch_internal.h"
#include "gtest/gtest.h"
#include "spool/record.h"

namespace spool::cli_test {
namespace {

using nlohmann::json;

const std::string kSeg0 = "orders-0/00000000000000000000";
const std::string kSeg17 = "orders-0/00000000000000000017";

struct CorruptionCase {
  std::string name;
  // Damages the data directory copy at `dir`.
  std::function<void(const std::string& dir)> damage;
  std::string check;      // expected finding
  std::string file;       // relative to the data directory
  int64_t position = -1;  // -1: any
  std::string severity = "problem";
  int exit_code = 1;
};

void PrintTo(const CorruptionCase& c, std::ostream* os) { *os << c.name; }

void Corrupt(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "corrupt");
  args.push_back("--in-place");
  RunResult r = RunSpool(args, dir);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

void Append(const std::string& path, const std::string& bytes) {
  WriteFileOrDie(path, ReadFileOrDie(path) + bytes);
}

std::vector<CorruptionCase> Cases() {
  return {
      {"BitFlipInBatchIsCrcMismatch",
       [](const std::string& d) {
         Corrupt(d, {"--flip-bit", "100:3", kSeg0 + ".log"});
       },
       "crc", kSeg0 + ".log", 75},
      {"BitFlipInBaseOffsetIsOffsetOrder",
       [](const std::string& d) {
         // Offset 7 -> 5: outside the CRC, so only the offsets tell.
         Corrupt(d, {"--flip-bit", "365:1", kSeg0 + ".log"});
       },
       "offset-order", kSeg0 + ".log", 358},
      {"TruncatedTailIsTornTail",
       [](const std::string& d) {
         Corrupt(d, {"--truncate-at", "700", kSeg17 + ".log"});
       },
       "torn-tail", kSeg17 + ".log", 564},
      {"ZeroedBatchIsCorrupt",
       [](const std::string& d) {
         Corrupt(d, {"--zero", "206:358", kSeg0 + ".log"});
       },
       "batch", kSeg0 + ".log", 206},
      {"ZeroedTailIsZeroTail",
       [](const std::string& d) {
         Corrupt(d, {"--zero", "564:705", kSeg17 + ".log"});
       },
       "zero-tail", kSeg17 + ".log", 564},
      {"IndexEntryNotAtBatchStart",
       [](const std::string& d) {
         Corrupt(d, {"--flip-bit", "15:0", kSeg0 + ".index"});
       },
       "index-entry", kSeg0 + ".index", 8},
      {"IndexEntryWithWrongOffset",
       [](const std::string& d) {
         // Entry 2: offset 10 -> 8 at the batch of offset 10: a lookup of
         // offset 8 would start after it.
         Corrupt(d, {"--flip-bit", "19:1", kSeg0 + ".index"});
       },
       "index-entry", kSeg0 + ".index", 16},
      {"IndexLengthNotWholeEntries",
       [](const std::string& d) { Append(d + "/" + kSeg0 + ".index", "xyz"); },
       "index-size", kSeg0 + ".index", 32},
      {"UntrimmedIndexOfSealedSegment",
       [](const std::string& d) {
         Append(d + "/" + kSeg0 + ".index", std::string(16, '\0'));
       },
       "index-zero-tail", kSeg0 + ".index", 32},
      {"UntrimmedActiveIndexAfterUncleanShutdownIsANote",
       [](const std::string& d) {
         std::filesystem::remove(d + "/.kafka_cleanshutdown");
         Append(d + "/" + kSeg17 + ".index", std::string(80, '\0'));
       },
       "index-zero-tail", kSeg17 + ".index", 16, "note", 0},
      {"UnsortedTimeIndex",
       [](const std::string& d) {
         // Entry 2's timestamp ...040 -> ...000, below entry 1's.
         Corrupt(d, {"--zero", "31:32", kSeg0 + ".timeindex"});
       },
       "timeindex-order", kSeg0 + ".timeindex", 24},
      {"TimeIndexTimestampMismatch",
       [](const std::string& d) {
         Corrupt(d, {"--flip-bit", "31:0", kSeg0 + ".timeindex"});
       },
       "timeindex-entry", kSeg0 + ".timeindex", 24},
      {"MissingFinalTimeIndexEntry",
       [](const std::string& d) {
         Corrupt(d, {"--truncate-at", "48", kSeg0 + ".timeindex"});
       },
       "timeindex-final", kSeg0 + ".timeindex", 48},
      {"CheckpointCountMismatch",
       [](const std::string& d) {
         WriteFileOrDie(d + "/recovery-point-offset-checkpoint",
                        "0\n3\nevents 1 6\norders 0 22\n");
       },
       "checkpoint-format", "recovery-point-offset-checkpoint", 2},
      {"CheckpointBeyondLogEnd",
       [](const std::string& d) {
         WriteFileOrDie(d + "/recovery-point-offset-checkpoint",
                        "0\n2\nevents 1 6\norders 0 99\n");
       },
       "checkpoint-offset", "recovery-point-offset-checkpoint", 15},
      {"LogStartBeyondLogEnd",
       [](const std::string& d) {
         WriteFileOrDie(d + "/log-start-offset-checkpoint",
                        "0\n2\nevents 1 7\norders 0 0\n");
       },
       "checkpoint-offset", "log-start-offset-checkpoint", 4},
      {"LeftoverSwapFile",
       [](const std::string& d) {
         std::filesystem::copy(d + "/" + kSeg17 + ".log",
                               d + "/" + kSeg17 + ".log.swap");
       },
       "leftover", kSeg17 + ".log.swap", -1},
      {"OrphanIndex",
       [](const std::string& d) {
         std::filesystem::copy(d + "/" + kSeg17 + ".index",
                               d + "/orders-0/00000000000000000099.index");
       },
       "orphan-index", "orders-0/00000000000000000099.index", -1},
      {"BadSnapshotCrc",
       [](const std::string& d) {
         Corrupt(d, {"--flip-bit", "20:0",
                     "orders-0/00000000000000000022.snapshot"});
       },
       "snapshot", "orders-0/00000000000000000022.snapshot", 2},
  };
}

class VerifyCorruptionTest : public ::testing::TestWithParam<CorruptionCase> {};

TEST_P(VerifyCorruptionTest, ReportsTheFindingAndExitCode) {
  const CorruptionCase& c = GetParam();
  TempDir tmp;
  const std::string dir = tmp.path() + "/datadir";
  CopyTree(CliDataDir() + "/datadir", dir);
  c.damage(dir);
  RunResult r = RunSpool({"verify", "--json", dir});
  EXPECT_EQ(r.exit_code, c.exit_code) << r.out << r.err;
  bool found = false;
  for (const json& f : ParseJsonLines(r.out)) {
    if (f["type"] != "finding" || f["check"] != c.check) continue;
    if (f["file"] != dir + "/" + c.file) continue;
    if (c.position >= 0 && f["position"] != c.position) continue;
    EXPECT_EQ(f["severity"], c.severity) << f;
    found = true;
  }
  EXPECT_TRUE(found) << "no " << c.check << " finding for " << c.file << ":"
                     << c.position << " in\n"
                     << r.out;
  // The text form names the same file and position.
  RunResult text = RunSpool({"verify", dir});
  EXPECT_EQ(text.exit_code, c.exit_code);
  EXPECT_NE(text.out.find(absl::StrCat(
                dir, "/", c.file,
                c.position >= 0 ? absl::StrCat(":", c.position) : "")),
            std::string::npos)
      << text.out;
}

INSTANTIATE_TEST_SUITE_P(Kinds, VerifyCorruptionTest,
                         ::testing::ValuesIn(Cases()),
                         [](const auto& test_info) {
                           return test_info.param.name;
                         });

TEST(VerifyTest, FixtureIsClean) {
  RunResult r = RunSpool({"verify", "--deep", "datadir"}, CliDataDir());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(VerifyTest, GapIsAProblemOnlyWithStrict) {
  RunResult r =
      RunSpool({"verify", "--strict", "--json", "datadir"}, CliDataDir());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(R"("severity":"problem","file":"datadir/orders-0/)"
                       R"(00000000000000000000.log","position":695,)"
                       R"("check":"offset-gap")"),
            std::string::npos)
      << r.out;
}

// A batch whose CRC is right but whose records do not decode: only --deep
// looks inside.
TEST(VerifyTest, DeepDecodesRecords) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/t-0";
  std::filesystem::create_directories(dir);
  BatchHeader h;
  h.last_offset_delta = 1;
  h.records_count = 2;  // but only one record follows
  h.base_timestamp = h.max_timestamp = 1700000000000;
  RecordBatchBuilder one;
  one.Add(std::string_view("k"), std::string_view("v"));
  auto built = one.Build();
  ASSERT_TRUE(built.ok());
  std::string log;
  AppendRawBatch(h, std::string_view(*built).substr(kBatchHeaderSize), &log);
  WriteFileOrDie(dir + "/00000000000000000000.log", log);
  EXPECT_EQ(RunSpool({"verify", dir}).exit_code, 0);
  RunResult deep = RunSpool({"verify", "--deep", "--json", dir});
  EXPECT_EQ(deep.exit_code, 1);
  EXPECT_NE(deep.out.find(R"("position":0,"check":"records")"),
            std::string::npos)
      << deep.out;
}

}  // namespace
}  // namespace spool::cli_test

namespace spool::cli_test {
namespace {

// An offset-index entry naming a later offset than its batch's last one is
// harmless for lookups (Kafka followers write such entries): a note, or a
// problem with --strict.
TEST(VerifyTest, CoarseIndexEntryIsANoteUnlessStrict) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/datadir";
  CopyTree(CliDataDir() + "/datadir", dir);
  const std::string index = dir + "/" + kSeg0 + ".index";
  // Entry 2: offset 10 -> 11.
  ASSERT_EQ(RunSpool({"corrupt", "--in-place", "--flip-bit", "19:0", index})
                .exit_code,
            0);
  RunResult lenient = RunSpool({"verify", dir});
  EXPECT_EQ(lenient.exit_code, 0) << lenient.out;
  EXPECT_NE(lenient.out.find(index + ":16: note:"), std::string::npos)
      << lenient.out;
  RunResult strict = RunSpool({"verify", "--strict", dir});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.out.find(index + ":16: problem:"), std::string::npos)
      << strict.out;
}

}  // namespace
}  // namespace spool::cli_test
