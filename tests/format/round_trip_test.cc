// Randomized build -> scan -> decode round trips against the records that
// went in. Seeded; rerun a failure with SPOOL_TEST_SEED=<seed>.

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "format/batch_internal.h"
#include "format/format_test_util.h"
#include "gtest/gtest.h"
#include "spool/record.h"

namespace spool {
namespace {

constexpr int64_t kTs = 1700000000000;

BatchBuilderOptions RandomOptions(std::mt19937_64& rng, int64_t base_offset) {
  BatchBuilderOptions o;
  o.compression = rng() % 2 ? Compression::kZstd : Compression::kNone;
  o.zstd_level = 1 + static_cast<int>(rng() % 5);
  o.timestamp_type = rng() % 4 == 0 ? TimestampType::kLogAppendTime
                                    : TimestampType::kCreateTime;
  o.base_offset = base_offset;
  o.partition_leader_epoch = static_cast<int32_t>(rng() % 3) - 1;
  if (rng() % 2) {
    o.producer_id = static_cast<int64_t>(rng() % 100000);
    o.producer_epoch = static_cast<int16_t>(rng() % 10);
    o.base_sequence = static_cast<int32_t>(rng() % 1000);
    o.transactional = rng() % 3 == 0;
  }
  return o;
}

struct Expected {
  BatchBuilderOptions options;
  std::vector<Record> records;
};

void CheckHeader(const BatchHeader& h, const Expected& e) {
  const BatchBuilderOptions& o = e.options;
  int32_t n = static_cast<int32_t>(e.records.size());
  EXPECT_EQ(h.base_offset, o.base_offset);
  EXPECT_EQ(h.partition_leader_epoch, o.partition_leader_epoch);
  EXPECT_EQ(h.records_count, n);
  EXPECT_EQ(h.last_offset_delta, std::max(n - 1, 0));
  EXPECT_EQ(h.compression(), n == 0 ? Compression::kNone : o.compression);
  EXPECT_EQ(h.timestamp_type(), o.timestamp_type);
  EXPECT_EQ(h.is_transactional(), o.transactional);
  EXPECT_EQ(h.producer_id, o.producer_id);
  EXPECT_EQ(h.producer_epoch, o.producer_epoch);
  EXPECT_EQ(h.base_sequence, o.base_sequence);
  int64_t max_ts = kNoTimestamp;
  for (const Record& r : e.records) max_ts = std::max(max_ts, r.timestamp);
  EXPECT_EQ(h.max_timestamp, max_ts);
  EXPECT_EQ(h.base_timestamp, n == 0 ? kNoTimestamp : e.records[0].timestamp);
}

TEST(RoundTripTest, RandomBatchesDecodeToTheRecordsThatWentIn) {
  uint64_t seed = testing::TestSeed();
  SCOPED_TRACE(
      absl::StrFormat("seed=%d (rerun with SPOOL_TEST_SEED=%d)", seed, seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 20; ++round) {
    // A "segment" of several batches, concatenated.
    std::string log;
    std::vector<Expected> expected;
    int64_t offset = static_cast<int64_t>(rng() % 1000000);
    for (int b = 0; b < 8; ++b) {
      Expected e;
      e.options = RandomOptions(rng, offset);
      int count = rng() % 10 == 0 ? 0 : static_cast<int>(rng() % 40) + 1;
      e.records = testing::RandomRecords(rng, count, kTs + round * 1000);
      RecordBatchBuilder builder(e.options);
      for (const Record& r : e.records) builder.Add(r);
      ASSERT_TRUE(builder.BuildInto(&log).ok());
      offset += std::max(count, 1);
      expected.push_back(std::move(e));
    }
    BatchScanner scanner(log);
    ScannedBatch sb;
    size_t index = 0;
    while (scanner.Next(&sb)) {
      SCOPED_TRACE(absl::StrFormat("round %d batch %d", round, index));
      ASSERT_LT(index, expected.size());
      const Expected& e = expected[index++];
      CheckHeader(sb.batch.header(), e);
      ASSERT_TRUE(sb.batch.Validate().ok()) << sb.batch.Validate();
      absl::StatusOr<std::vector<Record>> got = DecodeRecords(sb.batch);
      ASSERT_TRUE(got.ok()) << got.status();
      std::string why;
      EXPECT_TRUE(testing::RecordsEqual(
          *got,
          testing::ExpectedAsRead(e.records, e.options.timestamp_type,
                                  sb.batch.header().max_timestamp),
          &why))
          << why;
      // Offsets are base + position in the batch.
      RecordIterator it(sb.batch);
      RecordView r;
      int64_t next = e.options.base_offset;
      while (it.Next(&r)) EXPECT_EQ(r.offset, next++);
      EXPECT_TRUE(it.status().ok());
    }
    EXPECT_EQ(scanner.stop_reason(), ScanStop::kEnd) << scanner.status();
    EXPECT_EQ(index, expected.size());
    EXPECT_EQ(scanner.valid_end(), log.size());
  }
}

TEST(RoundTripTest, LargeRecordsAndManyHeadersSurviveBothCodecs) {
  Record big;
  big.key = std::string(100000, 'k');
  big.value = std::string(3 << 20, 'v');
  big.timestamp = kTs;
  for (int i = 0; i < 300; ++i) {
    big.headers.push_back(
        Header{"h" + std::to_string(i),
               i % 2 ? std::optional<std::string>("x") : std::nullopt});
  }
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    BatchBuilderOptions options;
    options.compression = c;
    std::string batch = testing::BuildBatch({big, big}, options);
    absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
    ASSERT_TRUE(view.ok());
    absl::StatusOr<std::vector<Record>> got = DecodeRecords(*view);
    ASSERT_TRUE(got.ok()) << got.status();
    std::string why;
    EXPECT_TRUE(testing::RecordsEqual(*got, {big, big}, &why)) << why;
  }
}

}  // namespace
}  // namespace spool
