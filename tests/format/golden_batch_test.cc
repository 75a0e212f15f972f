// Byte-for-byte checks of the encoder against vectors computed
// independently of Spool: kafka-format.md §12.3/§12.4 and IBM/sarama's
// record_test.go (tests/data/reference/sarama_crosscheck.py).

#include <string>
#include <vector>

#include "format/batch_internal.h"
#include "format/format_test_util.h"
#include "format/record_codec.h"
#include "gtest/gtest.h"
#include "spool/record.h"

namespace spool {
namespace {

using testing::BytesToHex;
using testing::HexToBytes;

constexpr int64_t kTs = 1700000000000;

std::string Hex(std::string_view dump) {
  bool ok = false;
  std::string bytes = HexToBytes(dump, &ok);
  EXPECT_TRUE(ok) << dump;
  return bytes;
}

RecordBatchView ParseOrDie(const std::string& bytes) {
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(bytes);
  EXPECT_TRUE(view.ok()) << view.status();
  return view.ok() ? *view : RecordBatchView();
}

// §12.3: one record, key "k", value "v", partitionLeaderEpoch 0.
const char kOneRecordBatch[] =
    "0000000000000000 0000003a 00000000 02 e99b8dd8 0000 00000000"
    "0000018bcfe56800 0000018bcfe56800 ffffffffffffffff ffff ffffffff"
    "00000001 10 000000 026b 0276 00";

TEST(GoldenBatchTest, OneRecordBatchMatchesKafkaVector) {
  BatchBuilderOptions options;
  options.partition_leader_epoch = 0;
  RecordBatchBuilder builder(options);
  builder.Add("k", "v", {}, kTs);
  absl::StatusOr<std::string> batch = builder.Build();
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(BytesToHex(*batch), BytesToHex(Hex(kOneRecordBatch)));
  RecordBatchView view = ParseOrDie(*batch);
  EXPECT_EQ(view.header().crc, 0xE99B8DD8u);
  EXPECT_EQ(view.header().batch_length, 58);
  EXPECT_EQ(view.size_bytes(), 70);
  EXPECT_TRUE(view.VerifyCrc().ok());
}

TEST(GoldenBatchTest, BaseOffsetAndLeaderEpochAreOutsideTheCrc) {
  BatchBuilderOptions options;
  options.base_offset = 42;
  options.partition_leader_epoch = 7;
  RecordBatchBuilder builder(options);
  builder.Add("k", "v", {}, kTs);
  absl::StatusOr<std::string> batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  RecordBatchView view = ParseOrDie(*batch);
  EXPECT_EQ(view.header().crc, 0xE99B8DD8u);
  EXPECT_EQ(view.header().base_offset, 42);
  EXPECT_EQ(view.header().partition_leader_epoch, 7);
}

// §12.4: "a"->"1" at offset 100, "b"->"2" at 101, 5 ms later.
TEST(GoldenBatchTest, TwoRecordBatchMatchesKafkaVector) {
  const char kExpected[] =
      "00 00 00 00 00 00 00 64 00 00 00 43 00 00 00 00"
      "02 43 8f 9b 05 00 00 00 00 00 01 00 00 01 8b cf"
      "e5 68 00 00 00 01 8b cf e5 68 05 ff ff ff ff ff"
      "ff ff ff ff ff ff ff ff ff 00 00 00 02 10 00 00"
      "00 02 61 02 31 00 10 00 0a 02 02 62 02 32 00";
  BatchBuilderOptions options;
  options.base_offset = 100;
  options.partition_leader_epoch = 0;
  RecordBatchBuilder builder(options);
  builder.Add("a", "1", {}, kTs);
  builder.Add("b", "2", {}, kTs + 5);
  absl::StatusOr<std::string> batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(BytesToHex(*batch), BytesToHex(Hex(kExpected)));
  RecordBatchView view = ParseOrDie(*batch);
  EXPECT_EQ(view.header().crc, 0x438F9B05u);
  EXPECT_EQ(view.size_bytes(), 79);

  absl::StatusOr<std::vector<Record>> records = DecodeRecords(view);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1].key, "b");
  EXPECT_EQ((*records)[1].value, "2");
  EXPECT_EQ((*records)[1].timestamp, kTs + 5);
}

