// ReceiveBatch: records handed out as views into log bytes the batch
// holds. Each test checks the viewed data against what was produced, at a
// moment when the subscription no longer points at it (acked, moved,
// redelivered, compressed, held back behind a key or a not-before time).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/subscription_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class SubscriptionBatchTest : public testing_util::SubscriptionTestBase {
 protected:
  ReceivedBatch GetBatch(const std::string& topic, const std::string& sub,
                         int n) {
    auto r = subs().ReceiveBatch(topic, sub, {.max_records = n});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : ReceivedBatch{};
  }

  static std::vector<std::string> BatchValues(const ReceivedBatch& b) {
    std::vector<std::string> out;
    for (const ReceivedRecordView& r : b) {
      out.push_back(r.record.value.has_value() ? std::string(*r.record.value)
                                               : "<null>");
    }
    return out;
  }

  static std::vector<Delivery> Deliveries(const ReceivedBatch& b) {
    std::vector<Delivery> out;
    for (const ReceivedRecordView& r : b) out.push_back(r.delivery);
    return out;
  }
};

TEST_F(SubscriptionBatchTest, ViewsOutliveAcksMovesAndLaterReads) {
  CreateTopicWith("jobs", 1);
  Put("jobs", 0, "k0", "first", {{"h", std::string("x")}, {"n", std::nullopt}});
  Put("jobs", 0, std::nullopt, "second");
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());

  ReceivedBatch moved;
  {
    ReceivedBatch got = GetBatch("jobs", "w", 10);
    moved = std::move(got);
  }
  ASSERT_EQ(moved.size(), 2u);
  ASSERT_TRUE(subs().Ack("jobs", "w", Deliveries(moved)).ok());
  // More reads and acks while the first batch is still held.
  for (int i = 0; i < 50; ++i) Put("jobs", 0, "k", "later" + std::to_string(i));
  ReceivedBatch later = GetBatch("jobs", "w", 100);
  ASSERT_EQ(later.size(), 50u);
  ASSERT_TRUE(subs().Ack("jobs", "w", Deliveries(later)).ok());

  const ReceivedRecordView& a = moved.records[0];
  EXPECT_EQ(a.delivery.offset, 0);
  EXPECT_EQ(a.record.offset, 0);
  EXPECT_GT(a.record.timestamp, 0);
  ASSERT_TRUE(a.record.key.has_value());
  EXPECT_EQ(*a.record.key, "k0");
  EXPECT_EQ(*a.record.value, "first");
  ASSERT_EQ(a.record.headers.size(), 2u);
  EXPECT_EQ(a.record.headers[0].key, "h");
  EXPECT_EQ(a.record.headers[0].value, std::optional<std::string_view>("x"));
  EXPECT_EQ(a.record.headers[1].key, "n");
  EXPECT_FALSE(a.record.headers[1].value.has_value());
  EXPECT_FALSE(moved.records[1].record.key.has_value());
  EXPECT_EQ(*moved.records[1].record.value, "second");
  EXPECT_EQ(BatchValues(later).back(), "later49");
}

// Records the window holds are handed out from memory: a broken held view
// would fall back to reading the log again, which this counts.
TEST_F(SubscriptionBatchTest, HeldRecordsAreHandedOutWithoutReadingTheLog) {
  CreateTopicWith("jobs", 1);
  for (int i = 0; i < 10; ++i) {
    Put("jobs", 0, "k" + std::to_string(i), "v" + std::to_string(i),
        {{"i", std::to_string(i)}});
  }
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());
  EXPECT_THAT(BatchValues(GetBatch("jobs", "w", 3)),
              ElementsAre("v0", "v1", "v2"));  // reads the log once
  const uint64_t reads = fs_.counters().reads;
  ReceivedBatch held = GetBatch("jobs", "w", 7);
  EXPECT_EQ(fs_.counters().reads, reads);
  ASSERT_THAT(BatchValues(held),
              ElementsAre("v3", "v4", "v5", "v6", "v7", "v8", "v9"));
  EXPECT_EQ(*held.records[6].record.key, "k9");
  EXPECT_EQ(held.records[6].record.headers[0].value,
            std::optional<std::string_view>("9"));
}

