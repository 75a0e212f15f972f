// Acks carried by the next Receive (ReceiveOptions::ack): applied exactly
// as Ack with sync = false would, all checked before anything changes, and
// written with the rows of the records received (docs/queues.md).

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "engine/subscription_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class AckInReceiveTest : public testing_util::SubscriptionTestBase {
 protected:
  void SetUp() override {
    SubscriptionTestBase::SetUp();
    CreateTopicWith("jobs", 2);
    SubscriptionConfig c = NoBackoffConfig();
    ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  }

  void Fill(int32_t p, int n) { FillPartition("jobs", p, n); }

  absl::StatusOr<std::vector<ReceivedRecord>> ReceiveAcking(
      int n, const std::vector<Delivery>& acks) {
    return subs().Receive("jobs", "w", {.max_records = n, .ack = acks});
  }

  static std::vector<Delivery> Deliveries(
      const std::vector<ReceivedRecord>& rs) {
    std::vector<Delivery> out;
    for (const auto& r : rs) out.push_back(r.delivery);
    return out;
  }

  int64_t AckFloor(int32_t p) {
    auto d = subs().DescribeSubscription("jobs", "w");
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? d->partitions[static_cast<size_t>(p)].ack_floor : -1;
  }
};

TEST_F(AckInReceiveTest, AcksRideOnTheNextReceive) {
  Fill(0, 40);
  Fill(1, 40);
  // Lease runs (20 and more records per call) and single entries alike.
  std::vector<Delivery> pending;
  std::vector<std::string> seen;
  for (int want : {20, 3, 30, 1, 26}) {
    auto got = ReceiveAcking(want, pending);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_FALSE(got->empty());
    for (const auto& r : *got) seen.push_back(*r.value);
    pending = Deliveries(*got);
  }
  // The last ones are not acked yet: they come back after their lease,
  // and nothing acked does.
  const std::vector<Delivery> last = pending;
  clock_.Advance(absl::Seconds(11));
  auto again = subs().Receive("jobs", "w", {.max_records = 100});
  ASSERT_TRUE(again.ok()) << again.status();
  std::vector<Delivery> expected = last;
  for (Delivery& d : expected) d.attempt = 2;
  std::vector<Delivery> redelivered;
  for (const auto& r : *again) {
    if (r.delivery.attempt == 2) redelivered.push_back(r.delivery);
  }
  ASSERT_EQ(redelivered.size(), expected.size());
  // Partitions come in the order the call visits them; within each, in
  // offset order.
  auto by_partition = [](const Delivery& a, const Delivery& b) {
    return a.partition < b.partition;
  };
  std::stable_sort(expected.begin(), expected.end(), by_partition);
  std::stable_sort(redelivered.begin(), redelivered.end(), by_partition);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(redelivered[i].partition, expected[i].partition);
    EXPECT_EQ(redelivered[i].offset, expected[i].offset);
  }
  // Everything received after the clock moved (the rest of the records
  // and the redeliveries) acked by an empty receive: all done, also after
  // a restart.
  auto last_call = ReceiveAcking(100, Deliveries(*again));
  ASSERT_TRUE(last_call.ok()) << last_call.status();
  EXPECT_THAT(*last_call, IsEmpty());
  EXPECT_EQ(AckFloor(0), 40);
  EXPECT_EQ(AckFloor(1), 40);
  Reopen();
  EXPECT_EQ(AckFloor(0), 40);
  EXPECT_EQ(AckFloor(1), 40);
  clock_.Advance(absl::Seconds(60));
  EXPECT_THAT(Get("jobs", "w", 100), IsEmpty());
}

