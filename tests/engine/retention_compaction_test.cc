// Engine-level retention and compaction: ApplyRetention by time, size and
// consumption (the consumer groups' floor), the periodic pass, fetches
// below the log start, Compact() and its errors, keyless records on
// compacted topics, the background cleaner and the metrics.

#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "engine/consumer_group_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using ::testing::HasSubstr;

class RetentionCompactionTest : public testing_util::GroupTestBase {
 protected:
  TopicConfig Small(CleanupPolicy policy) {
    TopicConfig c = SmallTopic(1);
    c.cleanup_policy = policy;
    c.retention = absl::InfiniteDuration();
    return c;
  }

  // One record per call with the clock's time, clock +1 s.
  void ProduceKeyed(const std::string& topic, const std::string& key,
                    std::optional<std::string> value) {
    auto r = engine_->Produce(topic,
                              {.key = key,
                               .value = std::move(value),
                               .timestamp = clock_.NowMillis()},
                              {.partition = 0});
    ASSERT_TRUE(r.ok()) << r.status();
    clock_.Advance(absl::Seconds(1));
  }

  // key -> latest value, read back through Fetch from the log start.
  std::map<std::string, std::optional<std::string>> Latest(
      const TopicPartition& tp, int64_t* records = nullptr) {
    std::map<std::string, std::optional<std::string>> out;
    auto offsets = engine_->Offsets(tp);
    EXPECT_TRUE(offsets.ok());
    int64_t offset = offsets->log_start_offset, n = 0;
    while (offset < offsets->log_end_offset) {
      auto f = engine_->Fetch(tp, offset, {.max_bytes = 1 << 20});
      EXPECT_TRUE(f.ok()) << f.status();
      if (!f.ok()) break;
      EXPECT_TRUE(f->ForEachRecord([&](const RecordView& r) {
                     ++n;
                     out[std::string(*r.key)] =
                         r.value.has_value()
                             ? std::optional<std::string>(std::string(*r.value))
                             : std::nullopt;
                     return true;
                   }).ok());
      if (f->next_offset <= offset) break;
      offset = f->next_offset;
    }
    if (records != nullptr) *records = n;
    return out;
  }
};

TEST_F(RetentionCompactionTest, RetentionByTimeAndSizeThroughTheEngine) {
  TopicConfig c = Small(CleanupPolicy::kDelete);
  c.retention = absl::Minutes(10);
  ASSERT_TRUE(engine_->CreateTopic("t", c).ok());
  for (int i = 0; i < 120; ++i) {
    if (i == 60) clock_.Advance(absl::Minutes(20));
    ProduceKeyed("t", "k", std::string(200, 'v'));
  }
  auto r = engine_->ApplyRetention("t");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->partitions_checked, 1);
  EXPECT_GT(r->segments_deleted, 0);
  auto o = engine_->Offsets({"t", 0});
  ASSERT_TRUE(o.ok());
  EXPECT_GT(o->log_start_offset, 0);
  // Fetching below the start is a clear out-of-range error.
  auto below = engine_->Fetch({"t", 0}, o->log_start_offset - 1);
  EXPECT_EQ(below.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(below.status().message(),
              HasSubstr("below the log start offset"));
  // Size: at most ~2 segments remain.
  ASSERT_TRUE(engine_->DeleteTopic("t").ok());
  c.retention = absl::InfiniteDuration();
  c.retention_bytes = 8192;
  ASSERT_TRUE(engine_->CreateTopic("t", c).ok());
  for (int i = 0; i < 120; ++i) ProduceKeyed("t", "k", std::string(200, 'v'));
  r = engine_->ApplyRetention();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->bytes_deleted, 0);
  EXPECT_THAT(engine_->Metrics(),
              HasSubstr("spool_partition_deleted_segments_total{topic=\"t\""));
  EXPECT_EQ(engine_->ApplyRetention("nope").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RetentionCompactionTest, WorkQueueRetentionFollowsTheConsumedFloor) {
  TopicConfig c = Small(CleanupPolicy::kDelete);
  c.retain_until_consumed = true;
  ASSERT_TRUE(engine_->CreateTopic("q", c).ok());
  for (int i = 0; i < 120; ++i) ProduceKeyed("q", "k", std::string(200, 'v'));
  // Nobody registered: nothing goes.
  auto r = engine_->ApplyRetention("q");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->segments_deleted, 0);
  ASSERT_TRUE(groups().Commit("a", {{.tp = {"q", 0}, .offset = 60}}).ok());
  ASSERT_TRUE(groups().Commit("b", {{.tp = {"q", 0}, .offset = 30}}).ok());
  r = engine_->ApplyRetention("q");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->segments_deleted, 0);
  int64_t start = engine_->Offsets({"q", 0})->log_start_offset;
  EXPECT_GT(start, 0);
  EXPECT_LE(start, 30) << "deleted past the slowest group";
  ASSERT_TRUE(groups().Commit("b", {{.tp = {"q", 0}, .offset = 100}}).ok());
  ASSERT_TRUE(engine_->ApplyRetention("q").ok());
  start = engine_->Offsets({"q", 0})->log_start_offset;
  EXPECT_GT(start, 30);
  EXPECT_LE(start, 60);
}