// Consumers that keep receiving copy each byte of the log once: a read
// ends at a batch start (FetchOptions::end_at_indexed_batch), so the next
// read does not copy again a batch cut off at the end of the last one.
// Batches of 40 KB against 256 KiB reads: each read would cut one off.
TEST_F(SubscriptionBatchTest, ConsumersCopyEachLogByteOnce) {
  CreateTopicWith("big", 1);
  constexpr int kBatches = 30, kPerBatch = 400;
  const std::string value(100, 'v');
  for (int b = 0; b < kBatches; ++b) {
    std::vector<Record> batch(kPerBatch, Record{.value = value});
    ASSERT_TRUE(engine_->ProduceBatch("big", batch, {.partition = 0}).ok());
  }
  ASSERT_TRUE(subs().CreateSubscription("big", "w", {}).ok());
  // The log's segment files and what reads have copied out of them.
  auto log_bytes = [&](bool read) {
    uint64_t sum = 0;
    for (const std::string& path : fs_.ListFiles()) {
      if (!path.ends_with(".log") ||
          path.find("/big-0/") == std::string::npos) {
        continue;
      }
      absl::StatusOr<uint64_t> n = fs_.BytesRead(path);
      if (!read) {
        absl::StatusOr<FileInfo> info = fs_.Stat(path);
        n = info.ok() ? absl::StatusOr<uint64_t>(info->size) : info.status();
      }
      EXPECT_TRUE(n.ok()) << path << ": " << n.status();
      sum += n.value_or(0);
    }
    return sum;
  };
  const uint64_t size = log_bytes(/*read=*/false);
  const uint64_t before = log_bytes(/*read=*/true);
  ASSERT_GT(size, uint64_t{kBatches} * kPerBatch * 100);

  int64_t received = 0;
  std::vector<DeliveryRange> acks;
  while (received < kBatches * kPerBatch) {
    auto got = subs().ReceiveBatch("big", "w",
                                   {.max_records = 1000, .ack_ranges = acks});
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_FALSE(got->empty()) << "after " << received;
    received += static_cast<int64_t>(got->size());
    acks = got->Ranges();
  }
  ASSERT_TRUE(subs().AckRanges("big", "w", acks).ok());
  EXPECT_EQ(received, kBatches * kPerBatch);
  const uint64_t copied = log_bytes(/*read=*/true) - before;
  EXPECT_GE(copied, size);
  EXPECT_LE(copied, size + size / 100) << "log bytes copied more than once";
}

// A batch keeps log bytes, not the segment files: it may outlive the
// engine.
TEST_F(SubscriptionBatchTest, ABatchHoldsNoFileOpen) {
  CreateTopicWith("jobs", 1);
  for (int i = 0; i < 3; ++i)
    Put("jobs", 0, std::nullopt, "v" + std::to_string(i));
  ASSERT_TRUE(subs().CreateSubscription("jobs", "w", {}).ok());
  ReceivedBatch kept = GetBatch("jobs", "w", 10);
  ASSERT_EQ(kept.size(), 3u);
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  const FaultInjectionCounters c = fs_.counters();
  EXPECT_EQ(c.opens, c.closes) << "a file is still open";
  EXPECT_THAT(BatchValues(kept), ElementsAre("v0", "v1", "v2"));
  Open();
}

TEST_F(SubscriptionBatchTest, CompressedBatchesAndRedeliveries) {
  TopicConfig c;
  c.partitions = 1;
  c.compression = Compression::kZstd;
  ASSERT_TRUE(engine_->CreateTopic("z", c).ok());
  std::vector<Record> records;
  for (int i = 0; i < 40; ++i) {
    records.push_back(Record{.value = "zstd value " + std::to_string(i)});
  }
  ASSERT_TRUE(engine_->ProduceBatch("z", records, {.partition = 0}).ok());
  SubscriptionConfig sc;
  sc.lease = absl::Seconds(10);
  sc.backoff = {.kind = BackoffPolicy::Kind::kFixed,
                .initial = absl::Seconds(1)};
  ASSERT_TRUE(subs().CreateSubscription("z", "w", sc).ok());

  ReceivedBatch first = GetBatch("z", "w", 15);
  ReceivedBatch rest = GetBatch("z", "w", 100);
  ASSERT_EQ(first.size(), 15u);
  ASSERT_EQ(rest.size(), 25u);
  EXPECT_EQ(BatchValues(first)[14], "zstd value 14");
  EXPECT_EQ(rest.records[0].record.offset, 15);
  EXPECT_EQ(BatchValues(rest)[24], "zstd value 39");
  ASSERT_TRUE(subs().Ack("z", "w", Deliveries(rest)).ok());

  // The first 15 leases run out: the redelivery reads the log again.
  clock_.Advance(absl::Seconds(11));
  ReceivedBatch again = GetBatch("z", "w", 100);
  ASSERT_EQ(again.size(), 15u);
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again.records[i].delivery.attempt, 2);
    EXPECT_EQ(again.records[i].record.offset, static_cast<int64_t>(i));
    EXPECT_EQ(*again.records[i].record.value,
              "zstd value " + std::to_string(i));
    // Both deliveries' views are readable at once.
    EXPECT_EQ(*again.records[i].record.value, *first.records[i].record.value);
  }
  EXPECT_EQ(again.records[3].record.timestamp,
            first.records[3].record.timestamp);
}