// A consumer whose acks ride on its Receive goes on with the partition it
// acks (the lock is taken once, one row is written), but every 16th such
// call starts at the next partition in turn: a lone consumer comes back to
// each partition with records within 16 calls per other partition, instead
// of draining one partition before the others.
TEST_F(AckInReceiveTest, AConsumerStaysWithItsPartitionForABoundedStretch) {
  constexpr int kParts = 4, kPerPart = 800, kPerCall = 20;
  constexpr int kStretch = 16;  // kStickyCalls
  CreateTopicWith("wide", kParts);
  for (int32_t p = 0; p < kParts; ++p) FillPartition("wide", p, kPerPart);
  ASSERT_TRUE(subs().CreateSubscription("wide", "w", NoBackoffConfig()).ok());
  std::vector<int32_t> served;  // the partition of each call's records
  std::set<std::pair<int32_t, int64_t>> seen;
  std::vector<DeliveryRange> acks;
  while (seen.size() < size_t{kParts} * kPerPart) {
    auto got = subs().ReceiveBatch(
        "wide", "w", {.max_records = kPerCall, .ack_ranges = acks});
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), size_t{kPerCall}) << "call " << served.size();
    const int32_t p = got->records.front().delivery.partition;
    for (const ReceivedRecordView& r : *got) {
      ASSERT_EQ(r.delivery.partition, p);  // (800 is a multiple of 20)
      ASSERT_TRUE(seen.insert({p, r.delivery.offset}).second);
    }
    served.push_back(p);
    acks = got->Ranges();
  }
  ASSERT_TRUE(subs().AckRanges("wide", "w", acks).ok());
  // Stays: about one switch per 16 calls (round robin would switch at
  // every call).
  int switches = 0;
  for (size_t i = 1; i < served.size(); ++i) {
    switches += served[i] != served[i - 1] ? 1 : 0;
  }
  EXPECT_LE(switches, static_cast<int>(served.size()) / kStretch + kParts)
      << absl::StrJoin(served, ",");
  // Bounded: until a partition's last call, no more than 16 calls per
  // other partition go by without it.
  for (int32_t p = 0; p < kParts; ++p) {
    int last = -1;
    for (int i = 0; i < static_cast<int>(served.size()); ++i) {
      if (served[i] != p) continue;
      EXPECT_LE(i - last - 1, kStretch * (kParts - 1))
          << "partition " << p << " waited before call " << i << ": "
          << absl::StrJoin(served, ",");
      last = i;
    }
  }
  auto d = subs().DescribeSubscription("wide", "w");
  ASSERT_TRUE(d.ok()) << d.status();
  for (const auto& part : d->partitions) EXPECT_EQ(part.ack_floor, kPerPart);
}

TEST_F(AckInReceiveTest, ARefusedAckFailsTheCallAndChangesNothing) {
  Fill(0, 5);
  Fill(1, 2);
  auto got = subs().Receive("jobs", "w", {.max_records = 3});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 3u);
  std::vector<Delivery> acks = Deliveries(*got);
  acks.push_back({.partition = 1, .offset = 0, .attempt = 1});  // not leased
  auto refused = ReceiveAcking(10, acks);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("ack on 'jobs' subscription \"w\": partition 1 offset "
                        "0 is not delivered"));
  // Nothing was acked, nothing was received: the three are still leased
  // (and ackable), the other four still available.
  EXPECT_EQ(AckFloor(0), 0);
  auto rest = subs().Receive("jobs", "w", {.max_records = 10});
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->size(), 4u);
  for (const auto& r : *rest) EXPECT_EQ(r.delivery.attempt, 1);
  // A stale attempt is refused the same way.
  std::vector<Delivery> stale = Deliveries(*got);
  stale[1].attempt = 2;
  EXPECT_EQ(ReceiveAcking(10, stale).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AckFloor(0), 0);
  // Unknown partition: kNotFound, as Ack.
  EXPECT_EQ(ReceiveAcking(10, {{.partition = 7, .offset = 0, .attempt = 1}})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(ReceiveAcking(10, Deliveries(*got)).ok());
  EXPECT_EQ(AckFloor(0), 3);
}

TEST_F(AckInReceiveTest, AcksOfAnOrderedKeyReleaseItsNextRecord) {
  SubscriptionConfig c;
  c.ordered_by_key = true;
  ASSERT_TRUE(subs().CreateSubscription("jobs", "ordered", c).ok());
  Put("jobs", 0, "k", "first");
  Put("jobs", 0, "k", "second");
  auto first = subs().Receive("jobs", "ordered", {.max_records = 10});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_THAT(Values(*first), ElementsAre("first"));
  const std::vector<Delivery> ack = Deliveries(*first);
  auto second =
      subs().Receive("jobs", "ordered", {.max_records = 10, .ack = ack});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Values(*second), ElementsAre("second"));
}

}  // namespace
}  // namespace spool
