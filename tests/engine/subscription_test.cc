// Shared subscriptions, one rule per test: leases, acks, backoff timing
// (manual clock), ordering by key, poison policies, delayed messages,
// window limits, restart, errors, metrics, retention floor.

#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/subscription_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class SubscriptionTest : public testing_util::SubscriptionTestBase {};

TEST(BackoffPolicyTest, FixedAndExponentialWithCap) {
  BackoffPolicy fixed{.kind = BackoffPolicy::Kind::kFixed,
                      .initial = absl::Seconds(3),
                      .max = absl::Seconds(10)};
  EXPECT_EQ(fixed.DelayAfter(1), absl::Seconds(3));
  EXPECT_EQ(fixed.DelayAfter(7), absl::Seconds(3));
  BackoffPolicy exp{.kind = BackoffPolicy::Kind::kExponential,
                    .initial = absl::Seconds(1),
                    .max = absl::Seconds(5),
                    .multiplier = 2};
  EXPECT_EQ(exp.DelayAfter(1), absl::Seconds(1));
  EXPECT_EQ(exp.DelayAfter(2), absl::Seconds(2));
  EXPECT_EQ(exp.DelayAfter(3), absl::Seconds(4));
  EXPECT_EQ(exp.DelayAfter(4), absl::Seconds(5));
  EXPECT_EQ(exp.DelayAfter(1000), absl::Seconds(5));  // no overflow
}

TEST_F(SubscriptionTest, EachRecordGoesToOneConsumerUntilAcked) {
  CreateTopicWith("jobs", 2);
  for (int i = 0; i < 6; ++i)
    Put("jobs", i % 2, std::nullopt, "v" + std::to_string(i));
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());
  auto a = Get("jobs", "w", 4);
  auto b = Get("jobs", "w", 4);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 2u);  // only what is not leased
  EXPECT_THAT(Get("jobs", "w", 4), IsEmpty());
  std::set<std::pair<int32_t, int64_t>> seen;
  std::vector<Delivery> all;
  for (const auto* batch : {&a, &b}) {
    for (const ReceivedRecord& r : *batch) {
      EXPECT_EQ(r.delivery.attempt, 1);
      EXPECT_EQ(r.lease_deadline, clock_.Now() + absl::Seconds(30));
      EXPECT_TRUE(
          seen.insert({r.delivery.partition, r.delivery.offset}).second);
      all.push_back(r.delivery);
    }
  }
  ASSERT_TRUE(subs().Ack("jobs", "w", all).ok());
  clock_.Advance(absl::Hours(1));  // no lease left to expire
  EXPECT_THAT(Get("jobs", "w", 10), IsEmpty());
  // Acking again is fine (idempotent).
  EXPECT_TRUE(subs().Ack("jobs", "w", {all[0]}).ok());
  auto d = subs().DescribeSubscription("jobs", "w");
  ASSERT_TRUE(d.ok());
  for (const auto& p : d->partitions) {
    EXPECT_EQ(p.ack_floor, 3);
    EXPECT_EQ(p.backlog, 0);
    EXPECT_EQ(p.acked_ranges, 0);
  }
}

// A Receive that read up to the log's end does not read there again until
// something is appended (PartitionQueue::AtEndSeen): records appended after
// empty receives, of few records (the window) and of many (lease runs),
// are handed out, also when the append went to another topic in between.
TEST_F(SubscriptionTest, RecordsAppendedAfterEmptyReceivesAreHandedOut) {
  CreateTopicWith("jobs", 2);
  CreateTopicWith("other", 1);
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());
  for (int round = 0; round < 3; ++round) {
    EXPECT_THAT(Get("jobs", "w", 1), IsEmpty());
    EXPECT_THAT(Get("jobs", "w", 64), IsEmpty());
    const std::string v = "one-" + std::to_string(round);
    Put("jobs", round % 2, std::nullopt, v);
    EXPECT_THAT(Values(Get("jobs", "w", 1)), ElementsAre(v));
    EXPECT_THAT(Get("jobs", "w", 64), IsEmpty());
    Put("other", 0, std::nullopt, "elsewhere");
    EXPECT_THAT(Get("jobs", "w", 64), IsEmpty());
    std::vector<Record> batch(20, Record{.value = "many"});
    ASSERT_TRUE(
        engine_->ProduceBatch("jobs", batch, {.partition = 1 - round % 2})
            .ok());
    EXPECT_EQ(Get("jobs", "w", 64).size(), 20u);
  }
}

TEST_F(SubscriptionTest, ExpiredLeaseRedeliversAfterBackoffCountingAnAttempt) {
  CreateTopicWith("jobs", 1);
  Put("jobs", 0, "k", "x", {{"h", "v"}, {"n", std::nullopt}});
  SubscriptionConfig c;
  c.lease = absl::Seconds(10);
  c.backoff = {.kind = BackoffPolicy::Kind::kFixed,
               .initial = absl::Seconds(5),
               .max = absl::Seconds(5)};
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto first = Get("jobs", "w", 1);
  ASSERT_EQ(first.size(), 1u);
  clock_.Advance(absl::Seconds(10));  // lease over; backoff starts
  EXPECT_THAT(Get("jobs", "w", 1), IsEmpty());
  clock_.Advance(absl::Seconds(5) - absl::Milliseconds(1));
  EXPECT_THAT(Get("jobs", "w", 1), IsEmpty());
  clock_.Advance(absl::Milliseconds(1));
  auto second = Get("jobs", "w", 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].delivery.offset, first[0].delivery.offset);
  EXPECT_EQ(second[0].delivery.attempt, 2);
  // The first delivery handed the data over; the second read it again.
  for (const ReceivedRecord& r : {first[0], second[0]}) {
    EXPECT_EQ(r.key, "k");
    EXPECT_EQ(r.value, "x");
    ASSERT_EQ(r.headers.size(), 2u);
    EXPECT_EQ(r.headers[0].key, "h");
    EXPECT_EQ(r.headers[0].value, "v");
    EXPECT_EQ(r.headers[1].key, "n");
    EXPECT_EQ(r.headers[1].value, std::nullopt);
  }
  EXPECT_EQ(second[0].timestamp, first[0].timestamp);
  // The first holder lost the lease: its ack is refused.
  absl::Status s = subs().Ack("jobs", "w", {first[0].delivery});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("lease lost"));
  EXPECT_TRUE(subs().Ack("jobs", "w", {second[0].delivery}).ok());
}

