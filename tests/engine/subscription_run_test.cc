// Lease runs: first deliveries that a Receive of many records hands out
// straight from the log, with one deadline and a bit per record instead
// of an entry each (docs/queues.md, "Lease runs"). Every consumer call
// must treat a record of a run as it treats any leased record: these tests
// receive runs and then ack, nack, extend, reject, expire, restart, delay
// and retain records inside them.

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/subscription_codec.h"
#include "engine/subscription_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tables/table_store.h"

namespace spool {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class LeaseRunTest : public testing_util::SubscriptionTestBase {
 protected:
  // n records with values "0".."n-1" in partition 0 of `topic`, one batch.
  void Fill(const std::string& topic, int n) {
    std::vector<Record> batch;
    for (int i = 0; i < n; ++i) batch.push_back({.value = std::to_string(i)});
    ASSERT_TRUE(engine_->ProduceBatch(topic, batch, {.partition = 0}).ok());
  }

  static std::vector<int64_t> Offsets(const std::vector<ReceivedRecord>& rs) {
    std::vector<int64_t> out;
    for (const auto& r : rs) out.push_back(r.delivery.offset);
    return out;
  }

  static std::vector<int64_t> Range(int64_t from, int64_t to) {
    std::vector<int64_t> out;
    for (int64_t o = from; o < to; ++o) out.push_back(o);
    return out;
  }

  SubscriptionPartitionState State(const std::string& topic,
                                   const std::string& sub) {
    auto d = subs().DescribeSubscription(topic, sub);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? d->partitions[0] : SubscriptionPartitionState{};
  }

  absl::Status AckOffsets(const std::vector<ReceivedRecord>& rs,
                          const std::set<int64_t>& offsets) {
    std::vector<Delivery> ds;
    for (const auto& r : rs) {
      if (offsets.contains(r.delivery.offset)) ds.push_back(r.delivery);
    }
    return subs().Ack("jobs", "w", ds);
  }

  static constexpr char kTablesPath[] = "/disk0/spool/spool-tables";

  // Closes the engine and calls fn with its tables opened alone (the
  // engine stays closed: Open() it again).
  void WithTablesOnly(const std::function<void(TableStore&)>& fn) {
    ASSERT_TRUE(engine_->Close().ok());
    engine_.reset();
    auto tables = TableStore::Open({.fs = &fs_, .path = kTablesPath});
    ASSERT_TRUE(tables.ok()) << tables.status();
    fn(**tables);
    ASSERT_TRUE((*tables)->Close().ok());
  }
  static std::string FloorKey() {
    return SubRowKey(SubscriptionPrefix("jobs", "w"), kSubRowFloor, 0);
  }
  static std::string MarkKey() {
    return SubRowKey(SubscriptionPrefix("jobs", "w"), kSubRowMark, 0);
  }
  // The floor row of subscription "w" on "jobs", partition 0.
  static FloorRow FloorRowIn(const TableStore& tables) {
    auto value = tables.Get(Table::kSubscriptions, FloorKey());
    EXPECT_TRUE(value.ok() && value->has_value());
    if (!value.ok() || !value->has_value()) return {};
    auto row = DecodeFloorRow(**value);
    EXPECT_TRUE(row.ok()) << row.status();
    return row.ok() ? *row : FloorRow{};
  }

  // Subscription "w" on a new topic "jobs" of 30 records: all 30 handed
  // out in one run, then offsets 0, 5, 6 and 29 acked.
  void HandOutARunAndAckSome();
  // After a restart: the run's other records are still leased, and come
  // back (attempt 2) once lease and backoff have passed.
  void ExpectTheRunStillLeasedThenRedelivered();

