// Segments written by Apache Kafka brokers and other clients
// (tests/data/kafka-real): scanning and decoding each must reproduce the
// independent listing in its expected.json exactly.

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "format/batch_internal.h"
#include "format/format_test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "spool/record.h"

namespace spool {
namespace {

using nlohmann::json;

const char* const kCases[] = {
    "real-kafka-go-v2-v2",          "real-kafka-go-v2c-v2-v2c",
    "real-kafka-go-v2c-v2c",        "real-kafka-python-v2",
    "real-kafka-python-v2-headers", "real-rskafka-java-snappy",
    "wire-librdkafka-gzip",         "wire-librdkafka-lz4",
    "wire-librdkafka-none",         "wire-librdkafka-null-key",
    "wire-librdkafka-snappy",       "wire-librdkafka-zstd",
};

std::optional<std::string> Base64OrNull(const json& j) {
  if (j.is_null()) return std::nullopt;
  std::string out;
  EXPECT_TRUE(absl::Base64Unescape(j.get<std::string>(), &out)) << j;
  return out;
}

std::optional<std::string> ToOptional(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

void ExpectHeaderMatches(const json& e, const ScannedBatch& b) {
  const BatchHeader& h = b.batch.header();
  EXPECT_EQ(e["filePosition"].get<uint64_t>(), b.position);
  EXPECT_EQ(e["baseOffset"].get<int64_t>(), h.base_offset);
  EXPECT_EQ(e["batchLength"].get<int32_t>(), h.batch_length);
  EXPECT_EQ(e["sizeInBytes"].get<int64_t>(), h.size_bytes());
  EXPECT_EQ(e["magic"].get<int>(), h.magic);
  EXPECT_EQ(e["crc"].get<uint32_t>(), h.crc);
  EXPECT_EQ(e["crcValid"].get<bool>(), b.batch.VerifyCrc().ok());
  EXPECT_EQ(e["attributes"].get<int>(), h.attributes);
  EXPECT_EQ(e["compression"].get<std::string>(),
            CompressionName(h.compression()));
  EXPECT_EQ(e["partitionLeaderEpoch"].get<int32_t>(), h.partition_leader_epoch);
  EXPECT_EQ(e["timestampType"].get<std::string>(),
            h.timestamp_type() == TimestampType::kCreateTime ? "CreateTime"
                                                             : "LogAppendTime");
  EXPECT_EQ(e["isTransactional"].get<bool>(), h.is_transactional());
  EXPECT_EQ(e["isControl"].get<bool>(), h.is_control());
  EXPECT_EQ(e["lastOffsetDelta"].get<int32_t>(), h.last_offset_delta);
  EXPECT_EQ(e["lastOffset"].get<int64_t>(), h.last_offset());
  EXPECT_EQ(e["firstTimestamp"].get<int64_t>(), h.base_timestamp);
  EXPECT_EQ(e["maxTimestamp"].get<int64_t>(), h.max_timestamp);
  EXPECT_EQ(e["producerId"].get<int64_t>(), h.producer_id);
  EXPECT_EQ(e["producerEpoch"].get<int16_t>(), h.producer_epoch);
  EXPECT_EQ(e["baseSequence"].get<int32_t>(), h.base_sequence);
  EXPECT_EQ(e["lastSequence"].get<int32_t>(), h.last_sequence());
  EXPECT_EQ(e["recordCount"].get<int32_t>(), h.records_count);
  EXPECT_TRUE(e["complete"].get<bool>());
  EXPECT_EQ(e["valid"].get<bool>(), b.batch.Validate().ok());
}

void ExpectRecordMatches(const json& e, const RecordView& r, int batch_index) {
  EXPECT_EQ(e["offset"].get<int64_t>(), r.offset);
  EXPECT_EQ(e["batchIndex"].get<int>(), batch_index);
  EXPECT_EQ(e["timestamp"].get<int64_t>(), r.timestamp);
  EXPECT_EQ(e["attributes"].get<int>(), r.attributes);
  EXPECT_TRUE(e["valid"].get<bool>());
  EXPECT_EQ(Base64OrNull(e["key"]), ToOptional(r.key));
  EXPECT_EQ(Base64OrNull(e["value"]), ToOptional(r.value));
  const json& headers = e["headers"];
  ASSERT_EQ(headers.size(), r.headers.size());
  for (size_t i = 0; i < headers.size(); ++i) {
    EXPECT_EQ(headers[i]["key"].get<std::string>(), r.headers[i].key);
    EXPECT_EQ(Base64OrNull(headers[i]["value"]),
              ToOptional(r.headers[i].value));
  }
}

class KafkaRealSegmentTest : public ::testing::TestWithParam<const char*> {};

TEST_P(KafkaRealSegmentTest, DecodesToTheExpectedListing) {
  std::string dir =
      testing::TestDataPath(absl::StrCat("kafka-real/", GetParam()));
  absl::StatusOr<std::string> text = testing::ReadFile(dir + "/expected.json");
  ASSERT_TRUE(text.ok()) << text.status();
  json expected = json::parse(*text);
  absl::StatusOr<std::string> log =
      testing::ReadFile(dir + "/" + expected["file"].get<std::string>());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(expected["fileSize"].get<size_t>(), log->size());

  BatchScanner scanner(*log);
  ScannedBatch b;
  size_t batch_index = 0, record_index = 0;
  int64_t next_offset = expected["segmentBaseOffset"].get<int64_t>();
  const json& batches = expected["batches"];
  const json& records = expected["records"];
  while (scanner.Next(&b)) {
    SCOPED_TRACE(absl::StrCat("batch ", batch_index));
    ASSERT_LT(batch_index, batches.size());
    ExpectHeaderMatches(batches[batch_index], b);
    RecordIterator it(b.batch);
    RecordView r;
    while (it.Next(&r)) {
      SCOPED_TRACE(absl::StrCat("record ", record_index));
      ASSERT_LT(record_index, records.size());
      ExpectRecordMatches(records[record_index], r,
                          static_cast<int>(batch_index));
      ++record_index;
    }
    EXPECT_TRUE(it.status().ok()) << it.status();
    next_offset = b.batch.header().next_offset();
    ++batch_index;
  }
  EXPECT_EQ(scanner.stop_reason(), ScanStop::kEnd) << scanner.status();
  EXPECT_TRUE(scanner.status().ok());
  EXPECT_TRUE(expected["errors"].empty());
  EXPECT_EQ(batch_index, batches.size());
  EXPECT_EQ(record_index, records.size());
  EXPECT_EQ(expected["validBytes"].get<uint64_t>(), scanner.valid_end());
  EXPECT_EQ(expected["nextOffset"].get<int64_t>(), next_offset);
}

INSTANTIATE_TEST_SUITE_P(
    AllCases, KafkaRealSegmentTest, ::testing::ValuesIn(kCases),
    [](const ::testing::TestParamInfo<const char*>& param) {
      return absl::StrReplaceAll(param.param, {{"-", "_"}});
    });

}  // namespace
}  // namespace spool
