// Consumer groups under concurrency: lag read while producers append and a
// consumer commits, and members committing while the group rebalances.
// Run under TSan too (scripts/tsan.sh picks up "Concurren").

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/consumer_group_test_util.h"
#include "gtest/gtest.h"
#include "spool/consumer_groups.h"

namespace spool {
namespace {

class ConsumerGroupConcurrencyTest : public testing_util::GroupTestBase {};

TEST_F(ConsumerGroupConcurrencyTest, LagUnderConcurrentAppendsStaysConsistent) {
  constexpr int kPartitions = 2, kRecords = 600;
  CreateTopic("t", kPartitions);
  ASSERT_TRUE(groups().Commit("g", {{.tp = {"t", 0}, .offset = 0}}).ok());
  std::atomic<bool> produced{false}, consumed{false};
  std::thread producer([&] {
    for (int i = 0; i < kRecords; ++i) {
      auto r = engine_->Produce("t", {.value = absl::StrFormat("%d", i)},
                                {.partition = i % kPartitions});
      ASSERT_TRUE(r.ok()) << r.status();
    }
    produced.store(true);
  });
  // Reads and commits whatever is there, until the producer is done and
  // everything is read.
  std::thread consumer([&] {
    std::vector<int64_t> next(kPartitions, 0);
    while (true) {
      const bool done = produced.load();
      int64_t behind = 0;
      for (int p = 0; p < kPartitions; ++p) {
        auto f = engine_->Fetch({"t", p}, next[p], {.max_bytes = 512});
        ASSERT_TRUE(f.ok()) << f.status();
        next[p] = f->next_offset;
        behind += f->log_end_offset - next[p];
        ASSERT_TRUE(groups()
                        .Commit("g", {{.tp = {"t", p}, .offset = next[p]}},
                                {.sync = p == 0})
                        .ok());
      }
      if (done && behind == 0) break;
    }
    consumed.store(true);
  });
  // Lag readers: never negative, never more than the log end allows, the
  // committed offset never goes back.
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      std::map<TopicPartition, int64_t> last_committed;
      while (!consumed.load()) {
        auto lag = groups().Lag("g");
        ASSERT_TRUE(lag.ok()) << lag.status();
        for (const PartitionLag& l : *lag) {
          ASSERT_GE(l.lag_records, 0);
          ASSERT_GE(l.backlog_bytes, 0);
          ASSERT_GE(l.lag_seconds, 0);
          ASSERT_LE(l.lag_records,
                    l.log_end_offset - std::max<int64_t>(l.committed, 0));
          ASSERT_EQ(l.lag_records == 0, l.backlog_bytes == 0);
          ASSERT_GE(l.committed, last_committed[l.tp]);
          last_committed[l.tp] = l.committed;
        }
        engine_->Metrics();
      }
    });
  }
  producer.join();
  consumer.join();
  for (auto& t : readers) t.join();

  // Quiescent: caught up everywhere.
  auto lag = groups().Lag("g");
  ASSERT_TRUE(lag.ok());
  ASSERT_EQ(lag->size(), static_cast<size_t>(kPartitions));
  for (const PartitionLag& l : *lag) {
    EXPECT_EQ(l.committed, l.log_end_offset);
    EXPECT_EQ(l.lag_records, 0);
    EXPECT_EQ(l.lag_seconds, 0);
  }
  // Quiescent after a step back: lag is log end - committed exactly, and
  // its age grows with the clock while nothing is committed.
  ASSERT_TRUE(groups().Commit("g", {{.tp = {"t", 1}, .offset = 100}}).ok());
  clock_.Advance(absl::Seconds(30));
  lag = groups().Lag("g");
  ASSERT_TRUE(lag.ok());
  const PartitionLag& l1 = (*lag)[1];
  EXPECT_EQ(l1.lag_records, kRecords / kPartitions - 100);
  EXPECT_DOUBLE_EQ(l1.lag_seconds, 30.0);
  clock_.Advance(absl::Seconds(30));
  EXPECT_DOUBLE_EQ((*groups().Lag("g"))[1].lag_seconds, 60.0);
}

TEST_F(ConsumerGroupConcurrencyTest, ParallelCommitsWhileMembersComeAndGo) {
  constexpr int kMembers = 4, kRounds = 40;
  CreateTopic("t", 8);
  for (int p = 0; p < 8; ++p) Produce("t", p, 1);
  std::mutex mu;
  std::map<TopicPartition, std::set<int64_t>> accepted;
  std::atomic<int> fenced{0};
  std::vector<std::thread> threads;
  for (int m = 0; m < kMembers; ++m) {
    threads.emplace_back([&, m] {
      const std::string id = absl::StrFormat("m%d", m);
      for (int round = 0; round < kRounds; ++round) {
        auto joined =
            groups().JoinGroup("g", {.member_id = id,
                                     .topics = {"t"},
                                     .strategy = AssignmentStrategy::kSticky});
        ASSERT_TRUE(joined.ok()) << joined.status();
        for (const TopicPartition& tp : joined->assignment) {
          const int64_t offset = round % 2;  // any offset <= the log end
          absl::Status s = groups().Commit(
              "g", {{.tp = tp, .offset = offset, .metadata = id}},
              {.sync = false,
               .member_id = joined->member_id,
               .generation = joined->generation});
          if (s.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            accepted[tp].insert(offset);
          } else {
            ASSERT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
            fenced.fetch_add(1);
          }
        }
        absl::Status hb = groups().Heartbeat("g", id, joined->generation);
        ASSERT_TRUE(hb.ok() || absl::IsFailedPrecondition(hb)) << hb;
        if (round % 10 == 4) {  // leave now and then, not at the end
          absl::Status left = groups().LeaveGroup("g", id);
          ASSERT_TRUE(left.ok() || absl::IsFailedPrecondition(left)) << left;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  auto d = groups().DescribeGroup("g");
  ASSERT_TRUE(d.ok());
  std::map<TopicPartition, int> owners;
  for (const MemberDescription& m : d->members) {
    for (const TopicPartition& tp : m.assignment) ++owners[tp];
  }
  EXPECT_EQ(owners.size(), 8u);
  for (const auto& [tp, n] : owners) EXPECT_EQ(n, 1) << tp.ToString();
  for (const auto& [tp, c] : d->offsets) {
    EXPECT_TRUE(accepted[tp].count(c.offset)) << tp.ToString();
  }
  SUCCEED() << fenced.load() << " commits fenced";
}

}  // namespace
}  // namespace spool