  static SubscriptionConfig Config() {
    SubscriptionConfig c;
    c.lease = absl::Seconds(10);
    c.max_deliveries = 3;
    c.backoff = {.kind = BackoffPolicy::Kind::kFixed,
                 .initial = absl::Seconds(2),
                 .max = absl::Seconds(2)};
    return c;
  }
};

TEST_F(LeaseRunTest, AckNackExtendAndRejectInsideOneRun) {
  CreateTopicWith("jobs", 1);
  CreateTopicWith("dlq", 1);
  Fill("jobs", 40);
  SubscriptionConfig c = Config();
  c.dead_letter_topic = "dlq";
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  const absl::Time t0 = clock_.Now();
  auto r = Get("jobs", "w", 40);
  ASSERT_EQ(Offsets(r), Range(0, 40));
  for (const auto& rec : r) {
    EXPECT_EQ(rec.delivery.attempt, 1);
    EXPECT_EQ(rec.lease_deadline, t0 + absl::Seconds(10));
    EXPECT_EQ(rec.value, std::to_string(rec.delivery.offset));
  }
  EXPECT_EQ(State("jobs", "w").in_flight, 40);

  ASSERT_TRUE(AckOffsets(r, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20}).ok());
  EXPECT_TRUE(AckOffsets(r, {20}).ok());  // a repeat is a no-op
  Delivery wrong = r[21].delivery;
  wrong.attempt = 2;
  absl::Status s = subs().Ack("jobs", "w", {wrong});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("lease lost"));
  ASSERT_TRUE(
      subs().Nack("jobs", "w", r[11].delivery, absl::Seconds(1), "later").ok());
  auto extended =
      subs().ExtendLease("jobs", "w", r[12].delivery, absl::Seconds(60));
  ASSERT_TRUE(extended.ok()) << extended.status();
  ASSERT_TRUE(subs().Reject("jobs", "w", r[13].delivery, "bad").ok());
  auto dlq = ReadTopic("dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].value, "13");
  EXPECT_EQ(dlq[0].headers[kDlqAttemptsHeader], "1");
  EXPECT_EQ(dlq[0].headers[kDlqReasonHeader], "bad");
  SubscriptionPartitionState st = State("jobs", "w");
  EXPECT_EQ(st.ack_floor, 10);
  EXPECT_EQ(st.in_flight, 27);  // 40 - 11 acked - 1 nacked - 1 rejected
  EXPECT_EQ(st.waiting, 1);

  clock_.Advance(absl::Seconds(1));
  auto nacked = Get("jobs", "w", 40);
  ASSERT_EQ(Offsets(nacked), (std::vector<int64_t>{11}));
  EXPECT_EQ(nacked[0].delivery.attempt, 2);
  EXPECT_EQ(nacked[0].value, "11");
  ASSERT_TRUE(subs().Ack("jobs", "w", {nacked[0].delivery}).ok());

  // The run's lease ends (12 was extended): the rest wait for the backoff,
  // then come back at attempt 2, read from the log again.
  clock_.Advance(absl::Seconds(9));
  EXPECT_THAT(Get("jobs", "w", 40), IsEmpty());
  EXPECT_EQ(State("jobs", "w").waiting, 26);
  clock_.Advance(absl::Seconds(2));
  auto second = Get("jobs", "w", 40);
  std::vector<int64_t> expected = {10, 14, 15, 16, 17, 18, 19};
  for (int64_t o = 21; o < 40; ++o) expected.push_back(o);
  ASSERT_EQ(Offsets(second), expected);
  for (const auto& rec : second) {
    EXPECT_EQ(rec.delivery.attempt, 2);
    EXPECT_EQ(rec.value, std::to_string(rec.delivery.offset));
  }
  s = AckOffsets(r, {14});  // the first delivery's lease is lost
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(subs().Ack("jobs", "w", {r[12].delivery}).ok());
  std::vector<Delivery> all;
  for (const auto& rec : second) all.push_back(rec.delivery);
  ASSERT_TRUE(subs().Ack("jobs", "w", all).ok());
  st = State("jobs", "w");
  EXPECT_EQ(st.ack_floor, 40);
  EXPECT_EQ(st.in_flight, 0);
  EXPECT_EQ(st.backlog, 0);
}

TEST_F(LeaseRunTest, AnExpiredRunOnItsLastDeliveryIsDeadLettered) {
  CreateTopicWith("jobs", 1);
  CreateTopicWith("dlq", 1);
  Fill("jobs", 20);
  SubscriptionConfig c = Config();
  c.max_deliveries = 1;
  c.dead_letter_topic = "dlq";
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto r = Get("jobs", "w", 20);
  ASSERT_EQ(r.size(), 20u);
  ASSERT_TRUE(AckOffsets(r, {0, 1, 2, 7, 19}).ok());
  clock_.Advance(absl::Seconds(10));
  EXPECT_THAT(Get("jobs", "w", 20), IsEmpty());
  auto dlq = ReadTopic("dlq");
  std::set<std::string> values;
  for (const auto& d : dlq) {
    values.insert(d.value);
    EXPECT_EQ(d.headers.at(kDlqAttemptsHeader), "1");
  }
  EXPECT_EQ(dlq.size(), 15u);
  EXPECT_EQ(values.size(), 15u);
  EXPECT_FALSE(values.contains("7"));
  EXPECT_TRUE(values.contains("8"));
  SubscriptionPartitionState st = State("jobs", "w");
  EXPECT_EQ(st.ack_floor, 20);
  EXPECT_EQ(st.in_flight, 0);
}

