// Acks by range (AckRanges, ReceiveOptions::ack_ranges) and the ranges a
// batch describes (ReceivedBatch::Ranges): a range acks each of its
// offsets exactly as the matching Delivery would (docs/queues.md).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/subscription_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using ::testing::HasSubstr;

// The delivery range [first, end) of `partition` at `attempt`.
DeliveryRange Range(int32_t partition, int64_t first, int64_t end,
                    int32_t attempt) {
  return {.partition = partition,
          .first_offset = first,
          .end_offset = end,
          .attempt = attempt};
}

class AckRangesTest : public testing_util::SubscriptionTestBase {
 protected:
  void SetUp() override {
    SubscriptionTestBase::SetUp();
    CreateTopicWith("jobs", 2);
    SubscriptionConfig c = NoBackoffConfig();
    c.max_deliveries = 0;
    ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  }

  void Fill(int32_t p, int n) { FillPartition("jobs", p, n); }

  ReceivedBatch Batch(int n) {
    auto got = subs().ReceiveBatch("jobs", "w", {.max_records = n});
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? std::move(*got) : ReceivedBatch{};
  }

  SubscriptionPartitionState State(int32_t p) {
    auto d = subs().DescribeSubscription("jobs", "w");
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? d->partitions[static_cast<size_t>(p)]
                  : SubscriptionPartitionState{};
  }

  // Every delivery the ranges stand for, in order.
  static std::vector<Delivery> Expand(const std::vector<DeliveryRange>& rs) {
    std::vector<Delivery> out;
    for (const DeliveryRange& r : rs) {
      for (int64_t o = r.first_offset; o < r.end_offset; ++o) {
        out.push_back(
            {.partition = r.partition, .offset = o, .attempt = r.attempt});
      }
    }
    return out;
  }

  static std::vector<Delivery> Deliveries(const ReceivedBatch& b) {
    std::vector<Delivery> out;
    for (const ReceivedRecordView& r : b) out.push_back(r.delivery);
    return out;
  }

  static bool Same(const std::vector<Delivery>& a,
                   const std::vector<Delivery>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].partition != b[i].partition || a[i].offset != b[i].offset ||
          a[i].attempt != b[i].attempt) {
        return false;
      }
    }
    return true;
  }

  std::string Metrics() { return engine_->Metrics(); }
};

TEST_F(AckRangesTest, RangesDescribeTheBatchExactly) {
  Fill(0, 30);
  Fill(1, 30);
  ReceivedBatch first = Batch(50);
  ASSERT_EQ(first.size(), 50u);
  // First deliveries: one range per partition visited.
  std::vector<DeliveryRange> ranges = first.Ranges();
  EXPECT_EQ(ranges.size(), 2u);
  EXPECT_TRUE(Same(Expand(ranges), Deliveries(first)));
  EXPECT_TRUE(Same(Expand(RangesOf(Deliveries(first))), Deliveries(first)));
  EXPECT_EQ(RangesOf(Deliveries(first)).size(), 2u);
  // Nack three records of the first range (not adjacent): their
  // redeliveries (attempt 2) split the next batch's ranges.
  const int32_t p = ranges[0].partition;
  for (int64_t o : {3, 4, 9}) {
    ASSERT_TRUE(subs()
                    .Nack("jobs", "w",
                          {.partition = p, .offset = o, .attempt = 1},
                          absl::ZeroDuration())
                    .ok());
  }
  ReceivedBatch second = Batch(100);
  ASSERT_EQ(second.size(), 13u);  // 3 redeliveries and the 10 left
  std::vector<DeliveryRange> split = second.Ranges();
  EXPECT_TRUE(Same(Expand(split), Deliveries(second)));
  // [3, 5) and [9, 10) at attempt 2, and the rest of the other partition.
  EXPECT_EQ(split.size(), 3u);
  EXPECT_TRUE(ReceivedBatch{}.Ranges().empty());
}

