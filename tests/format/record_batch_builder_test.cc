#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "format/batch_internal.h"
#include "format/coding.h"
#include "format/format_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/record.h"

namespace spool {
namespace {

constexpr int64_t kTs = 1700000000000;

RecordBatchView ParseOrDie(const std::string& bytes) {
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(bytes);
  EXPECT_TRUE(view.ok()) << view.status();
  return view.ok() ? *view : RecordBatchView();
}

TEST(RecordBatchBuilderTest, EmptyBuilderBuildsAnEmptyBatchLikeKafka) {
  BatchBuilderOptions options;
  options.compression = Compression::kZstd;
  RecordBatchBuilder builder(options);
  absl::StatusOr<std::string> batch = builder.Build();
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->size(), 61u);
  RecordBatchView view = ParseOrDie(*batch);
  const BatchHeader& h = view.header();
  EXPECT_EQ(h.records_count, 0);
  EXPECT_EQ(h.last_offset_delta, 0);
  EXPECT_EQ(h.base_timestamp, -1);
  EXPECT_EQ(h.max_timestamp, -1);
  EXPECT_EQ(h.compression(), Compression::kNone);
  EXPECT_TRUE(view.Validate().ok());
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(view);
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
}

TEST(RecordBatchBuilderTest, RejectsReadOnlyCodecs) {
  for (Compression c :
       {Compression::kGzip, Compression::kSnappy, Compression::kLz4}) {
    BatchBuilderOptions options;
    options.compression = c;
    RecordBatchBuilder builder(options);
    builder.Add("k", "v", {}, kTs);
    absl::StatusOr<std::string> batch = builder.Build();
    ASSERT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(
        std::string(batch.status().message()),
        ::testing::HasSubstr(absl::StrCat(
            "cannot write ", std::string(CompressionName(c)), " batches")));
  }
}

TEST(RecordBatchBuilderTest, RejectsZstdLevelOutOfRange) {
  BatchBuilderOptions options;
  options.compression = Compression::kZstd;
  options.zstd_level = 99;
  RecordBatchBuilder builder(options);
  builder.Add("k", "v", {}, kTs);
  std::string out = "prefix";
  absl::Status s = builder.BuildInto(&out);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("zstd level 99"));
  EXPECT_EQ(out, "prefix");  // nothing half-written
}

TEST(RecordBatchBuilderTest,
     BaseTimestampIsTheFirstRecordsAndDeltasMayBeNegative) {
  RecordBatchBuilder builder;
  builder.Add("a", "1", {}, kTs);
  builder.Add("b", "2", {}, kTs - 50);
  builder.Add("c", "3", {}, kTs + 20);
  absl::StatusOr<std::string> batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  RecordBatchView view = ParseOrDie(*batch);
  EXPECT_EQ(view.header().base_timestamp, kTs);
  EXPECT_EQ(view.header().max_timestamp, kTs + 20);
  EXPECT_EQ(view.header().last_offset_delta, 2);
  RecordIterator it(view);
  RecordView r;
  std::vector<int64_t> deltas, timestamps, offsets;
  while (it.Next(&r)) {
    deltas.push_back(r.timestamp_delta);
    timestamps.push_back(r.timestamp);
    offsets.push_back(r.offset);
  }
  ASSERT_TRUE(it.status().ok()) << it.status();
  EXPECT_EQ(deltas, (std::vector<int64_t>{0, -50, 20}));
  EXPECT_EQ(timestamps, (std::vector<int64_t>{kTs, kTs - 50, kTs + 20}));
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 2}));
}

TEST(RecordBatchBuilderTest, MissingTimestampMeansNowAtTheFirstAdd) {
  int64_t before = absl::ToUnixMillis(absl::Now());
  RecordBatchBuilder builder;
  builder.Add("a", "1");
  builder.Add("b", "2", {}, before + 100000);
  builder.Add("c", "3");
  int64_t after = absl::ToUnixMillis(absl::Now());
  absl::StatusOr<std::string> batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  absl::StatusOr<std::vector<Record>> records =
      DecodeRecords(ParseOrDie(*batch));
  ASSERT_TRUE(records.ok());
  int64_t now = (*records)[0].timestamp;
  EXPECT_GE(now, before);
  EXPECT_LE(now, after);
  EXPECT_EQ((*records)[2].timestamp, now);
}