TEST_F(LeaseRunTest, CleanRestartResumesTheRunsLease) {
  ASSERT_NO_FATAL_FAILURE(HandOutARunAndAckSome());
  Reopen();
  ExpectTheRunStillLeasedThenRedelivered();
}

// Rows an earlier build wrote: the delivery mark in a row of its own, the
// floor row holding the floor alone. Loading them keeps the run's lease and
// attempt count, and moves the mark into the floor row.
TEST_F(LeaseRunTest, AnEarlierBuildsMarkRowIsReadAndReplaced) {
  ASSERT_NO_FATAL_FAILURE(HandOutARunAndAckSome());
  ASSERT_NO_FATAL_FAILURE(WithTablesOnly([&](TableStore& tables) {
    const FloorRow row = FloorRowIn(tables);
    ASSERT_EQ(row.floor, 1);
    ASSERT_EQ(row.mark, 30);
    TableStore::Batch old;
    old.Put(Table::kSubscriptions, FloorKey(), EncodeInt64Row(row.floor));
    old.Put(Table::kSubscriptions, MarkKey(),
            EncodeMarkRow(*row.mark, row.mark_deadline_ms));
    ASSERT_TRUE(tables.Write(old, /*sync=*/true).ok());
  }));
  Open();
  ASSERT_NO_FATAL_FAILURE(WithTablesOnly([&](TableStore& tables) {
    auto mark = tables.Get(Table::kSubscriptions, MarkKey());
    ASSERT_TRUE(mark.ok());
    EXPECT_EQ(*mark, std::nullopt);
    const FloorRow row = FloorRowIn(tables);
    EXPECT_EQ(row.floor, 1);
    EXPECT_EQ(row.mark, 30);
  }));
  Open();
  ExpectTheRunStillLeasedThenRedelivered();
}

// A mark row is only written by an earlier build, so it is newer than the
// mark a floor row holds (written before a downgrade): it replaces it.
TEST_F(LeaseRunTest, AnEarlierBuildsMarkRowReplacesTheFloorRowsMark) {
  ASSERT_NO_FATAL_FAILURE(HandOutARunAndAckSome());
  ASSERT_NO_FATAL_FAILURE(WithTablesOnly([&](TableStore& tables) {
    const FloorRow row = FloorRowIn(tables);
    ASSERT_EQ(row.mark, 30);
    ASSERT_TRUE(tables
                    .Put(Table::kSubscriptions, MarkKey(),
                         EncodeMarkRow(20, row.mark_deadline_ms),
                         /*sync=*/true)
                    .ok());
  }));
  Open();
  ASSERT_NO_FATAL_FAILURE(WithTablesOnly(
      [&](TableStore& tables) { EXPECT_EQ(FloorRowIn(tables).mark, 20); }));
  Open();
  // Offsets 20 to 28 count as never delivered (29 was acked).
  auto r = Get("jobs", "w", 30);
  EXPECT_EQ(Offsets(r), Range(20, 29));
  for (const auto& rec : r) EXPECT_EQ(rec.delivery.attempt, 1);
}

void LeaseRunTest::HandOutARunAndAckSome() {
  CreateTopicWith("jobs", 1);
  Fill("jobs", 30);
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", Config()).ok());
  auto r = Get("jobs", "w", 30);
  ASSERT_EQ(r.size(), 30u);
  ASSERT_TRUE(AckOffsets(r, {0, 5, 6, 29}).ok());
}

