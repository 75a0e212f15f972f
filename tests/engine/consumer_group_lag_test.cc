// Lag in records, bytes and seconds; PartitionLog::BytesFrom; the lag
// metrics.

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/consumer_group_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "log/log_test_util.h"
#include "log/partition_log.h"
#include "spool/consumer_groups.h"

namespace spool {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ConsumerGroupLagTest : public testing_util::GroupTestBase {
 protected:
  // Sizes of the partition's batches by base offset (one record each
  // here).
  std::map<int64_t, int64_t> BatchSizes(const TopicPartition& tp) {
    std::map<int64_t, int64_t> sizes;
    auto f = engine_->Fetch(tp, 0, {.max_bytes = 1 << 20});
    EXPECT_TRUE(f.ok()) << f.status();
    for (const RecordBatchView& b : f->batches) {
      sizes[b.header().base_offset] = b.size_bytes();
    }
    return sizes;
  }

  PartitionLag LagOn(const std::string& group, const TopicPartition& tp) {
    auto lag = groups().Lag(group);
    EXPECT_TRUE(lag.ok()) << lag.status();
    for (const PartitionLag& l : *lag) {
      if (l.tp == tp) return l;
    }
    ADD_FAILURE() << "no lag for " << tp.ToString();
    return {};
  }
};

TEST_F(ConsumerGroupLagTest, RecordsBytesAndSecondsBehind) {
  CreateTopic("t", 1);
  const TopicPartition tp{"t", 0};
  const absl::Time t0 = clock_.Now();
  for (int i = 0; i < 10; ++i) {
    Produce("t", 0, 1, 50);
    clock_.Advance(absl::Seconds(1));
  }
  const std::map<int64_t, int64_t> sizes = BatchSizes(tp);
  auto bytes_from = [&](int64_t offset) {
    int64_t n = 0;
    for (const auto& [base, size] : sizes) n += base >= offset ? size : 0;
    return n;
  };
  ASSERT_TRUE(groups().Commit("g", {{.tp = tp, .offset = 0}}).ok());
  PartitionLag lag = LagOn("g", tp);
  EXPECT_EQ(lag.committed, 0);
  EXPECT_EQ(lag.log_end_offset, 10);
  EXPECT_EQ(lag.lag_records, 10);
  EXPECT_EQ(lag.backlog_bytes, bytes_from(0));
  EXPECT_EQ(lag.backlog_bytes,
            engine_->DescribeTopic("t")->partitions[0].size_bytes);
  EXPECT_DOUBLE_EQ(lag.lag_seconds, absl::ToDoubleSeconds(clock_.Now() - t0));

  ASSERT_TRUE(groups().Commit("g", {{.tp = tp, .offset = 4}}).ok());
  lag = LagOn("g", tp);
  EXPECT_EQ(lag.lag_records, 6);
  EXPECT_EQ(lag.backlog_bytes, bytes_from(4));
  EXPECT_DOUBLE_EQ(lag.lag_seconds, 6.0);  // record 4 is 6 s old
  // The group stops: its lag in seconds keeps growing.
  clock_.Advance(absl::Minutes(1));
  EXPECT_DOUBLE_EQ(LagOn("g", tp).lag_seconds, 66.0);
  Produce("t", 0, 5);
  lag = LagOn("g", tp);
  EXPECT_EQ(lag.lag_records, 11);
  EXPECT_DOUBLE_EQ(lag.lag_seconds, 66.0);
  clock_.Advance(absl::Minutes(1));
  EXPECT_DOUBLE_EQ(LagOn("g", tp).lag_seconds, 126.0);

  ASSERT_TRUE(groups().Commit("g", {{.tp = tp, .offset = 15}}).ok());
  lag = LagOn("g", tp);
  EXPECT_EQ(lag.lag_records, 0);
  EXPECT_EQ(lag.backlog_bytes, 0);
  EXPECT_EQ(lag.lag_seconds, 0.0);
}

TEST_F(ConsumerGroupLagTest,
       AssignedPartitionsWithoutCommitsCountFromTheStart) {
  CreateTopic("t", 2);
  Produce("t", 0, 6);
  Produce("t", 1, 3);
  ASSERT_TRUE(engine_->DeleteRecordsBefore({"t", 0}, 2).ok());
  auto member = groups().JoinGroup("g", {.topics = {"t"}});
  ASSERT_TRUE(member.ok());
  clock_.Advance(absl::Seconds(5));
  PartitionLag lag = LagOn("g", {"t", 0});
  EXPECT_EQ(lag.committed, kNoCommittedOffset);
  EXPECT_EQ(lag.log_start_offset, 2);
  EXPECT_EQ(lag.lag_records, 4);
  EXPECT_DOUBLE_EQ(lag.lag_seconds, 5.0);
  EXPECT_EQ(LagOn("g", {"t", 1}).lag_records, 3);
  // A commit below the log start counts from the start as well.
  ASSERT_TRUE(groups().LeaveGroup("g", member->member_id).ok());
  ASSERT_TRUE(groups().Commit("g", {{.tp = {"t", 0}, .offset = 1}}).ok());
  EXPECT_EQ(LagOn("g", {"t", 0}).lag_records, 4);
  // A commit beyond the log end (the log was truncated) is no lag.
  ASSERT_TRUE(groups().Commit("g", {{.tp = {"t", 0}, .offset = 6}}).ok());
  ASSERT_TRUE(engine_->TruncateTo({"t", 0}, 4).ok());
  lag = LagOn("g", {"t", 0});
  EXPECT_EQ(lag.lag_records, 0);
  EXPECT_EQ(lag.backlog_bytes, 0);
  // Deleting the topic drops the group's offsets there, and their lag.
  ASSERT_TRUE(groups().Commit("g", {{.tp = {"t", 1}, .offset = 1}}).ok());
  ASSERT_TRUE(engine_->DeleteTopic("t").ok());
  EXPECT_TRUE(groups().Lag("g")->empty());
}

TEST_F(ConsumerGroupLagTest, LagIsExportedAsPrometheusMetrics) {
  CreateTopic("chat", 2);
  Produce("chat", 1, 7);
  clock_.Advance(absl::Seconds(3));
  auto joined = groups().JoinGroup("bots", {.topics = {"chat"}});
  ASSERT_TRUE(joined.ok());
  ASSERT_TRUE(groups()
                  .Commit("bots", {{.tp = {"chat", 1}, .offset = 5}},
                          {.member_id = joined->member_id,
                           .generation = joined->generation})
                  .ok());
  const std::string m = engine_->Metrics();
  const std::string l = "{group=\"bots\",topic=\"chat\",partition=\"1\"}";
  EXPECT_THAT(m, HasSubstr("# TYPE spool_consumer_lag_records gauge\n"));
  EXPECT_THAT(m, HasSubstr("spool_consumer_committed_offset" + l + " 5\n"));
  EXPECT_THAT(m, HasSubstr("spool_consumer_lag_records" + l + " 2\n"));
  EXPECT_THAT(m, HasSubstr("spool_consumer_lag_seconds" + l + " 3\n"));
  EXPECT_THAT(m, HasSubstr("spool_consumer_backlog_bytes" + l + " "));
  const std::string l0 = "{group=\"bots\",topic=\"chat\",partition=\"0\"}";
  EXPECT_THAT(m, HasSubstr("spool_consumer_lag_records" + l0 + " 0\n"));
  EXPECT_THAT(m, Not(HasSubstr("spool_consumer_committed_offset" + l0)));
  EXPECT_THAT(m, HasSubstr("spool_consumer_group_members{group=\"bots\"} 1\n"));
  EXPECT_THAT(m,
              HasSubstr("spool_consumer_group_generation{group=\"bots\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("spool_consumer_group_rebalances_total{group="
                           "\"bots\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("spool_consumer_groups 1\n"));
}

// PartitionLog::BytesFrom against the batch sizes, across segments and
// from the middle of batches.
TEST(ConsumerGroupBacklogTest, BytesFromCountsWholeBatchesToTheEnd) {
  FaultInjectionFileSystem fs(3);
  PartitionLogOptions o;
  o.fs = &fs;
  o.dir = "/data/t-0";
  o.config = testing_util::SmallConfig();
  auto log = PartitionLog::Open(o, nullptr);
  ASSERT_TRUE(log.ok()) << log.status();
  std::map<int64_t, std::pair<int64_t, int64_t>> batches;  // base -> last, size
  for (int i = 0; i < 60; ++i) {
    std::string b = testing_util::MakeBatch(1 + i % 4, 100 + 10 * (i % 7), 1000,
                                            static_cast<uint64_t>(i));
    const int64_t size = static_cast<int64_t>(b.size());
    auto r = (*log)->Append(std::move(b));
    ASSERT_TRUE(r.ok()) << r.status();
    batches[r->base_offset] = {r->last_offset, size};
  }
  ASSERT_GT((*log)->Segments().size(), 3u);
  const int64_t end = (*log)->log_end_offset();
  auto expected = [&](int64_t offset) {
    int64_t n = 0;
    for (const auto& [base, last_size] : batches) {
      if (last_size.first >= offset) n += last_size.second;
    }
    return n;
  };
  for (int64_t offset = 0; offset <= end; ++offset) {
    auto got = (*log)->BytesFrom(offset);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(*got, expected(offset)) << "offset " << offset;
  }
  EXPECT_EQ(*(*log)->BytesFrom(end), 0);
  EXPECT_EQ((*log)->BytesFrom(end + 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*log)->BytesFrom(-1).status().code(),
            absl::StatusCode::kOutOfRange);
  ASSERT_TRUE((*log)->AdvanceLogStart(end / 2).ok());
  EXPECT_EQ((*log)->BytesFrom(end / 2 - 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*(*log)->BytesFrom(end / 2), expected(end / 2));
}

}  // namespace
}  // namespace spool