TEST_F(SubscriptionTest, RedeliveryOfRecordsRetentionDeletedSkipsThem) {
  CreateTopicWith("jobs", 1);
  for (const char* v : {"a", "b", "c", "d"}) Put("jobs", 0, std::nullopt, v);
  SubscriptionConfig c;
  c.lease = absl::Seconds(10);
  c.backoff = {.kind = BackoffPolicy::Kind::kFixed,
               .initial = absl::Seconds(1),
               .max = absl::Seconds(1)};
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto first = Get("jobs", "w", 4);
  ASSERT_EQ(Values(first), (std::vector<std::string>{"a", "b", "c", "d"}));
  ASSERT_TRUE(subs().Ack("jobs", "w", {first[1].delivery}).ok());
  // Retention takes offsets 0..2 while 0 and 2 are leased.
  ASSERT_TRUE(engine_->DeleteRecordsBefore({"jobs", 0}, 3).ok());
  clock_.Advance(absl::Seconds(11));
  // Redelivery reads the log: 0 and 2 are gone (done), 3 comes back.
  auto second = Get("jobs", "w", 4);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].delivery.offset, 3);
  EXPECT_EQ(second[0].delivery.attempt, 2);
  EXPECT_EQ(second[0].value, "d");
  ASSERT_TRUE(subs().Ack("jobs", "w", {second[0].delivery}).ok());
  // Acking a lost record is acking a done one.
  EXPECT_TRUE(subs().Ack("jobs", "w", {first[0].delivery}).ok());
  auto d = subs().DescribeSubscription("jobs", "w");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->partitions[0].ack_floor, 4);
  EXPECT_EQ(d->partitions[0].in_flight, 0);
  EXPECT_THAT(Get("jobs", "w", 4), IsEmpty());
}

TEST_F(SubscriptionTest, ExponentialBackoffBetweenNacks) {
  CreateTopicWith("jobs", 1);
  Put("jobs", 0, std::nullopt, "x");
  SubscriptionConfig c;
  c.max_deliveries = 0;  // unlimited
  c.backoff = {.kind = BackoffPolicy::Kind::kExponential,
               .initial = absl::Seconds(1),
               .max = absl::Seconds(5),
               .multiplier = 2};
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  const absl::Duration expected[] = {absl::Seconds(1), absl::Seconds(2),
                                     absl::Seconds(4), absl::Seconds(5),
                                     absl::Seconds(5)};
  for (int attempt = 1; attempt <= 5; ++attempt) {
    auto r = Get("jobs", "w", 1);
    ASSERT_EQ(r.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(r[0].delivery.attempt, attempt);
    ASSERT_TRUE(subs().Nack("jobs", "w", r[0].delivery).ok());
    clock_.Advance(expected[attempt - 1] - absl::Milliseconds(1));
    EXPECT_THAT(Get("jobs", "w", 1), IsEmpty()) << "attempt " << attempt;
    clock_.Advance(absl::Milliseconds(1));
  }
}

TEST_F(SubscriptionTest, NackWithDelayAndExtendLease) {
  CreateTopicWith("jobs", 1);
  Put("jobs", 0, std::nullopt, "x");
  Put("jobs", 0, std::nullopt, "y");
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());
  auto r = Get("jobs", "w", 2);
  ASSERT_EQ(r.size(), 2u);
  ASSERT_TRUE(
      subs().Nack("jobs", "w", r[0].delivery, absl::Seconds(60), "busy").ok());
  auto extended =
      subs().ExtendLease("jobs", "w", r[1].delivery, absl::Minutes(5));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(*extended, clock_.Now() + absl::Minutes(5));
  clock_.Advance(absl::Seconds(59));
  EXPECT_THAT(Get("jobs", "w", 2), IsEmpty());
  clock_.Advance(absl::Seconds(1));
  auto x = Get("jobs", "w", 2);
  ASSERT_THAT(Values(x), ElementsAre("x"));
  ASSERT_TRUE(subs().Ack("jobs", "w", {x[0].delivery}).ok());
  clock_.Advance(absl::Minutes(4));  // y's lease (5 min) still holds
  EXPECT_THAT(Get("jobs", "w", 2), IsEmpty());
  // Extending an expired lease is refused.
  clock_.Advance(absl::Minutes(2));
  auto late = subs().ExtendLease("jobs", "w", r[1].delivery, absl::Minutes(1));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SubscriptionTest, OrderedByKeyKeepsOneRecordPerKeyInFlight) {
  CreateTopicWith("chat", 1);
  Put("chat", 0, "k1", "a");
  Put("chat", 0, "k1", "b");
  Put("chat", 0, "k2", "c");
  Put("chat", 0, "k2", "d");
  Put("chat", 0, std::nullopt, "n1");
  Put("chat", 0, std::nullopt, "n2");
  SubscriptionConfig c;
  c.ordered_by_key = true;
  ASSERT_TRUE(subs().CreateSubscription("chat", "w", c).ok());
  auto first = Get("chat", "w", 10);
  EXPECT_THAT(Values(first), ElementsAre("a", "c", "n1", "n2"));
  EXPECT_THAT(Get("chat", "w", 10), IsEmpty());
  ASSERT_TRUE(subs().Ack("chat", "w", {first[0].delivery}).ok());  // a
  EXPECT_THAT(Values(Get("chat", "w", 10)), ElementsAre("b"));
  // c fails: d must wait for c's retry.
  ASSERT_TRUE(
      subs().Nack("chat", "w", first[1].delivery, absl::Seconds(1)).ok());
  EXPECT_THAT(Get("chat", "w", 10), IsEmpty());
  clock_.Advance(absl::Seconds(1));
  auto retry = Get("chat", "w", 10);
  ASSERT_THAT(Values(retry), ElementsAre("c"));
  EXPECT_EQ(retry[0].delivery.attempt, 2);
  ASSERT_TRUE(subs().Ack("chat", "w", {retry[0].delivery}).ok());
  EXPECT_THAT(Values(Get("chat", "w", 10)), ElementsAre("d"));
}