void LeaseRunTest::ExpectTheRunStillLeasedThenRedelivered() {
  // Still leased (the delivery mark stands for the run).
  EXPECT_THAT(Get("jobs", "w", 30), IsEmpty());
  clock_.Advance(absl::Seconds(12));  // lease (10 s) and backoff (2 s)
  auto again = Get("jobs", "w", 30);
  std::vector<int64_t> expected;
  for (int64_t o = 1; o < 29; ++o) {
    if (o != 5 && o != 6) expected.push_back(o);
  }
  ASSERT_EQ(Offsets(again), expected);
  for (const auto& rec : again) {
    EXPECT_EQ(rec.delivery.attempt, 2);
    EXPECT_EQ(rec.value, std::to_string(rec.delivery.offset));
  }
}

// A record with state of its own (a not-before time ahead) stops the run;
// records after it are read into the window and handed out with a
// delivery row each, so a restart still knows they were delivered.
TEST_F(LeaseRunTest, ADelayedRecordEndsTheRunAndLaterOnesKeepTheirLeases) {
  CreateTopicWith("jobs", 1, "deliver-at");
  Fill("jobs", 20);
  const int64_t at = clock_.NowMillis() + 5000;
  Put("jobs", 0, std::nullopt, "delayed",
      {{.key = "deliver-at", .value = std::to_string(at)}});
  Fill("jobs", 19);
  SubscriptionConfig c = Config();
  c.lease = absl::Seconds(30);
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto r = Get("jobs", "w", 50);
  std::vector<int64_t> expected = Range(0, 20);
  for (int64_t o = 21; o < 40; ++o) expected.push_back(o);
  ASSERT_EQ(Offsets(r), expected);
  Reopen();
  EXPECT_THAT(Get("jobs", "w", 50), IsEmpty());
  clock_.Advance(absl::Seconds(5));
  auto delayed = Get("jobs", "w", 50);
  ASSERT_EQ(Offsets(delayed), (std::vector<int64_t>{20}));
  EXPECT_EQ(delayed[0].delivery.attempt, 1);
  EXPECT_EQ(delayed[0].value, "delayed");
  clock_.Advance(absl::Seconds(27));  // the others' lease and backoff
  auto again = Get("jobs", "w", 50);
  ASSERT_EQ(Offsets(again), expected);
  for (const auto& rec : again) EXPECT_EQ(rec.delivery.attempt, 2);
}

TEST_F(LeaseRunTest, TheWindowCountsRecordsInRuns) {
  CreateTopicWith("jobs", 1);
  Fill("jobs", 100);
  SubscriptionConfig c = Config();
  c.max_unacked_records = 20;
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", c).ok());
  auto r = Get("jobs", "w", 100);
  ASSERT_EQ(Offsets(r), Range(0, 20));
  EXPECT_THAT(Get("jobs", "w", 100), IsEmpty());
  ASSERT_TRUE(AckOffsets(r, {3, 4, 5, 6, 7}).ok());
  EXPECT_EQ(Offsets(Get("jobs", "w", 100)), Range(20, 25));
}

TEST_F(LeaseRunTest, RetentionTakesLeasedRecordsOfARun) {
  CreateTopicWith("jobs", 1);
  Fill("jobs", 30);
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", Config()).ok());
  auto r = Get("jobs", "w", 30);
  ASSERT_EQ(r.size(), 30u);
  ASSERT_TRUE(engine_->DeleteRecordsBefore({"jobs", 0}, 20).ok());
  clock_.Advance(absl::Seconds(12));
  auto again = Get("jobs", "w", 30);
  ASSERT_EQ(Offsets(again), Range(20, 30));
  for (const auto& rec : again) EXPECT_EQ(rec.delivery.attempt, 2);
  std::vector<Delivery> ds;
  for (const auto& rec : again) ds.push_back(rec.delivery);
  ASSERT_TRUE(subs().Ack("jobs", "w", ds).ok());
  SubscriptionPartitionState st = State("jobs", "w");
  EXPECT_EQ(st.ack_floor, 30);
  EXPECT_EQ(st.in_flight, 0);
  EXPECT_THAT(engine_->Metrics(),
              HasSubstr("spool_subscription_lost_to_retention_total{topic="
                        "\"jobs\",subscription=\"w\"} 20"));
}