TEST_F(AckRangesTest, AckRangesAcksEveryOffsetOfARunAndItsEntries) {
  // A lease run of 200 records (bits over four words), some of which left
  // the run as entries of their own (extended, nacked and redelivered),
  // at and around word boundaries.
  Fill(0, 200);
  ReceivedBatch got = Batch(200);
  ASSERT_EQ(got.size(), 200u);
  for (int64_t o : {0, 63, 64, 127, 128, 199}) {
    ASSERT_TRUE(subs()
                    .ExtendLease("jobs", "w",
                                 {.partition = 0, .offset = o, .attempt = 1},
                                 absl::Seconds(30))
                    .ok());
  }
  ASSERT_TRUE(subs()
                  .Nack("jobs", "w",
                        {.partition = 0, .offset = 65, .attempt = 1},
                        absl::ZeroDuration())
                  .ok());
  ReceivedBatch again = Batch(10);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(again.records[0].delivery.attempt, 2);
  // Ranges that start and end inside words, skipping offset 65 (now at
  // attempt 2) and leaving [150, 160) leased.
  ASSERT_TRUE(subs()
                  .AckRanges("jobs", "w",
                             {Range(0, 0, 65, 1), Range(0, 66, 150, 1),
                              Range(0, 160, 200, 1)})
                  .ok());
  SubscriptionPartitionState s = State(0);
  EXPECT_EQ(s.ack_floor, 65);
  EXPECT_EQ(s.in_flight, 11);  // 65 and [150, 160)
  EXPECT_EQ(s.acked_above_floor, 200 - 66 - 10);
  const std::string l = "{topic=\"jobs\",subscription=\"w\"}";
  EXPECT_THAT(Metrics(),
              HasSubstr("spool_subscription_acked_total" + l + " 189\n"));
  // The rest, as ranges riding on a Receive; again acked offsets are fine.
  const std::vector<DeliveryRange> rest = {Range(0, 65, 66, 2),
                                           Range(0, 100, 200, 1)};
  auto last =
      subs().ReceiveBatch("jobs", "w", {.max_records = 10, .ack_ranges = rest});
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_TRUE(last->empty());
  EXPECT_EQ(State(0).ack_floor, 200);
  EXPECT_EQ(State(0).in_flight, 0);
  EXPECT_THAT(Metrics(),
              HasSubstr("spool_subscription_acked_total" + l + " 200\n"));
  // Nothing comes back after the leases would have run out, nor after a
  // restart.
  clock_.Advance(absl::Seconds(60));
  EXPECT_TRUE(Batch(300).empty());
  Reopen();
  EXPECT_EQ(State(0).ack_floor, 200);
  clock_.Advance(absl::Seconds(60));
  EXPECT_TRUE(Batch(300).empty());
}

TEST_F(AckRangesTest, ARangeAcksExactlyWhatItsDeliveriesWould) {
  // Offsets [0, 40) of partition 1, half delivered as a run, half as
  // entries (small receives), acked by ranges in pieces out of order.
  Fill(1, 40);
  ReceivedBatch run = Batch(20);
  ASSERT_EQ(run.size(), 20u);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Batch(1).size(), 1u);
  ASSERT_TRUE(
      subs()
          .AckRanges("jobs", "w", {Range(1, 30, 40, 1), Range(1, 5, 25, 1)})
          .ok());
  EXPECT_EQ(State(1).ack_floor, 0);
  EXPECT_EQ(State(1).in_flight, 10);  // [0, 5) and [25, 30)
  // Overlapping ranges and single deliveries together, on a Receive.
  const std::vector<DeliveryRange> overlapping = {Range(1, 0, 6, 1),
                                                  Range(1, 2, 4, 1)};
  const std::vector<Delivery> singles = {
      {.partition = 1, .offset = 26, .attempt = 1},
      {.partition = 1, .offset = 25, .attempt = 1}};
  auto got = subs().ReceiveBatch(
      "jobs", "w",
      {.max_records = 5, .ack = singles, .ack_ranges = overlapping});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(State(1).ack_floor, 27);
  EXPECT_EQ(State(1).in_flight, 3);  // [27, 30)
}

TEST_F(AckRangesTest, ARefusedRangeChangesNothing) {
  Fill(0, 30);
  Fill(1, 30);
  ReceivedBatch got = Batch(40);  // 30 of one partition, 10 of the other
  ASSERT_EQ(got.size(), 40u);
  const std::vector<DeliveryRange> ranges = got.Ranges();
  ASSERT_EQ(ranges.size(), 2u);
  const DeliveryRange& whole =
      ranges[0].end_offset == 30 ? ranges[0] : ranges[1];
  const DeliveryRange& part =
      ranges[0].end_offset == 30 ? ranges[1] : ranges[0];
  ASSERT_EQ(part.end_offset, 10);
  // One offset too many (never delivered): refused, naming it, and the
  // good range given with it is not acked either.
  DeliveryRange too_long = part;
  too_long.end_offset = 11;
  absl::Status s = subs().AckRanges("jobs", "w", {whole, too_long});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(absl::StrFormat(
                               "ack on 'jobs' subscription \"w\": partition "
                               "%d offset 10 is not delivered",
                               part.partition)));
  // A stale attempt.
  DeliveryRange stale = whole;
  stale.attempt = 2;
  s = subs().AckRanges("jobs", "w", {stale});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("lease lost"));
  // Riding on a Receive: the call fails and receives nothing.
  auto refused = subs().ReceiveBatch(
      "jobs", "w", {.max_records = 10, .ack_ranges = {&too_long, 1}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  // An empty range, an unknown partition.
  DeliveryRange empty = whole;
  empty.end_offset = empty.first_offset;
  s = subs().AckRanges("jobs", "w", {empty});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("is empty"));
  s = subs().AckRanges("jobs", "w", {Range(5, 0, 1, 1)});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  // Nothing was acked: every record is still leased, and the other 20
  // records of the second partition are still there to receive.
  EXPECT_EQ(State(0).ack_floor + State(1).ack_floor, 0);
  EXPECT_EQ(State(0).in_flight + State(1).in_flight, 40);
  EXPECT_EQ(Batch(100).size(), 20u);
  ASSERT_TRUE(subs().AckRanges("jobs", "w", ranges).ok());
  EXPECT_EQ(State(whole.partition).ack_floor, 30);
  EXPECT_EQ(State(part.partition).ack_floor, 10);
}

}  // namespace
}  // namespace spool