TEST_F(SubscriptionTest, PoisonRecordReachesDlqAfterExactlyMaxDeliveries) {
  CreateTopicWith("jobs", 2);
  CreateTopicWith("jobs.dlq", 1);
  const int64_t offset =
      Put("jobs", 1, "k", "poison", {{.key = "trace", .value = "t-1"}});
  SubscriptionConfig c;
  c.max_deliveries = 3;
  c.dead_letter_topic = "jobs.dlq";
  c.backoff = {.kind = BackoffPolicy::Kind::kFixed,
               .initial = absl::ZeroDuration(),
               .max = absl::ZeroDuration()};
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  for (int attempt = 1; attempt <= 3; ++attempt) {
    EXPECT_THAT(ReadTopic("jobs.dlq"), IsEmpty()) << "attempt " << attempt;
    auto r = Get("jobs", "w", 1);
    ASSERT_EQ(r.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(r[0].delivery.attempt, attempt);
    ASSERT_TRUE(subs()
                    .Nack("jobs", "w", r[0].delivery, std::nullopt,
                          "boom " + std::to_string(attempt))
                    .ok());
  }
  auto dlq = ReadTopic("jobs.dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].value, "poison");
  EXPECT_EQ(dlq[0].key, "k");
  EXPECT_EQ(dlq[0].headers["trace"], "t-1");
  EXPECT_EQ(dlq[0].headers[kDlqTopicHeader], "jobs");
  EXPECT_EQ(dlq[0].headers[kDlqPartitionHeader], "1");
  EXPECT_EQ(dlq[0].headers[kDlqOffsetHeader], std::to_string(offset));
  EXPECT_EQ(dlq[0].headers[kDlqSubscriptionHeader], "w");
  EXPECT_EQ(dlq[0].headers[kDlqAttemptsHeader], "3");
  EXPECT_EQ(dlq[0].headers[kDlqReasonHeader], "boom 3");
  EXPECT_EQ(dlq[0].headers[kDlqTimeHeader], std::to_string(clock_.NowMillis()));
  // Done in the source: never delivered again.
  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(Get("jobs", "w", 5), IsEmpty());
  auto d = subs().DescribeSubscription("jobs", "w");
  EXPECT_EQ(d->partitions[1].ack_floor, offset + 1);
  EXPECT_THAT(engine_->Metrics(),
              HasSubstr("spool_subscription_dead_lettered_total{topic=\"jobs\","
                        "subscription=\"w\"} 1"));
}

TEST_F(SubscriptionTest, ExpiredLeasesCountTowardsMaxDeliveries) {
  CreateTopicWith("jobs", 1);
  CreateTopicWith("dlq", 1);
  Put("jobs", 0, std::nullopt, "slow");
  SubscriptionConfig c;
  c.max_deliveries = 2;
  c.lease = absl::Seconds(1);
  c.dead_letter_topic = "dlq";
  c.backoff = {.kind = BackoffPolicy::Kind::kFixed,
               .initial = absl::Seconds(1),
               .max = absl::Seconds(1)};
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  ASSERT_EQ(Get("jobs", "w", 1).size(), 1u);
  clock_.Advance(absl::Seconds(2));
  ASSERT_EQ(Get("jobs", "w", 1).size(), 1u);
  clock_.Advance(absl::Seconds(1));  // second lease over: exhausted
  EXPECT_THAT(Get("jobs", "w", 1), IsEmpty());
  auto dlq = ReadTopic("dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].headers[kDlqAttemptsHeader], "2");
}

TEST_F(SubscriptionTest, RejectDeadLettersAtOnceWithReason) {
  CreateTopicWith("jobs", 1);
  CreateTopicWith("dlq", 2);
  Put("jobs", 0, std::nullopt, "bad");
  Put("jobs", 0, std::nullopt, "good");
  SubscriptionConfig c;
  c.dead_letter_topic = "dlq";
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto r = Get("jobs", "w", 2);
  ASSERT_EQ(r.size(), 2u);
  ASSERT_TRUE(subs().Reject("jobs", "w", r[0].delivery, "schema").ok());
  auto dlq = ReadTopic("dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].headers[kDlqReasonHeader], "schema");
  EXPECT_EQ(dlq[0].headers[kDlqAttemptsHeader], "1");
  absl::Status again = subs().Reject("jobs", "w", r[0].delivery, "x");
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.message(), HasSubstr("already done"));
}

TEST_F(SubscriptionTest, WithoutDlqExhaustedRecordsAreDropped) {
  CreateTopicWith("jobs", 1);
  Put("jobs", 0, std::nullopt, "x");
  SubscriptionConfig c;
  c.max_deliveries = 1;
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto r = Get("jobs", "w", 1);
  ASSERT_TRUE(subs().Nack("jobs", "w", r[0].delivery).ok());
  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(Get("jobs", "w", 1), IsEmpty());
  EXPECT_THAT(engine_->Metrics(),
              HasSubstr("spool_subscription_dropped_total{topic=\"jobs\","
                        "subscription=\"w\"} 1"));
}

TEST_F(SubscriptionTest, OrderedPoisonDeadLetteredThenKeyContinues) {
  CreateTopicWith("chat", 1);
  CreateTopicWith("dlq", 1);
  Put("chat", 0, "k", "poison");
  Put("chat", 0, "k", "next");
  SubscriptionConfig c;
  c.ordered_by_key = true;
  c.max_deliveries = 2;
  c.dead_letter_topic = "dlq";
  c.poison_policy = PoisonPolicy::kDeadLetter;
  c.backoff.initial = absl::ZeroDuration();
  ASSERT_TRUE(subs().CreateSubscription("chat", "w", c).ok());
  for (int i = 0; i < 2; ++i) {
    auto r = Get("chat", "w", 5);
    ASSERT_THAT(Values(r), ElementsAre("poison"));
    ASSERT_TRUE(subs().Nack("chat", "w", r[0].delivery).ok());
  }
  EXPECT_THAT(Values(Get("chat", "w", 5)), ElementsAre("next"));
  EXPECT_EQ(ReadTopic("dlq").size(), 1u);
}

TEST_F(SubscriptionTest, ParkedKeyBlocksOnlyItsKeyUntilResolved) {
  CreateTopicWith("chat", 1);
  Put("chat", 0, "k", "poison");
  Put("chat", 0, "k", "k-later");
  Put("chat", 0, "other", "o1");
  SubscriptionConfig c;
  c.ordered_by_key = true;
  c.max_deliveries = 1;
  c.poison_policy = PoisonPolicy::kPark;
  ASSERT_TRUE(subs().CreateSubscription("chat", "w", c).ok());
  auto r = Get("chat", "w", 5);
  ASSERT_THAT(Values(r), ElementsAre("poison", "o1"));
  ASSERT_TRUE(
      subs().Nack("chat", "w", r[0].delivery, std::nullopt, "bug").ok());
  ASSERT_TRUE(subs().Ack("chat", "w", {r[1].delivery}).ok());
  Put("chat", 0, "other", "o2");
  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(Values(Get("chat", "w", 5)), ElementsAre("o2"));  // k waits
  auto parked = subs().ListParked("chat", "w");
  ASSERT_TRUE(parked.ok());
  ASSERT_EQ(parked->size(), 1u);
  EXPECT_EQ((*parked)[0].key, "k");
  EXPECT_EQ((*parked)[0].offset, r[0].delivery.offset);
  EXPECT_EQ((*parked)[0].attempts, 1);
  EXPECT_EQ((*parked)[0].reason, "bug");
  EXPECT_EQ((*parked)[0].blocked_records, 1);
  // The parked state survives a restart.
  Reopen();
  EXPECT_THAT(Get("chat", "w", 5), IsEmpty());
  ASSERT_EQ(subs().ListParked("chat", "w")->size(), 1u);
  // Retry: delivered again with a fresh count, in order.
  ASSERT_TRUE(subs()
                  .ResolveParked("chat", "w", 0, r[0].delivery.offset,
                                 ParkedAction::kRetry)
                  .ok());
  auto retried = Get("chat", "w", 5);
  ASSERT_THAT(Values(retried), ElementsAre("poison"));
  EXPECT_EQ(retried[0].delivery.attempt, 1);
  // Fails again: parked again; skip it this time.
  ASSERT_TRUE(subs().Nack("chat", "w", retried[0].delivery).ok());
  EXPECT_EQ(subs()
                .ResolveParked("chat", "w", 0, r[0].delivery.offset + 1,
                               ParkedAction::kSkip)
                .code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(subs()
                  .ResolveParked("chat", "w", 0, r[0].delivery.offset,
                                 ParkedAction::kSkip)
                  .ok());
  EXPECT_THAT(Values(Get("chat", "w", 5)), ElementsAre("k-later"));
}

TEST_F(SubscriptionTest, NotBeforeHeaderDelaysDelivery) {
  CreateTopicWith("later", 1, "deliver-at");
  const int64_t at = clock_.NowMillis() + 60000;
  Put("later", 0, std::nullopt, "delayed",
      {{.key = "deliver-at", .value = std::to_string(at)}});
  Put("later", 0, std::nullopt, "now");
  Put("later", 0, std::nullopt, "past",
      {{.key = "deliver-at", .value = std::to_string(at - 120000)}});
  ASSERT_TRUE(subs().CreateSubscription("later", "w", {}).ok());
  auto first = Get("later", "w", 5);
  EXPECT_THAT(Values(first), ElementsAre("now", "past"));
  ASSERT_TRUE(
      subs().Ack("later", "w", {first[0].delivery, first[1].delivery}).ok());
  clock_.Advance(absl::Seconds(59));
  EXPECT_THAT(Get("later", "w", 5), IsEmpty());
  // After a restart the header is read again.
  Reopen();
  clock_.Advance(absl::Seconds(1));
  auto r = Get("later", "w", 5);
  ASSERT_THAT(Values(r), ElementsAre("delayed"));
  EXPECT_EQ(r[0].delivery.attempt, 1);
}

TEST_F(SubscriptionTest, WindowBoundsUnackedRecordsInMemory) {
  CreateTopicWith("jobs", 1);
  for (int i = 0; i < 10; ++i) Put("jobs", 0, std::nullopt, std::to_string(i));
  SubscriptionConfig c;
  c.max_unacked_records = 3;
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto r = Get("jobs", "w", 10);
  EXPECT_THAT(Values(r), ElementsAre("0", "1", "2"));
  ASSERT_TRUE(subs().Ack("jobs", "w", {r[1].delivery}).ok());
  EXPECT_THAT(Values(Get("jobs", "w", 10)), ElementsAre("3"));
}

TEST_F(SubscriptionTest, AckStateIsRangesNotRows) {
  CreateTopicWith("jobs", 1);
  std::vector<Record> batch(1000, Record{.value = "x"});
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(engine_->ProduceBatch("jobs", batch, {.partition = 0}).ok());
  }
  SubscriptionConfig c;
  c.max_unacked_records = 5000;
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto r = Get("jobs", "w", 5000);
  ASSERT_EQ(r.size(), 5000u);
  std::vector<Delivery> acks;
  for (const auto& rec : r) {
    if (rec.delivery.offset != 100 && rec.delivery.offset != 3000) {
      acks.push_back(rec.delivery);
    }
  }
  ASSERT_TRUE(subs().Ack("jobs", "w", acks).ok());
  auto d = subs().DescribeSubscription("jobs", "w");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->partitions[0].ack_floor, 100);
  EXPECT_EQ(d->partitions[0].acked_ranges, 2);  // [101,3000) [3001,5000)
  EXPECT_EQ(d->partitions[0].backlog, 2);
  EXPECT_EQ(d->partitions[0].in_flight, 2);
  // The same after a restart (the rows say the same).
  Reopen();
  d = subs().DescribeSubscription("jobs", "w");
  EXPECT_EQ(d->partitions[0].ack_floor, 100);
  EXPECT_EQ(d->partitions[0].acked_ranges, 2);
  EXPECT_EQ(d->partitions[0].backlog, 2);
}

TEST_F(SubscriptionTest, CleanRestartKeepsAcksLeasesAndAttempts) {
  CreateTopicWith("jobs", 1);
  for (int i = 0; i < 4; ++i) Put("jobs", 0, std::nullopt, std::to_string(i));
  SubscriptionConfig c;
  c.lease = absl::Seconds(30);
  c.backoff.initial = absl::ZeroDuration();
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto r = Get("jobs", "w", 3);
  ASSERT_EQ(r.size(), 3u);
  ASSERT_TRUE(subs().Ack("jobs", "w", {r[0].delivery, r[2].delivery}).ok());
  Reopen();
  // 1 is still leased (resumed), 3 was never delivered.
  auto three = Get("jobs", "w", 5);
  ASSERT_THAT(Values(three), ElementsAre("3"));
  EXPECT_EQ(three[0].delivery.attempt, 1);
  ASSERT_TRUE(subs().Ack("jobs", "w", {three[0].delivery}).ok());
  clock_.Advance(absl::Seconds(30));
  auto again = Get("jobs", "w", 5);
  ASSERT_THAT(Values(again), ElementsAre("1"));
  EXPECT_EQ(again[0].delivery.attempt, 2);
  // The handle from before the restart is still the current one's
  // predecessor: refused.
  EXPECT_EQ(subs().Ack("jobs", "w", {r[1].delivery}).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(SubscriptionTest, PowerLossKeepsSyncedAcksAndLosesNothing) {
  CreateTopicWith("jobs", 2);
  for (int i = 0; i < 20; ++i)
    Put("jobs", i % 2, std::nullopt, std::to_string(i));
  ASSERT_TRUE(engine_->Flush().ok());
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());
  auto r = Get("jobs", "w", 20);
  ASSERT_EQ(r.size(), 20u);
  std::set<std::string> acked;
  for (size_t i = 0; i < r.size(); i += 2) {
    ASSERT_TRUE(subs().Ack("jobs", "w", {r[i].delivery}, {.sync = true}).ok());
    acked.insert(*r[i].value);
  }
  // Unsynced acks may or may not survive; they must not break anything.
  ASSERT_TRUE(subs().Ack("jobs", "w", {r[1].delivery}, {.sync = false}).ok());
  CrashAndReopen();
  clock_.Advance(absl::Hours(1));
  std::set<std::string> again;
  for (const auto& rec : Get("jobs", "w", 100)) {
    EXPECT_FALSE(acked.contains(*rec.value)) << *rec.value << " redelivered";
    again.insert(*rec.value);
  }
  // Everything not acked-and-synced comes back.
  for (size_t i = 3; i < r.size(); i += 2) {
    EXPECT_TRUE(again.contains(*r[i].value)) << *r[i].value << " lost";
  }
}

// Acks can be synced before the records they ack are: a power loss then
// takes records whose acks survive. The offsets are appended again after
// the restart, and those new records must be delivered, not taken as done.
TEST_F(SubscriptionTest, AcksOfRecordsAPowerLossTookDoNotHideLaterRecords) {
  CreateTopicWith("jobs", 1);
  for (int i = 0; i < 5; ++i) Put("jobs", 0, std::nullopt, "durable");
  ASSERT_TRUE(engine_->Flush().ok());
  for (int i = 0; i < 5; ++i) Put("jobs", 0, std::nullopt, "lost");
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());
  auto r = Get("jobs", "w", 10);
  ASSERT_EQ(r.size(), 10u);
  std::vector<Delivery> all;
  for (const auto& rec : r) all.push_back(rec.delivery);
  ASSERT_TRUE(subs().Ack("jobs", "w", all, {.sync = true}).ok());
  // Power loss keeping only what was synced.
  fs_.SimulateCrash({.mode = PowerLossMode::kDropUnsynced});
  engine_.reset();
  fs_.ClearFaults();
  Open();
  auto o = engine_->Offsets({"jobs", 0});
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->log_end_offset, 5) << "the unflushed records should be gone";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Put("jobs", 0, std::nullopt, absl::StrCat("new-", i)), 5 + i);
  }
  EXPECT_THAT(Values(Get("jobs", "w", 10)),
              ElementsAre("new-0", "new-1", "new-2"));
  // And after a clean restart too (the rewritten state holds).
  Reopen();
  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(Values(Get("jobs", "w", 10)),
              ElementsAre("new-0", "new-1", "new-2"));
}