TEST(RecordBatchBuilderTest,
     LogAppendTimeSetsAttributeBitAndOverridesRecordTimestamps) {
  BatchBuilderOptions options;
  options.timestamp_type = TimestampType::kLogAppendTime;
  RecordBatchBuilder builder(options);
  builder.Add("a", "1", {}, kTs);
  builder.Add("b", "2", {}, kTs + 7);
  absl::StatusOr<std::string> batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  RecordBatchView view = ParseOrDie(*batch);
  EXPECT_EQ(view.header().attributes & kAttrTimestampType, kAttrTimestampType);
  EXPECT_EQ(view.header().timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_EQ(view.header().max_timestamp, kTs + 7);
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(view);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ((*records)[0].timestamp, kTs + 7);
  EXPECT_EQ((*records)[1].timestamp, kTs + 7);
}

TEST(RecordBatchBuilderTest, WritesProducerFieldsAndFlags) {
  BatchBuilderOptions options;
  options.base_offset = 1000;
  options.partition_leader_epoch = 3;
  options.producer_id = 77;
  options.producer_epoch = 2;
  options.base_sequence = 2147483646;
  options.transactional = true;
  RecordBatchBuilder builder(options);
  for (int i = 0; i < 4; ++i) builder.Add("k", "v", {}, kTs);
  absl::StatusOr<std::string> batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  BatchHeader h = ParseOrDie(*batch).header();
  EXPECT_EQ(h.base_offset, 1000);
  EXPECT_EQ(h.partition_leader_epoch, 3);
  EXPECT_EQ(h.producer_id, 77);
  EXPECT_EQ(h.producer_epoch, 2);
  EXPECT_EQ(h.base_sequence, 2147483646);
  EXPECT_EQ(h.attributes, kAttrTransactional);
  EXPECT_EQ(h.last_offset(), 1003);
  EXPECT_EQ(h.next_offset(), 1004);
  // 2147483646 + 3 wraps past INT32_MAX to 1.
  EXPECT_EQ(h.last_sequence(), 1);
}

TEST(RecordBatchBuilderTest, BuildIntoAppendsAndResetStartsOver) {
  RecordBatchBuilder builder;
  builder.Add("k", "v", {}, kTs);
  EXPECT_EQ(builder.num_records(), 1);
  EXPECT_EQ(builder.uncompressed_size(), 70u);
  std::string out = "xyz";
  ASSERT_TRUE(builder.BuildInto(&out).ok());
  EXPECT_EQ(out.size(), 73u);
  EXPECT_TRUE(ParseOrDie(out.substr(3)).Validate().ok());

  BatchBuilderOptions options;
  options.base_offset = 5;
  builder.Reset(options);
  EXPECT_EQ(builder.num_records(), 0);
  builder.Add("a", std::nullopt, {}, kTs + 1);
  absl::StatusOr<std::string> second = builder.Build();
  ASSERT_TRUE(second.ok());
  RecordBatchView view = ParseOrDie(*second);
  EXPECT_EQ(view.header().base_offset, 5);
  EXPECT_EQ(view.header().base_timestamp, kTs + 1);
  EXPECT_EQ(view.header().records_count, 1);
}

TEST(RecordBatchBuilderTest, ZstdBatchIsSmallerAndDecodesToTheSameRecords) {
  std::vector<Record> records;
  for (int i = 0; i < 100; ++i) {
    Record r;
    r.key = "key-" + std::to_string(i);
    r.value = std::string(100, static_cast<char>('a' + i % 3));
    r.timestamp = kTs + i;
    records.push_back(r);
  }
  BatchBuilderOptions options;
  options.compression = Compression::kZstd;
  std::string plain = testing::BuildBatch(records);
  std::string zstd = testing::BuildBatch(records, options);
  EXPECT_LT(zstd.size(), plain.size() / 4);
  RecordBatchView view = ParseOrDie(zstd);
  EXPECT_EQ(view.header().compression(), Compression::kZstd);
  absl::StatusOr<std::vector<Record>> decoded = DecodeRecords(view);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  std::string why;
  EXPECT_TRUE(testing::RecordsEqual(*decoded, records, &why)) << why;
}

TEST(BatchHeaderRewriteTest, BaseOffsetAndLeaderEpochRewriteKeepsCrcValid) {
  std::string batch = testing::BuildBatch({Record{"k", "v", {}, kTs}});
  uint32_t crc = ParseOrDie(batch).header().crc;
  SetBaseOffset(batch.data(), 123456789);
  SetPartitionLeaderEpoch(batch.data(), 9);
  RecordBatchView view = ParseOrDie(batch);
  EXPECT_EQ(view.header().base_offset, 123456789);
  EXPECT_EQ(view.header().partition_leader_epoch, 9);
  EXPECT_EQ(view.header().crc, crc);
  EXPECT_TRUE(view.Validate().ok());
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(view);
  ASSERT_TRUE(records.ok());
}

TEST(BatchHeaderRewriteTest, LogAppendTimeRewriteSetsBitTimestampAndCrc) {
  std::string batch = testing::BuildBatch(
      {Record{"a", "1", {}, kTs}, Record{"b", "2", {}, kTs + 1}});
  SetLogAppendTime(batch.data(), batch.size(), kTs + 999);
  RecordBatchView view = ParseOrDie(batch);
  EXPECT_TRUE(view.VerifyCrc().ok()) << view.VerifyCrc();
  EXPECT_EQ(view.header().timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_EQ(view.header().max_timestamp, kTs + 999);
  EXPECT_EQ(view.header().base_timestamp, kTs);
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(view);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ((*records)[0].timestamp, kTs + 999);
  EXPECT_EQ((*records)[1].timestamp, kTs + 999);
}

TEST(BatchHeaderRewriteTest, MaxTimestampRewriteRecomputesCrc) {
  std::string batch = testing::BuildBatch({Record{"a", "1", {}, kTs}});
  uint32_t before = ParseOrDie(batch).header().crc;
  SetMaxTimestamp(batch.data(), batch.size(), kTs + 5);
  RecordBatchView view = ParseOrDie(batch);
  EXPECT_EQ(view.header().max_timestamp, kTs + 5);
  EXPECT_NE(view.header().crc, before);
  EXPECT_TRUE(view.VerifyCrc().ok());
  EXPECT_EQ(view.header().timestamp_type(), TimestampType::kCreateTime);
}

TEST(BatchHeaderRewriteTest, LastSequenceWrapsAndIsMinusOneWithoutSequence) {
  BatchHeader h;
  h.last_offset_delta = 4;
  EXPECT_EQ(h.last_sequence(), -1);
  h.base_sequence = 10;
  EXPECT_EQ(h.last_sequence(), 14);
  h.base_sequence = 2147483647;
  h.last_offset_delta = 1;
  EXPECT_EQ(h.last_sequence(), 0);
}

}  // namespace
}  // namespace spool