// Retention passes the cursor while a run is leased: its records are
// gone, counted as lost (records never read are not counted), and nothing
// of it comes back.
TEST_F(LeaseRunTest, RetentionPastTheCursorDropsWholeRuns) {
  CreateTopicWith("jobs", 1);
  Fill("jobs", 30);
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", Config()).ok());
  ASSERT_EQ(Get("jobs", "w", 30).size(), 30u);
  Fill("jobs", 30);
  ASSERT_TRUE(engine_->DeleteRecordsBefore({"jobs", 0}, 50).ok());
  auto r = Get("jobs", "w", 30);
  ASSERT_EQ(Offsets(r), Range(50, 60));
  SubscriptionPartitionState st = State("jobs", "w");
  EXPECT_EQ(st.in_flight, 10);
  EXPECT_EQ(st.ack_floor, 50);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(Offsets(Get("jobs", "w", 30)), Range(50, 60));
  EXPECT_THAT(engine_->Metrics(),
              HasSubstr("spool_subscription_lost_to_retention_total{topic="
                        "\"jobs\",subscription=\"w\"} 30"));
}

// Runs resume reading a compressed batch in the middle, across calls.
TEST_F(LeaseRunTest, RunsResumeInsideCompressedBatches) {
  TopicConfig tc;
  tc.partitions = 1;
  tc.compression = Compression::kZstd;
  ASSERT_TRUE(engine_->CreateTopic("jobs", tc).ok());
  for (int b = 0; b < 3; ++b) {
    std::vector<Record> batch;
    for (int i = 0; i < 25; ++i) {
      batch.push_back({.value = "z" + std::to_string(b * 25 + i)});
    }
    ASSERT_TRUE(engine_->ProduceBatch("jobs", batch, {.partition = 0}).ok());
  }
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", Config()).ok());
  std::vector<ReceivedBatch> kept;  // views must outlive later reads
  for (int call = 0; call < 5; ++call) {
    auto b = subs().ReceiveBatch("jobs", "w", {.max_records = 16});
    ASSERT_TRUE(b.ok()) << b.status();
    kept.push_back(*std::move(b));
  }
  int64_t next = 0;
  for (const ReceivedBatch& b : kept) {
    for (const ReceivedRecordView& v : b) {
      EXPECT_EQ(v.delivery.offset, next);
      EXPECT_EQ(v.record.offset, next);
      ASSERT_TRUE(v.record.value.has_value());
      EXPECT_EQ(*v.record.value, "z" + std::to_string(next));
      ++next;
    }
  }
  EXPECT_EQ(next, 75);
}