// A dead letter appended for a record a power loss then took, whose
// completion (the sequence row) never got written: loading drops the
// intent with the record, and the next dead letter must still reach the
// dead-letter topic, not be taken for a retry of the first (crashtest
// power seed 575: the reject returned OK and nothing was appended).
constexpr int kCompletionSync = 2;

TEST_F(SubscriptionTest, ADeadLetterOfALostRecordDoesNotSwallowTheNext) {
  CreateTopicWith("jobs", 1);
  CreateTopicWith("dlq", 1);
  Put("jobs", 0, std::nullopt, "durable");
  ASSERT_TRUE(engine_->Flush().ok());
  Put("jobs", 0, std::nullopt, "lost");  // offset 1, never synced
  SubscriptionConfig c;
  c.dead_letter_topic = "dlq";
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto r = Get("jobs", "w", 2);
  ASSERT_EQ(r.size(), 2u);
  // The second synced write to the tables is the reject's completion,
  // after its intent row (and the dead letter's append to the log).
  fs_.InjectFault({.op = FaultOp::kSync,
                   .nth = kCompletionSync,
                   .sticky = true,
                   .path_substring = "spool-tables"});
  EXPECT_FALSE(subs().Reject("jobs", "w", r[1].delivery, "bad").ok());
  fs_.ClearFaults();
  ASSERT_EQ(ReadTopic("dlq").size(), 1u)
      << "the fault was meant to hit the completion, after the append";
  fs_.SimulateCrash({.mode = PowerLossMode::kDropUnsynced});
  engine_.reset();
  fs_.ClearFaults();
  Open();
  ASSERT_EQ(engine_->Offsets({"jobs", 0})->log_end_offset, 1);
  EXPECT_EQ(Put("jobs", 0, std::nullopt, "new"), 1);
  auto again = Get("jobs", "w", 2);  // offset 0 is still leased
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(again[0].delivery.offset, 1);
  ASSERT_TRUE(subs().Reject("jobs", "w", again[0].delivery, "bad too").ok());
  auto dlq = ReadTopic("dlq");
  ASSERT_EQ(dlq.size(), 2u) << "the second dead letter was swallowed";
  EXPECT_EQ(dlq[0].value, "lost");
  EXPECT_EQ(dlq[1].value, "new");
  EXPECT_EQ(dlq[1].headers[kDlqOffsetHeader], "1");
  EXPECT_EQ(dlq[1].headers[kDlqReasonHeader], "bad too");
}

