// `spool compact`: a compacted topic written through the engine's API,
// compacted offline by the built binary (dry run first), then read back
// through the API.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/cli_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/engine.h"

namespace spool::cli_test {
namespace {

using ::testing::HasSubstr;

// Every record of state-0: offset -> (key, value).
using Records =
    std::map<int64_t, std::pair<std::string, std::optional<std::string>>>;
Records ReadAll(Engine& engine) {
  Records out;
  const TopicPartition tp{"state", 0};
  absl::StatusOr<PartitionOffsets> o = engine.Offsets(tp);
  EXPECT_TRUE(o.ok()) << o.status();
  for (int64_t pos = o->log_start_offset; pos < o->log_end_offset;) {
    absl::StatusOr<FetchResult> f = engine.Fetch(tp, pos);
    EXPECT_TRUE(f.ok()) << f.status();
    if (!f.ok() || f->batches.empty()) break;
    EXPECT_TRUE(f->ForEachRecord([&](const RecordView& r) {
                   out[r.offset] = {
                       std::string(r.key.value_or("")),
                       r.value.has_value()
                           ? std::optional<std::string>(std::string(*r.value))
                           : std::nullopt};
                   return true;
                 }).ok());
    pos = f->next_offset;
  }
  return out;
}

class CompactCommandTest : public ::testing::Test {
 protected:
  // 4 keys, 10 rounds of updates in small segments, then a record of each
  // key again so that the active segment holds the latest values.
  void SetUp() override {
    std::unique_ptr<Engine> engine = OpenEngine(dir_.path());
    ASSERT_NE(engine, nullptr);
    TopicConfig c;
    c.partitions = 1;
    c.cleanup_policy = CleanupPolicy::kCompact;
    c.segment_bytes = 1024;
    c.max_batch_bytes = 1024;
    ASSERT_TRUE(engine->CreateTopic("state", c).ok());
    for (int round = 0; round < 10; ++round) {
      for (int k = 0; k < 4; ++k) {
        Record r;
        r.key = absl::StrCat("k", k);
        r.value = absl::StrCat("round-", round, "-", std::string(40, 'x'));
        ASSERT_TRUE(engine->Produce("state", std::move(r)).ok());
      }
    }
    before_ = ReadAll(*engine);
    ASSERT_EQ(before_.size(), 40u);
    ASSERT_TRUE(engine->Close().ok());
  }

  TempDir dir_;
  Records before_;
};

TEST_F(CompactCommandTest, DryRunChangesNothingThenCompactKeepsTheLatest) {
  RunResult dry = RunSpool({"compact", "--dry-run", dir_.path(), "state"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("state-0: would clean offsets [0, "));
  {
    std::unique_ptr<Engine> engine = OpenEngine(dir_.path());
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(ReadAll(*engine), before_) << "a dry run changed the log";
    ASSERT_TRUE(engine->Close().ok());
  }
  RunResult run = RunSpool({"compact", dir_.path(), "state", "0"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("state-0: cleaned offsets [0, "));
  std::unique_ptr<Engine> engine = OpenEngine(dir_.path());
  ASSERT_NE(engine, nullptr);
  const Records after = ReadAll(*engine);
  EXPECT_LT(after.size(), before_.size());
  // Every record left is one that was written, at its offset; every
  // key's latest record is still there.
  std::map<std::string, int64_t> latest;
  for (const auto& [offset, kv] : before_) latest[kv.first] = offset;
  for (const auto& [offset, kv] : after) {
    ASSERT_TRUE(before_.contains(offset));
    EXPECT_EQ(before_.at(offset), kv);
  }
  for (const auto& [key, offset] : latest) {
    EXPECT_TRUE(after.contains(offset)) << key << "'s latest record is gone";
  }
  // Offsets do not change: the log end stays.
  absl::StatusOr<PartitionOffsets> o = engine->Offsets({"state", 0});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->log_end_offset, 40);
  ASSERT_TRUE(engine->Close().ok());
}

TEST_F(CompactCommandTest, ErrorsNameWhatIsWrong) {
  RunResult no_topic = RunSpool({"compact", dir_.path(), "nope"});
  EXPECT_EQ(no_topic.exit_code, 1);
  EXPECT_THAT(no_topic.err, HasSubstr("nope"));
  RunResult no_partition = RunSpool({"compact", dir_.path(), "state", "3"});
  EXPECT_EQ(no_partition.exit_code, 1);
  EXPECT_THAT(no_partition.err, HasSubstr("has no partition 3 (it has 1)"));
  RunResult bad = RunSpool({"compact", dir_.path(), "state", "-1"});
  EXPECT_EQ(bad.exit_code, 2);
  RunResult usage = RunSpool({"compact", dir_.path()});
  EXPECT_EQ(usage.exit_code, 2);
  // A path that is no engine's data directory: exit 2, nothing created.
  const std::string missing = dir_.path() + "/nowhere";
  RunResult no_dir = RunSpool({"compact", missing, "state"});
  EXPECT_EQ(no_dir.exit_code, 2);
  EXPECT_THAT(no_dir.err, HasSubstr(missing));
  EXPECT_FALSE(std::filesystem::exists(missing));
  // While an engine holds the directory the command refuses.
  std::unique_ptr<Engine> engine = OpenEngine(dir_.path());
  ASSERT_NE(engine, nullptr);
  RunResult busy = RunSpool({"compact", dir_.path(), "state"});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_THAT(busy.err, HasSubstr("refusing to compact"));
  EXPECT_THAT(busy.err, HasSubstr(dir_.path()));
  ASSERT_TRUE(engine->Close().ok());
}

}  // namespace
}  // namespace spool::cli_test