TEST_F(SubscriptionBatchTest, RecordsHeldBackKeepTheirData) {
  CreateTopicWith("conv", 1, "not-before");
  SubscriptionConfig sc;
  sc.ordered_by_key = true;
  ASSERT_TRUE(subs().CreateSubscription("conv", "bot", sc).ok());
  Put("conv", 0, "alice", "a1");
  Put("conv", 0, "alice", "a2", {{"trace", std::string("t2")}});
  const int64_t later_ms = absl::ToUnixMillis(clock_.Now() + absl::Minutes(1));
  Put("conv", 0, "bob", "b1", {{"not-before", std::to_string(later_ms)}});
  Put("conv", 0, "alice", "a3");

  ReceivedBatch one = GetBatch("conv", "bot", 10);
  EXPECT_THAT(BatchValues(one), ElementsAre("a1"));
  ASSERT_TRUE(subs().Ack("conv", "bot", Deliveries(one)).ok());
  ReceivedBatch two = GetBatch("conv", "bot", 10);
  ASSERT_THAT(BatchValues(two), ElementsAre("a2"));
  ASSERT_EQ(two.records[0].record.headers.size(), 1u);
  EXPECT_EQ(two.records[0].record.headers[0].value,
            std::optional<std::string_view>("t2"));
  EXPECT_EQ(*two.records[0].record.key, "alice");
  ASSERT_TRUE(subs().Ack("conv", "bot", Deliveries(two)).ok());
  ReceivedBatch three = GetBatch("conv", "bot", 10);
  EXPECT_THAT(BatchValues(three), ElementsAre("a3"));
  ASSERT_TRUE(subs().Ack("conv", "bot", Deliveries(three)).ok());
  EXPECT_THAT(GetBatch("conv", "bot", 10), IsEmpty());
  clock_.Advance(absl::Minutes(1));
  ReceivedBatch bob = GetBatch("conv", "bot", 10);
  ASSERT_THAT(BatchValues(bob), ElementsAre("b1"));
  EXPECT_EQ(*bob.records[0].record.key, "bob");
  EXPECT_EQ(bob.records[0].record.offset, 2);
}

TEST_F(SubscriptionBatchTest, ReceiveCopiesWhatReceiveBatchViews) {
  CreateTopicWith("jobs", 2);
  for (int i = 0; i < 8; ++i) {
    Put("jobs", i % 2, "key" + std::to_string(i), "v" + std::to_string(i),
        {{"i", std::to_string(i)}});
  }
  ASSERT_TRUE(subs().CreateSubscription("jobs", "copy", {}).ok());
  ASSERT_TRUE(subs().CreateSubscription("jobs", "view", {}).ok());
  std::vector<ReceivedRecord> copies = Get("jobs", "copy", 8);
  ReceivedBatch views = GetBatch("jobs", "view", 8);
  ASSERT_EQ(copies.size(), 8u);
  ASSERT_EQ(views.size(), 8u);
  for (size_t i = 0; i < copies.size(); ++i) {
    const ReceivedRecord& c = copies[i];
    const ReceivedRecordView& v = views.records[i];
    EXPECT_EQ(c.delivery.partition, v.delivery.partition);
    EXPECT_EQ(c.delivery.offset, v.delivery.offset);
    EXPECT_EQ(c.key, std::optional<std::string>(*v.record.key));
    EXPECT_EQ(c.value, std::optional<std::string>(*v.record.value));
    EXPECT_EQ(c.timestamp, v.record.timestamp);
    ASSERT_EQ(c.headers.size(), 1u);
    EXPECT_EQ(c.headers[0].value,
              std::optional<std::string>(*v.record.headers[0].value));
  }
}

}  // namespace
}  // namespace spool