// A dead-letter partition whose fdatasync failed refuses appends until the
// engine reopens. The reject fails, but the subscription's other records
// keep flowing, and the dead letter is completed after the reopen.
TEST_F(SubscriptionTest, ReceiveGoesOnWhileTheDeadLetterTopicRefusesWrites) {
  CreateTopicWith("jobs", 1);
  TopicConfig dlq;
  dlq.partitions = 1;
  dlq.durability = Durability::kSync;
  ASSERT_TRUE(engine_->CreateTopic("dlq", dlq).ok());
  for (int i = 0; i < 4; ++i)
    Put("jobs", 0, std::nullopt, "v" + std::to_string(i));
  ASSERT_TRUE(engine_->Flush().ok());  // the records survive the crash
  SubscriptionConfig c;
  c.dead_letter_topic = "dlq";
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto first = Get("jobs", "w", 1);
  ASSERT_EQ(first.size(), 1u);
  fs_.InjectFault(
      {.op = FaultOp::kSync, .sticky = true, .path_substring = "dlq-0"});
  absl::Status rejected = subs().Reject("jobs", "w", first[0].delivery, "bad");
  EXPECT_FALSE(rejected.ok());
  fs_.ClearFaults();  // the dlq log stays poisoned until a reopen
  EXPECT_FALSE(engine_->Produce("dlq", Record{.value = "x"}).ok());

  auto rest = Get("jobs", "w", 10);
  EXPECT_THAT(Values(rest), ElementsAre("v1", "v2", "v3"));
  std::vector<Delivery> ds;
  for (const auto& r : rest) ds.push_back(r.delivery);
  EXPECT_TRUE(subs().Ack("jobs", "w", ds).ok());
  EXPECT_THAT(Get("jobs", "w", 10), IsEmpty());

  fs_.SimulateCrash({.mode = PowerLossMode::kDropUnsynced});
  engine_.reset();
  fs_.ClearFaults();
  Open();
  EXPECT_THAT(Get("jobs", "w", 10), IsEmpty());  // completes the dead letter
  auto dead = ReadTopic("dlq");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, "v0");
  EXPECT_EQ(dead[0].headers[kDlqReasonHeader], "bad");
}