// Offsets that compaction removed are gaps inside a run: no bit and no
// timestamp of their own. Acks, the oldest-unacked age and lease expiry
// see exactly the records that are there.
TEST_F(LeaseRunTest, ARunOverACompactedLogSkipsItsGaps) {
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  EngineOptions o = Options();
  o.cleaner_threads = 0;  // compacted below, when the test says
  Open(o);
  TopicConfig c = SmallTopic(1);
  c.cleanup_policy = CleanupPolicy::kCompact;
  ASSERT_TRUE(engine_->CreateTopic("jobs", c).ok());
  // Every fifth record has a key of its own; the others overwrite three
  // keys, so compaction leaves gaps of up to 4 offsets. One second apart.
  for (int i = 0; i < 400; ++i) {
    const std::string key =
        i % 5 == 0 ? "own-" + std::to_string(i) : "k" + std::to_string(i % 3);
    ASSERT_TRUE(engine_
                    ->Produce("jobs", {.key = key, .value = std::to_string(i)},
                              {.partition = 0})
                    .ok());
    clock_.Advance(absl::Seconds(1));
  }
  auto compacted = engine_->Compact({"jobs", 0});
  ASSERT_TRUE(compacted.ok()) << compacted.status();
  ASSERT_GT(compacted->records_removed, 200);
  // Then 100 offsets without a gap (more than a word of run bits).
  const int64_t tail = LogEnd({"jobs", 0});
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(
        engine_
            ->Produce("jobs",
                      {.key = "tail-" + std::to_string(i), .value = "t"},
                      {.partition = 0})
            .ok());
    clock_.Advance(absl::Seconds(1));
  }
  std::vector<int64_t> there;  // offsets the log still has
  for (int64_t next = 0;;) {
    auto f = engine_->Fetch({"jobs", 0}, next);
    ASSERT_TRUE(f.ok()) << f.status();
    if (f->batches.empty()) break;
    ASSERT_TRUE(f->ForEachRecord([&](const RecordView& r) {
                   there.push_back(r.offset);
                   return true;
                 }).ok());
    next = f->next_offset;
  }
  ASSERT_GT(there.back() + 1 - static_cast<int64_t>(there.size()), 200);
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", Config()).ok());
  auto r = Get("jobs", "w", 500);
  ASSERT_EQ(Offsets(r), there);
  // Acked: the first 10 records, then all but every seventh.
  std::set<int64_t> acked;
  std::vector<int64_t> unacked;
  for (size_t k = 0; k < r.size(); ++k) {
    if (k < 10 || k % 7 != 0) {
      acked.insert(r[k].delivery.offset);
    } else {
      unacked.push_back(r[k].delivery.offset);
    }
  }
  ASSERT_TRUE(AckOffsets(r, acked).ok());
  // The oldest unacked record's timestamp is the run's: in seconds, each
  // record's own.
  auto expect_oldest = [&](size_t k) {
    ASSERT_EQ(unacked.front(), r[k].delivery.offset);
    const int64_t age_ms = clock_.NowMillis() - r[k].timestamp;
    EXPECT_THAT(engine_->Metrics(),
                HasSubstr(absl::StrFormat(
                    "spool_subscription_oldest_unacked_age_seconds{topic="
                    "\"jobs\",subscription=\"w\"} %d\n",
                    age_ms / 1000)));
  };
  expect_oldest(14);
  // Then 30 and 70 records into the stretch without gaps (in and past its
  // first 64).
  for (int64_t into : {30, 70}) {
    size_t k = 0;
    while (r[k].delivery.offset < tail + into) ++k;
    std::set<int64_t> more;
    while (unacked.front() < r[k].delivery.offset) {
      more.insert(unacked.front());
      unacked.erase(unacked.begin());
    }
    ASSERT_TRUE(AckOffsets(r, more).ok());
    while (r[k].delivery.offset != unacked.front()) ++k;
    expect_oldest(k);
  }
  clock_.Advance(absl::Seconds(12));  // lease (10 s) and backoff (2 s)
  auto again = Get("jobs", "w", 500);
  EXPECT_EQ(Offsets(again), unacked);
  for (const auto& rec : again) EXPECT_EQ(rec.delivery.attempt, 2);
}

// Runs acked before their deadline leave stale timers behind the timer of
// an older run still pending; they are dropped in one sweep once they
// outnumber the runs by 1,024. The sweep keeps the timers of runs still
// pending, whose records must come back when their lease runs out.
TEST_F(LeaseRunTest, DroppingStaleRunTimersKeepsTheLiveRunsTimers) {
  CreateTopicWith("jobs", 1);
  constexpr int kRuns = 1100;
  for (int i = 0; i < kRuns + 1; ++i) Fill("jobs", 16);
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", Config()).ok());
  auto held = Get("jobs", "w", 16);  // not acked
  ASSERT_EQ(Offsets(held), Range(0, 16));
  for (int i = 0; i < kRuns; ++i) {
    auto r = Get("jobs", "w", 16);
    ASSERT_EQ(r.size(), 16u);
    std::vector<Delivery> ds;
    for (const auto& rec : r) ds.push_back(rec.delivery);
    ASSERT_TRUE(subs().Ack("jobs", "w", ds, {.sync = false}).ok());
  }
  clock_.Advance(absl::Seconds(12));  // lease (10 s) and backoff (2 s)
  auto again = Get("jobs", "w", 16);
  EXPECT_EQ(Offsets(again), Offsets(held));
  for (const auto& rec : again) EXPECT_EQ(rec.delivery.attempt, 2);
}

TEST_F(LeaseRunTest, OldestUnackedAgeCountsRecordsInRuns) {
  CreateTopicWith("jobs", 1);
  Fill("jobs", 20);
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", Config()).ok());
  auto r = Get("jobs", "w", 20);
  ASSERT_EQ(r.size(), 20u);
  ASSERT_TRUE(AckOffsets(r, {0, 1, 2}).ok());
  clock_.Advance(absl::Seconds(7));
  EXPECT_THAT(engine_->Metrics(),
              HasSubstr("spool_subscription_oldest_unacked_age_seconds{topic="
                        "\"jobs\",subscription=\"w\"} 7"));
}

}  // namespace
}  // namespace spool