TEST_F(RetentionCompactionTest, PeriodicRetentionRunsOnTheShards) {
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  EngineOptions o = Options();
  o.retention_check_interval = absl::Milliseconds(20);
  Open(o);
  TopicConfig c = Small(CleanupPolicy::kDelete);
  c.retention = absl::Minutes(1);
  ASSERT_TRUE(engine_->CreateTopic("t", c).ok());
  for (int i = 0; i < 80; ++i) ProduceKeyed("t", "k", std::string(200, 'v'));
  clock_.Advance(absl::Hours(1));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (engine_->Offsets({"t", 0})->log_start_offset == 0 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GT(engine_->Offsets({"t", 0})->log_start_offset, 0);
}

TEST_F(RetentionCompactionTest, CompactKeepsTheLatestValuePerKey) {
  // No background cleaning: the counts below are this test's.
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  EngineOptions o = Options();
  o.cleaner_threads = 0;
  Open(o);
  ASSERT_TRUE(engine_->CreateTopic("s", Small(CleanupPolicy::kCompact)).ok());
  std::map<std::string, std::optional<std::string>> model;
  for (int i = 0; i < 400; ++i) {
    std::string key = absl::StrFormat("conv-%d", i % 13);
    std::string value = absl::StrFormat("state %d %s", i, std::string(80, 's'));
    ProduceKeyed("s", key, value);
    model[key] = value;
  }
  int64_t before = 0, after = 0;
  EXPECT_EQ(Latest({"s", 0}, &before), model);
  auto dry = engine_->Compact({"s", 0}, {.dry_run = true});
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_TRUE(dry->dry_run);
  EXPECT_GT(dry->records_removed, 0);
  auto st = engine_->Compact({"s", 0});
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->cleaned);
  EXPECT_EQ(st->records_removed, dry->records_removed);
  EXPECT_EQ(Latest({"s", 0}, &after), model);
  EXPECT_EQ(before - after, st->records_removed);
  const std::string m = engine_->Metrics();
  EXPECT_THAT(m, HasSubstr("spool_partition_cleaner_runs_total{topic=\"s\""));
  EXPECT_THAT(m, HasSubstr("spool_cleaner_reclaimed_bytes_total"));
  // Survives a restart.
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  Open(o);
  EXPECT_EQ(Latest({"s", 0}), model);
}

TEST_F(RetentionCompactionTest, CompactErrorsAndKeylessRecords) {
  ASSERT_TRUE(engine_->CreateTopic("d", Small(CleanupPolicy::kDelete)).ok());
  ASSERT_TRUE(
      engine_->CreateTopic("s", Small(CleanupPolicy::kCompactAndDelete)).ok());
  auto st = engine_->Compact({"d", 0});
  EXPECT_EQ(st.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.status().message(), HasSubstr("cleanup.policy delete"));
  EXPECT_EQ(engine_->Compact({"s", 3}).status().code(),
            absl::StatusCode::kNotFound);
  auto keyless = engine_->Produce("s", {.value = "v"}, {.partition = 0});
  EXPECT_EQ(keyless.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(keyless.status().message(), HasSubstr("needs a key"));
  EXPECT_TRUE(engine_->Produce("d", {.value = "v"}, {.partition = 0}).ok());
}

TEST_F(RetentionCompactionTest, BackgroundCleanerCompactsByDirtyRatio) {
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  EngineOptions o = Options();
  o.cleaner_check_interval = absl::Milliseconds(20);
  o.cleaner_io_bytes_per_second = 50 << 20;
  Open(o);
  TopicConfig c = Small(CleanupPolicy::kCompact);
  c.min_cleanable_dirty_ratio = 0.3;
  ASSERT_TRUE(engine_->CreateTopic("s", c).ok());
  std::map<std::string, std::optional<std::string>> model;
  for (int i = 0; i < 300; ++i) {
    std::string key = absl::StrFormat("k%d", i % 7);
    ProduceKeyed("s", key, std::string(100, 'a' + i % 26));
    model[key] = std::string(100, 'a' + i % 26);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  auto runs = [&] {
    const std::string m = engine_->Metrics();
    return m.find("spool_cleaner_runs_total 0") == std::string::npos &&
           m.find("spool_cleaner_runs_total") != std::string::npos;
  };
  while (!runs() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(runs()) << engine_->Metrics();
  EXPECT_EQ(Latest({"s", 0}), model);
  // Close interrupts or waits for the cleaner safely.
  ASSERT_TRUE(engine_->Close().ok());
}

}  // namespace
}  // namespace spool