TEST_F(SubscriptionTest, LongPollWakesOnAppendWithoutBusyWaiting) {
  CreateTopicWith("jobs", 3);
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());
  const absl::Time start = absl::Now();
  auto empty =
      subs().Receive("jobs", "w", {.max_wait = absl::Milliseconds(100)});
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(*empty, IsEmpty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  std::thread producer([&] {
    absl::SleepFor(absl::Milliseconds(50));
    Put("jobs", 2, std::nullopt, "late");
  });
  const absl::Time t0 = absl::Now();
  auto got = subs().Receive("jobs", "w", {.max_wait = absl::Seconds(20)});
  const absl::Duration waited = absl::Now() - t0;
  producer.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Values(*got), ElementsAre("late"));
  EXPECT_LT(waited, absl::Seconds(10));
}

TEST_F(SubscriptionTest, AdministrationErrorsAndDeletion) {
  CreateTopicWith("jobs", 1);
  EXPECT_EQ(subs().CreateSubscription("nope", "w", {}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(subs().CreateSubscription("jobs", "", {}).code(),
            absl::StatusCode::kInvalidArgument);
  SubscriptionConfig bad;
  bad.max_unacked_records = 0;
  EXPECT_THAT(subs().CreateSubscription("jobs", "w", bad).message(),
              HasSubstr("max_unacked_records"));
  SubscriptionConfig self;
  self.dead_letter_topic = "jobs";
  EXPECT_EQ(subs().CreateSubscription("jobs", "w", self).code(),
            absl::StatusCode::kInvalidArgument);
  SubscriptionConfig missing;
  missing.dead_letter_topic = "missing";
  EXPECT_THAT(subs().CreateSubscription("jobs", "w", missing).message(),
              HasSubstr("dead-letter topic"));
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());
  EXPECT_EQ(subs().CreateSubscription("jobs", "w", {}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(subs().Receive("jobs", "x", {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(subs().Receive("jobs", "w", {.max_records = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(subs()
                .Ack("jobs", "w", {{.partition = 0, .offset = 0, .attempt = 1}})
                .code(),
            absl::StatusCode::kFailedPrecondition);  // never delivered
  EXPECT_EQ(subs()
                .Ack("jobs", "w", {{.partition = 4, .offset = 0, .attempt = 1}})
                .code(),
            absl::StatusCode::kNotFound);
  Put("jobs", 0, std::nullopt, "a");
  ASSERT_EQ(Get("jobs", "w", 1).size(), 1u);
  auto list = subs().ListSubscriptions();
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list,
              ElementsAre(std::pair<std::string, std::string>("jobs", "w")));
  ASSERT_TRUE(subs().DeleteSubscription("jobs", "w").ok());
  EXPECT_EQ(subs().DeleteSubscription("jobs", "w").code(),
            absl::StatusCode::kNotFound);
  // A new subscription of the same name starts over.
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());
  Reopen();
  auto r = Get("jobs", "w", 5);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].delivery.attempt, 1);
  // Deleting the topic deletes its subscriptions.
  ASSERT_TRUE(engine_->DeleteTopic("jobs").ok());
  EXPECT_THAT(*subs().ListSubscriptions(), IsEmpty());
}

TEST_F(SubscriptionTest, StartLatestSkipsExistingRecords) {
  CreateTopicWith("jobs", 1);
  Put("jobs", 0, std::nullopt, "old");
  SubscriptionConfig c;
  c.start = StartPosition::kLatest;
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  Put("jobs", 0, std::nullopt, "new");
  EXPECT_THAT(Values(Get("jobs", "w", 5)), ElementsAre("new"));
}

TEST_F(SubscriptionTest, RetentionFloorIsTheSmallestAckFloor) {
  CreateTopicWith("jobs", 2);
  for (int i = 0; i < 4; ++i) Put("jobs", 0, std::nullopt, std::to_string(i));
  EXPECT_EQ(*subs().RetentionFloor("jobs", 0), std::nullopt);
  EXPECT_EQ(subs().RetentionFloor("jobs", 2).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(subs().CreateSubscription("jobs", "a", {}).ok());
  ASSERT_TRUE(subs().CreateSubscription("jobs", "b", {}).ok());
  auto ra = Get("jobs", "a", 3);
  ASSERT_TRUE(
      subs()
          .Ack("jobs", "a", {ra[0].delivery, ra[1].delivery, ra[2].delivery})
          .ok());
  auto rb = Get("jobs", "b", 1);
  ASSERT_TRUE(subs().Ack("jobs", "b", {rb[0].delivery}).ok());
  EXPECT_EQ(*subs().RetentionFloor("jobs", 0), 1);
  EXPECT_EQ(*subs().RetentionFloor("jobs", 1), 0);
  ASSERT_TRUE(subs().DeleteSubscription("jobs", "b").ok());
  EXPECT_EQ(*subs().RetentionFloor("jobs", 0), 3);
}

TEST_F(SubscriptionTest, MetricsReportQueueFigures) {
  CreateTopicWith("jobs", 1);
  CreateTopicWith("dlq", 1);
  for (int i = 0; i < 5; ++i) Put("jobs", 0, std::nullopt, std::to_string(i));
  SubscriptionConfig c;
  c.dead_letter_topic = "dlq";
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto r = Get("jobs", "w", 3);
  ASSERT_TRUE(subs().Ack("jobs", "w", {r[0].delivery}).ok());
  ASSERT_TRUE(subs().Reject("jobs", "w", r[1].delivery, "no").ok());
  clock_.Advance(absl::Seconds(7));
  const std::string m = engine_->Metrics();
  const std::string l = "{topic=\"jobs\",subscription=\"w\"}";
  EXPECT_THAT(m, HasSubstr("spool_subscription_in_flight" + l + " 1"));
  EXPECT_THAT(m, HasSubstr("spool_subscription_backlog" + l + " 3"));
  EXPECT_THAT(m, HasSubstr("spool_subscription_acked_total" + l + " 1"));
  EXPECT_THAT(m,
              HasSubstr("spool_subscription_dead_lettered_total" + l + " 1"));
  EXPECT_THAT(m, HasSubstr("spool_subscription_dlq_depth" + l + " 1"));
  EXPECT_THAT(
      m, HasSubstr("spool_subscription_oldest_unacked_age_seconds" + l + " 7"));
}

}  // namespace
}  // namespace spool

namespace spool {
namespace {

// Random receives, acks, nacks, clock moves, clean restarts and power
// losses against a reference: a record whose (synced) ack returned OK is
// never handed out again, and in the end every record is acked.
class SubscriptionModelTest : public testing_util::SubscriptionTestBase {};

TEST_F(SubscriptionModelTest, RandomOpsWithRestartsMatchReference) {
  const uint32_t seed =
      static_cast<uint32_t>(::testing::UnitTest::GetInstance()->random_seed()) +
      20261129;
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  constexpr int kRecords = 400;
  CreateTopicWith("m", 2);
  std::vector<Record> batch;
  for (int i = 0; i < kRecords; ++i) {
    batch.push_back(
        {.key = "k" + std::to_string(i % 13), .value = std::to_string(i)});
  }
  ASSERT_TRUE(engine_->ProduceBatch("m", batch).ok());
  ASSERT_TRUE(engine_->Flush().ok());
  SubscriptionConfig c;
  c.max_deliveries = 0;
  c.lease = absl::Seconds(10);
  c.backoff = {.kind = BackoffPolicy::Kind::kFixed,
               .initial = absl::Seconds(1),
               .max = absl::Seconds(1)};
  c.max_unacked_records = 64;
  c.ordered_by_key = rng() % 2 == 0;
  ASSERT_TRUE(subs().CreateSubscription("m", "w", c).ok());
  std::set<std::pair<int32_t, int64_t>> acked;
  std::vector<Delivery> held;
  // What the log holds, to check the data handed out (by Receive or by
  // ReceiveBatch, at random: held views, copies, redeliveries).
  std::map<std::pair<int32_t, int64_t>, std::pair<std::string, std::string>>
      logged;
  for (const Stored& r : ReadTopic("m")) {
    logged[{r.partition, r.offset}] = {r.key.value_or("<null>"), r.value};
  }
  ASSERT_EQ(logged.size(), static_cast<size_t>(kRecords));
  auto receive = [&](int n) {
    struct Got {
      Delivery delivery;
      std::string key, value;
    };
    std::vector<Got> got;
    if (rng() % 2 == 0) {
      for (const ReceivedRecord& r : Get("m", "w", n)) {
        got.push_back(
            {r.delivery, r.key.value_or("<null>"), r.value.value_or("<null>")});
      }
    } else {
      auto b = subs().ReceiveBatch("m", "w", {.max_records = n});
      ASSERT_TRUE(b.ok()) << b.status();
      for (const ReceivedRecordView& r : *b) {
        got.push_back({r.delivery, std::string(r.record.key.value_or("<null>")),
                       std::string(r.record.value.value_or("<null>"))});
      }
    }
    for (const Got& r : got) {
      const std::pair<int32_t, int64_t> k{r.delivery.partition,
                                          r.delivery.offset};
      ASSERT_FALSE(acked.contains(k))
          << "acked record handed out again: partition " << k.first
          << " offset " << k.second << " attempt " << r.delivery.attempt;
      ASSERT_EQ(std::make_pair(r.key, r.value), logged[k])
          << "partition " << k.first << " offset " << k.second << " attempt "
          << r.delivery.attempt;
      held.push_back(r.delivery);
    }
  };
  for (int step = 0; step < 300 && !HasFatalFailure(); ++step) {
    const int op = static_cast<int>(rng() % 20);
    if (op < 7) {
      receive(1 + static_cast<int>(rng() % 24));
    } else if (op < 13 && !held.empty()) {
      const size_t i = rng() % held.size();
      const Delivery d = held[i];
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
      absl::Status s = subs().Ack("m", "w", {d});
      if (s.ok()) {
        acked.insert({d.partition, d.offset});
      } else {
        ASSERT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
      }
    } else if (op < 14 && !held.empty()) {
      const size_t i = rng() % held.size();
      absl::Status s = subs().Nack("m", "w", held[i]);
      if (!s.ok()) {
        ASSERT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
      }
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (op == 14 && !held.empty()) {
      const Delivery d = held[rng() % held.size()];
      auto s = subs().ExtendLease("m", "w", d, absl::Seconds(rng() % 30 + 1));
      if (!s.ok()) {
        ASSERT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition)
            << s.status();
      }
    } else if (op == 15 && !held.empty()) {
      // Without a dead-letter topic a rejected record is dropped: done.
      const size_t i = rng() % held.size();
      const Delivery d = held[i];
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
      absl::Status s = subs().Reject("m", "w", d, "model");
      if (s.ok()) {
        acked.insert({d.partition, d.offset});
      } else {
        ASSERT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
      }
    } else if (op < 18) {
      clock_.Advance(absl::Milliseconds(rng() % 15000));
    } else if (op == 18) {
      Reopen();
    } else {
      CrashAndReopen();
    }
  }
  // Drain: everything not acked comes back eventually.
  for (int round = 0; round < 200 && acked.size() < kRecords; ++round) {
    clock_.Advance(absl::Seconds(20));
    held.clear();
    receive(kRecords);
    for (const Delivery& d : held) {
      ASSERT_TRUE(subs().Ack("m", "w", {d}).ok());
      acked.insert({d.partition, d.offset});
    }
  }
  EXPECT_EQ(acked.size(), static_cast<size_t>(kRecords));
  auto d = subs().DescribeSubscription("m", "w");
  ASSERT_TRUE(d.ok());
  for (const auto& p : d->partitions) EXPECT_EQ(p.backlog, 0);
}

}  // namespace
}  // namespace spool