// §12.4: COMMIT marker, producerId 1000, epoch 0, coordinatorEpoch 5.
TEST(GoldenBatchTest, CommitMarkerMatchesKafkaVector) {
  const char kExpected[] =
      "00 00 00 00 00 00 00 0a 00 00 00 42 00 00 00 00"
      "02 fc 84 b0 34 00 30 00 00 00 00 00 00 01 8b cf"
      "e5 68 00 00 00 01 8b cf e5 68 00 00 00 00 00 00"
      "00 03 e8 00 00 ff ff ff ff 00 00 00 01 20 00 00"
      "00 08 00 00 00 01 0c 00 00 00 00 00 05 00";
  BatchBuilderOptions options;
  options.base_offset = 10;
  options.partition_leader_epoch = 0;
  options.producer_id = 1000;
  options.producer_epoch = 0;
  options.transactional = true;
  options.control = true;
  RecordBatchBuilder builder(options);
  builder.Add(std::string_view("\0\0\0\1", 4),
              std::string_view("\0\0\0\0\0\5", 6), {}, kTs);
  absl::StatusOr<std::string> batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(BytesToHex(*batch), BytesToHex(Hex(kExpected)));
  RecordBatchView view = ParseOrDie(*batch);
  EXPECT_EQ(view.header().crc, 0xFC84B034u);
  EXPECT_EQ(view.header().attributes, 0x30);
  EXPECT_TRUE(view.header().is_control());
  EXPECT_TRUE(view.header().is_transactional());
  EXPECT_EQ(view.header().last_sequence(), -1);
}

// sarama: empty batch with producer fields 0/0/0 and zero timestamps.
TEST(GoldenBatchTest, SaramaEmptyBatchCrc) {
  BatchHeader h;
  h.partition_leader_epoch = 0;
  h.base_timestamp = 0;
  h.max_timestamp = 0;
  h.producer_id = 0;
  h.producer_epoch = 0;
  h.base_sequence = 0;
  std::string batch;
  AppendRawBatch(h, "", &batch);
  EXPECT_EQ(BytesToHex(batch.substr(17, 4)), "595fb7dd");
  EXPECT_EQ(ParseOrDie(batch).header().batch_length, 49);

  h.attributes = kAttrControl;
  std::string control;
  AppendRawBatch(h, "", &control);
  EXPECT_EQ(BytesToHex(control.substr(17, 4)), "512e43d9");
}

// sarama: one record (timestamp delta 5) with one header; the batch's
// maxTimestamp is 0 as sarama's vector has it.
TEST(GoldenBatchTest, SaramaRecordWithHeader) {
  std::string record;
  std::vector<HeaderView> headers = {
      {std::string_view("\x08\x09\x0a", 3), std::string_view("\x0b\x0c", 2)}};
  AppendRecord(5, 0, std::string_view("\x01\x02\x03\x04", 4),
               std::string_view("\x05\x06\x07", 3), headers, &record);
  EXPECT_EQ(BytesToHex(record),
            "28000a0008010203040605060702060809"
            "0a040b0c");

  BatchHeader h;
  h.partition_leader_epoch = 0;
  h.base_timestamp = 1479847795000;
  h.max_timestamp = 0;
  h.producer_id = 0;
  h.producer_epoch = 0;
  h.base_sequence = 0;
  h.records_count = 1;
  std::string batch;
  AppendRawBatch(h, record, &batch);
  RecordBatchView view = ParseOrDie(batch);
  EXPECT_EQ(view.header().batch_length, 70);
  EXPECT_EQ(BytesToHex(batch.substr(17, 4)), "547961fd");

  RecordIterator it(view);
  RecordView r;
  ASSERT_TRUE(it.Next(&r)) << it.status();
  EXPECT_EQ(r.timestamp, 1479847795005);
  EXPECT_EQ(r.timestamp_delta, 5);
  EXPECT_EQ(*r.key, std::string_view("\x01\x02\x03\x04", 4));
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].key, std::string_view("\x08\x09\x0a", 3));
  EXPECT_EQ(*r.headers[0].value, std::string_view("\x0b\x0c", 2));
  EXPECT_FALSE(it.Next(&r));
  EXPECT_TRUE(it.status().ok()) << it.status();
}

// §2.2 example records.
TEST(GoldenBatchTest, RecordExamplesMatchKafkaFormatNotes) {
  std::vector<HeaderView> none;
  std::string a, b, c;
  AppendRecord(0, 0, "k", "v", none, &a);
  EXPECT_EQ(BytesToHex(a), "10000000026b027600");
  AppendRecord(0, 0, std::nullopt, "v", none, &b);
  EXPECT_EQ(BytesToHex(b),
            "0e0000000102"
            "7600");
  std::vector<HeaderView> one = {{"h", "x"}};
  AppendRecord(0, 0, "k", std::nullopt, one, &c);
  EXPECT_EQ(BytesToHex(c),
            "16000000026b0102026802"
            "78");
}

}  // namespace
}  // namespace spool
