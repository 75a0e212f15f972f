// Decoding: zero-copy views, and one test per check the decoder makes, each
// asserting the status code and the message naming the check and position.

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "format/batch_internal.h"
#include "format/compression.h"
#include "format/format_test_util.h"
#include "format/record_skim.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/record.h"

namespace spool {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::HexToBytes;

constexpr int64_t kTs = 1700000000000;

// A batch with a valid CRC around `region_hex` (records as hex).
std::string RawBatch(std::string_view region_hex, int32_t count,
                     int32_t last_offset_delta) {
  BatchHeader h;
  h.base_timestamp = kTs;
  h.max_timestamp = kTs;
  h.records_count = count;
  h.last_offset_delta = last_offset_delta;
  bool ok = false;
  std::string region = HexToBytes(region_hex, &ok);
  EXPECT_TRUE(ok) << region_hex;
  std::string batch;
  AppendRawBatch(h, region, &batch);
  return batch;
}

absl::Status Decode(const std::string& batch,
                    const DecodeOptions& options = {}) {
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  if (!view.ok()) return view.status();
  return view->Validate(options);
}

void ExpectError(const absl::Status& s, absl::StatusCode code,
                 const std::vector<std::string>& fragments) {
  EXPECT_EQ(s.code(), code) << s;
  for (const std::string& f : fragments) {
    EXPECT_THAT(std::string(s.message()), HasSubstr(f));
  }
}

bool Within(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() &&
         inner.data() + inner.size() <= outer.data() + outer.size();
}

std::vector<Record> SampleRecords() {
  return {
      Record{"key-1", "value-1", {{"h1", "v1"}, {"h2", std::nullopt}}, kTs},
      Record{std::nullopt, "", {}, kTs + 1},
      Record{"", std::nullopt, {{"", ""}}, kTs + 2},
  };
}

TEST(RecordIteratorTest, UncompressedRecordsAreViewsIntoTheBatchBytes) {
  std::string batch = testing::BuildBatch(SampleRecords());
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  std::string_view region = view->records_region();
  ASSERT_EQ(region.data(), batch.data() + kBatchHeaderSize);
  RecordIterator it(*view);
  RecordView r;
  int n = 0, views = 0;
  while (it.Next(&r)) {
    ++n;
    for (const auto& field : {r.key, r.value}) {
      if (field) {
        EXPECT_TRUE(Within(*field, region)) << "record " << n;
        ++views;
      }
    }
    for (const HeaderView& h : r.headers) {
      EXPECT_TRUE(Within(h.key, region));
      if (h.value) {
        EXPECT_TRUE(Within(*h.value, region));
      }
      ++views;
    }
  }
  ASSERT_TRUE(it.status().ok()) << it.status();
  EXPECT_EQ(n, 3);
  EXPECT_EQ(views, 7);
}

TEST(RecordIteratorTest, CompressedRecordsPointIntoTheIteratorsBuffer) {
  BatchBuilderOptions options;
  options.compression = Compression::kZstd;
  std::string batch = testing::BuildBatch(SampleRecords(), options);
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  RecordIterator it(*view);
  RecordView r;
  ASSERT_TRUE(it.Next(&r)) << it.status();
  EXPECT_FALSE(Within(*r.key, batch));
  EXPECT_EQ(*r.key, "key-1");
}

TEST(RecordIteratorTest, CopyOfACompressedBatchIteratorOutlivesTheOriginal) {
  BatchBuilderOptions options;
  options.compression = Compression::kZstd;
  std::string batch = testing::BuildBatch(SampleRecords(), options);
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  std::optional<RecordIterator> original(std::in_place, *view);
  RecordView r;
  ASSERT_TRUE(original->Next(&r));
  RecordIterator copy = *original;
  original.reset();
  ASSERT_TRUE(copy.Next(&r)) << copy.status();
  EXPECT_FALSE(r.key.has_value());
  EXPECT_EQ(r.offset, 1);
  ASSERT_TRUE(copy.Next(&r));
  EXPECT_EQ(r.key, "");
  EXPECT_FALSE(copy.Next(&r));
  EXPECT_TRUE(copy.status().ok()) << copy.status();
}

TEST(RecordIteratorTest, NullAndEmptyAreDistinct) {
  std::string batch = testing::BuildBatch(SampleRecords());
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(*view);
  ASSERT_TRUE(records.ok()) << records.status();
  std::string why;
  EXPECT_TRUE(testing::RecordsEqual(*records, SampleRecords(), &why)) << why;
  EXPECT_FALSE((*records)[1].key.has_value());
  EXPECT_EQ((*records)[1].value, "");
  EXPECT_EQ((*records)[2].key, "");
  EXPECT_FALSE((*records)[2].value.has_value());
  EXPECT_FALSE((*records)[0].headers[1].value.has_value());
}

TEST(RecordIteratorTest, ReportsPositionAndSizeOfEachRecord) {
  std::string batch = testing::BuildBatch(
      {Record{"k", "v", {}, kTs}, Record{"a", "1", {}, kTs}});
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  RecordIterator it(*view);
  RecordView r;
  ASSERT_TRUE(it.Next(&r));
  EXPECT_EQ(r.position, 0u);
  EXPECT_EQ(r.size_bytes, 9u);
  ASSERT_TRUE(it.Next(&r));
  EXPECT_EQ(r.position, 9u);
  EXPECT_EQ(r.offset, 1);
  EXPECT_FALSE(it.Next(&r));
  EXPECT_TRUE(it.status().ok());
  EXPECT_FALSE(it.Next(&r));  // stays at the end
}

// ---------------------------------------------------------------- header

TEST(BatchHeaderCheckTest, BadMagicIsDataLossAtByte16) {
  std::string batch = testing::BuildBatch({Record{"k", "v", {}, kTs}});
  batch[16] = 1;
  ExpectError(Decode(batch), absl::StatusCode::kDataLoss,
              {"bad magic 1 at byte 16, expected 2", "legacy"});
}

TEST(BatchHeaderCheckTest, BatchLengthBelowFourteenIsDataLoss) {
  std::string batch(70, '\0');
  ExpectError(Decode(batch), absl::StatusCode::kDataLoss,
              {"batchLength 0 at byte 8 is below the minimum of 14"});
}

TEST(BatchHeaderCheckTest, BatchLengthTooSmallForV2HeaderIsDataLoss) {
  std::string batch = testing::BuildBatch({Record{"k", "v", {}, kTs}});
  batch[11] = 20;
  ExpectError(Decode(batch), absl::StatusCode::kDataLoss,
              {"batchLength 20 at byte 8 is smaller than the 49 bytes"});
}

TEST(BatchHeaderCheckTest, ShortHeaderIsOutOfRange) {
  std::string batch = testing::BuildBatch({Record{"k", "v", {}, kTs}});
  ExpectError(Decode(batch.substr(0, 30)), absl::StatusCode::kOutOfRange,
              {"truncated batch header: 30 of 61 bytes present"});
}

TEST(BatchHeaderCheckTest, TruncatedBatchIsOutOfRange) {
  std::string batch = testing::BuildBatch({Record{"k", "v", {}, kTs}});
  ExpectError(Decode(batch.substr(0, 69)), absl::StatusCode::kOutOfRange,
              {"truncated batch: batchLength 58 at byte 8 means 70 bytes, "
               "only 69 present"});
}

TEST(BatchHeaderCheckTest, CrcMismatchNamesBothValues) {
  std::string batch = testing::BuildBatch({Record{"k", "v", {}, kTs}});
  batch[20] ^= 1;  // stored E99B8DD8 -> E99B8DD9
  ExpectError(Decode(batch), absl::StatusCode::kDataLoss,
              {"CRC mismatch: stored 0xE99B8DD9 at byte 17, computed "
               "0xE99B8DD8 over bytes [21, 70)"});
}

TEST(BatchHeaderCheckTest, CrcIsSkippedWhenNotVerified) {
  std::string batch = testing::BuildBatch({Record{"k", "v", {}, kTs}});
  batch[68] = 'w';  // the value byte
  EXPECT_EQ(Decode(batch).code(), absl::StatusCode::kDataLoss);
  DecodeOptions options;
  options.verify_crc = false;
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  absl::StatusOr<std::vector<Record>> records = DecodeRecords(*view, options);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ((*records)[0].value, "w");
}

TEST(BatchHeaderCheckTest, NegativeRecordCountIsDataLoss) {
  ExpectError(Decode(RawBatch("", -1, 0)), absl::StatusCode::kDataLoss,
              {"recordsCount -1 at byte 57 is outside [0, lastOffsetDelta + "
               "1 = 1]"});
}

TEST(BatchHeaderCheckTest, RecordCountAboveLastOffsetDeltaPlusOneIsDataLoss) {
  ExpectError(Decode(RawBatch("", 3, 1)), absl::StatusCode::kDataLoss,
              {"recordsCount 3 at byte 57"});
}

TEST(BatchHeaderCheckTest, NegativeLastOffsetDeltaIsDataLoss) {
  ExpectError(Decode(RawBatch("", 0, -4)), absl::StatusCode::kDataLoss,
              {"lastOffsetDelta -4 at byte 23 is negative"});
}

TEST(BatchHeaderCheckTest, UnknownCodecIsDataLoss) {
  BatchHeader h;
  h.attributes = 5;
  std::string batch;
  AppendRawBatch(h, "", &batch);
  ExpectError(Decode(batch), absl::StatusCode::kDataLoss,
              {"attributes 0x0005 at byte 21 name unknown compression codec "
               "id 5"});
}

TEST(BatchHeaderCheckTest, OffsetOverflowIsDataLoss) {
  BatchHeader h;
  h.base_offset = INT64_MAX - 1;
  h.last_offset_delta = 2;
  std::string batch;
  AppendRawBatch(h, "", &batch);
  ExpectError(Decode(batch), absl::StatusCode::kDataLoss,
              {"lastOffsetDelta 2 overflows int64"});
}

// ---------------------------------------------------------------- records

TEST(RecordCheckTest, FewerRecordsThanCountIsDataLoss) {
  ExpectError(Decode(RawBatch("10000000026b027600 10000002026b027600", 3, 2)),
              absl::StatusCode::kDataLoss,
              {"recordsCount 3 disagrees with the records: they end after 2 "
               "records at batch byte 79"});
}

TEST(RecordCheckTest, MoreRecordsThanCountIsDataLoss) {
  ExpectError(Decode(RawBatch("10000000026b027600 10000002026b027600", 1, 1)),
              absl::StatusCode::kDataLoss,
              {"recordsCount 1 disagrees with the records: 9 bytes remain at "
               "batch byte 70"});
}

TEST(RecordCheckTest, OffsetDeltaVarintOverflowIsDataLoss) {
  ExpectError(Decode(RawBatch("16 00 00 ffffffffff7f 01 01 00", 1, 0)),
              absl::StatusCode::kDataLoss,
              {"record 0: offsetDelta at batch byte 64: varint overflow"});
}

TEST(RecordCheckTest, TimestampDeltaTruncatedVarintIsDataLoss) {
  ExpectError(Decode(RawBatch("04 00 80", 1, 0)), absl::StatusCode::kDataLoss,
              {"record 0: timestampDelta at batch byte 63: truncated varint"});
}

TEST(RecordCheckTest, EmptyRecordBodyIsDataLoss) {
  ExpectError(Decode(RawBatch("00", 1, 0)), absl::StatusCode::kDataLoss,
              {"attributes at batch byte 62: record body is empty"});
}

TEST(RecordCheckTest, KeyLengthBelowMinusOneIsDataLoss) {
  ExpectError(Decode(RawBatch("0c 00 00 00 03 01 00", 1, 0)),
              absl::StatusCode::kDataLoss,
              {"keyLength at batch byte 65: invalid length -2"});
}

TEST(RecordCheckTest, ValueRunningPastTheRecordIsDataLoss) {
  ExpectError(Decode(RawBatch("0e 00 00 00 01 0a 41 00", 1, 0)),
              absl::StatusCode::kDataLoss,
              {"valueLength at batch byte 66: length 5 runs past the end of "
               "the record (2 bytes left)"});
}

TEST(RecordCheckTest, RecordLengthPastTheRegionIsDataLoss) {
  ExpectError(Decode(RawBatch("20 00 00", 1, 0)), absl::StatusCode::kDataLoss,
              {"record length at batch byte 61: length 16 does not fit in the "
               "2 bytes left"});
}

TEST(RecordCheckTest, BytesLeftInsideARecordAreDataLoss) {
  ExpectError(Decode(RawBatch("0e 00 00 00 01 01 00 ee", 1, 0)),
              absl::StatusCode::kDataLoss,
              {"record body is 7 bytes but its fields end after 6"});
}

TEST(RecordCheckTest, NullHeaderKeyIsDataLoss) {
  ExpectError(Decode(RawBatch("10 00 00 00 01 01 02 01 01", 1, 0)),
              absl::StatusCode::kDataLoss,
              {"headerKeyLength at batch byte 68: invalid length -1"});
}

TEST(RecordCheckTest, HeaderCountThatCannotFitIsDataLoss) {
  ExpectError(Decode(RawBatch("0c 00 00 00 01 01 7e", 1, 0)),
              absl::StatusCode::kDataLoss,
              {"headersCount at batch byte 67: 63 headers cannot fit"});
}

TEST(RecordCheckTest, RepeatedOffsetDeltaIsDataLoss) {
  ExpectError(Decode(RawBatch("10000000026b027600 10000000026b027600", 2, 1)),
              absl::StatusCode::kDataLoss,
              {"record 1 at batch byte 70: offsetDelta 0 is not in (0, "
               "lastOffsetDelta 1]"});
}

TEST(RecordCheckTest, OffsetDeltaBeyondLastOffsetDeltaIsDataLoss) {
  ExpectError(Decode(RawBatch("1000000a026b027600", 1, 0)),
              absl::StatusCode::kDataLoss,
              {"offsetDelta 5 is not in (-1, lastOffsetDelta 0]"});
}

TEST(RecordCheckTest, CompactedBatchWithOffsetGapsDecodes) {
  // Offset deltas 0 and 3 of lastOffsetDelta 4, as compaction leaves them.
  std::string batch = RawBatch("10000000026b027600 10000006026b027600", 2, 4);
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  RecordIterator it(*view);
  RecordView r;
  std::vector<int64_t> offsets;
  while (it.Next(&r)) offsets.push_back(r.offset);
  ASSERT_TRUE(it.status().ok()) << it.status();
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(view->header().next_offset(), 5);
}

TEST(RecordCheckTest, DefaultConstructedViewIsFailedPrecondition) {
  RecordIterator it{RecordBatchView()};
  RecordView r;
  EXPECT_FALSE(it.Next(&r));
  ExpectError(it.status(), absl::StatusCode::kFailedPrecondition,
              {"holds no batch"});
}

// ---------------------------------------------------------------- codecs

// Replaces the records region of a batch and re-seals the header (CRC).
std::string WithRegion(const std::string& batch, std::string_view region,
                       int32_t count) {
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  EXPECT_TRUE(view.ok());
  BatchHeader h = view->header();
  h.records_count = count;
  h.last_offset_delta = std::max(count - 1, 0);
  std::string out;
  AppendRawBatch(h, region, &out);
  return out;
}

TEST(CompressedBatchTest, CorruptZstdStreamIsDataLossNamingTheCodec) {
  BatchBuilderOptions options;
  options.compression = Compression::kZstd;
  std::string batch = testing::BuildBatch(SampleRecords(), options);
  std::string region = batch.substr(kBatchHeaderSize);
  region[0] ^= 0x5a;  // the frame magic
  std::string bad = WithRegion(batch, region, 3);
  absl::Status s = Decode(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("records region (zstd,"),
                    HasSubstr("bytes at batch byte 61): zstd: input does not "
                              "start with a valid frame header")));
}

TEST(CompressedBatchTest, ZstdBombIsResourceExhausted) {
  std::string region;
  ASSERT_TRUE(CompressZstd(std::string(8 << 20, 'x'), 3, &region).ok());
  EXPECT_LT(region.size(), 2000u);
  BatchHeader h;
  h.attributes = static_cast<int16_t>(Compression::kZstd);
  h.records_count = 1;
  std::string batch;
  AppendRawBatch(h, region, &batch);
  DecodeOptions options;
  options.max_decompressed_bytes = 1 << 20;
  ExpectError(Decode(batch, options), absl::StatusCode::kResourceExhausted,
              {"zstd: frame claims 8388608 decompressed bytes, over the limit "
               "of 1048576"});
}

TEST(CompressedBatchTest, GzipBombIsResourceExhausted) {
  std::string region = testing::GzipCompress(std::string(8 << 20, '\0'));
  BatchHeader h;
  h.attributes = static_cast<int16_t>(Compression::kGzip);
  h.records_count = 1;
  std::string batch;
  AppendRawBatch(h, region, &batch);
  DecodeOptions options;
  options.max_decompressed_bytes = 1 << 20;
  ExpectError(Decode(batch, options), absl::StatusCode::kResourceExhausted,
              {"gzip: decompressed size exceeds the limit of 1048576 bytes",
               "max_decompressed_bytes"});
}

TEST(CompressedBatchTest, EveryReadCodecDecodesTheSameRecords) {
  std::string plain = testing::BuildBatch(SampleRecords());
  std::string region = plain.substr(kBatchHeaderSize);
  const std::pair<Compression, std::string> cases[] = {
      {Compression::kGzip, testing::GzipCompress(region)},
      {Compression::kSnappy, testing::SnappyXerialCompress(region, 16)},
      {Compression::kSnappy, testing::SnappyRawCompress(region)},
      {Compression::kLz4, testing::Lz4FrameCompress(region)},
      {Compression::kZstd, testing::ZstdStreamCompress(region)},
  };
  for (const auto& [codec, compressed] : cases) {
    SCOPED_TRACE(CompressionName(codec));
    absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(plain);
    ASSERT_TRUE(view.ok());
    BatchHeader h = view->header();
    h.attributes = static_cast<int16_t>(codec);
    std::string batch;
    AppendRawBatch(h, compressed, &batch);
    absl::StatusOr<RecordBatchView> cview = RecordBatchView::Parse(batch);
    ASSERT_TRUE(cview.ok());
    absl::StatusOr<std::vector<Record>> records = DecodeRecords(*cview);
    ASSERT_TRUE(records.ok()) << records.status();
    std::string why;
    EXPECT_TRUE(testing::RecordsEqual(*records, SampleRecords(), &why)) << why;
  }
}

// ---------------------------------------------------------------- skim
// SkimRecords (the append path's fast check) must accept exactly what the
// full decoder accepts, under each combination of the append checks.

// The full decoder's verdict on the records of `view` (CRC not checked),
// with the append checks SkimOptions names; *max_ts as the append path
// computes it from the decoded records.
bool DecoderAccepts(const RecordBatchView& view, const SkimOptions& options,
                    int64_t* max_ts) {
  DecodeOptions decode;
  decode.verify_crc = false;
  RecordIterator it(view, decode);
  RecordView r;
  int32_t index = 0;
  *max_ts = -1;
  while (it.Next(&r)) {
    if (options.consecutive_deltas && r.offset_delta != index) return false;
    if (options.require_keys && !r.key.has_value()) return false;
    ++index;
    *max_ts = std::max(*max_ts, r.timestamp);
  }
  return it.status().ok();
}

constexpr SkimOptions kSkimOptionSets[] = {
    {.consecutive_deltas = false, .require_keys = false},
    {.consecutive_deltas = true, .require_keys = false},
    {.consecutive_deltas = false, .require_keys = true},
    {.consecutive_deltas = true, .require_keys = true},
};

// Returns how many option sets accepted the batch.
int ExpectSkimAgrees(const std::string& batch) {
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  if (!view.ok()) return 0;  // a header error: not the skim's concern
  int accepted = 0;
  for (const SkimOptions& o : kSkimOptionSets) {
    int64_t want_ts = 0;
    const bool want = DecoderAccepts(*view, o, &want_ts);
    SkimResult got;
    const bool ok = SkimRecords(*view, o, &got);
    EXPECT_EQ(ok, want) << "consecutive " << o.consecutive_deltas << " keys "
                        << o.require_keys << " batch "
                        << testing::BytesToHex(batch);
    if (ok && want) {
      EXPECT_EQ(got.max_timestamp, want_ts) << testing::BytesToHex(batch);
    }
    accepted += ok ? 1 : 0;
  }
  return accepted;
}

TEST(RecordSkimTest, RejectsEveryCorruptRecordTheDecoderRejects) {
  // The inputs of the RecordCheckTest cases above.
  const struct {
    const char* region_hex;
    int32_t count;
    int32_t last_offset_delta;
  } corrupt[] = {
      {"10000000026b027600 10000002026b027600", 3, 2},
      {"10000000026b027600 10000002026b027600", 1, 1},
      {"16 00 00 ffffffffff7f 01 01 00", 1, 0},
      {"04 00 80", 1, 0},
      {"00", 1, 0},
      {"0c 00 00 00 03 01 00", 1, 0},
      {"0e 00 00 00 01 0a 41 00", 1, 0},
      {"20 00 00", 1, 0},
      {"0e 00 00 00 01 01 00 ee", 1, 0},
      {"10 00 00 00 01 01 02 01 01", 1, 0},
      {"0c 00 00 00 01 01 7e", 1, 0},
      {"10000000026b027600 10000000026b027600", 2, 1},
      {"1000000a026b027600", 1, 0},
      // A record length varint that is truncated at the end of the region,
      // and one that overflows.
      {"80", 1, 0},
      {"ffffffffff7f", 1, 0},
  };
  for (const auto& c : corrupt) {
    SCOPED_TRACE(c.region_hex);
    std::string batch = RawBatch(c.region_hex, c.count, c.last_offset_delta);
    ASSERT_FALSE(Decode(batch).ok());
    EXPECT_EQ(ExpectSkimAgrees(batch), 0);
  }
}

TEST(RecordSkimTest, AppendChecksMatchTheDecoder) {
  // Offset deltas 0 and 3 of lastOffsetDelta 4 (compacted): valid, but not
  // a produced batch.
  std::string gaps = RawBatch("10000000026b027600 10000006026b027600", 2, 4);
  EXPECT_EQ(ExpectSkimAgrees(gaps), 2);  // accepted where deltas may skip
  // A record without a key (keyLength -1).
  std::string keyless = RawBatch("0e 00 00 00 01 02 61 00", 1, 0);
  ASSERT_TRUE(Decode(keyless).ok());
  EXPECT_EQ(ExpectSkimAgrees(keyless), 2);  // accepted where keys are optional
  // An empty batch (recordsCount 0, no records): accepted by both.
  EXPECT_EQ(ExpectSkimAgrees(RawBatch("", 0, 0)), 4);
  // Compressed batches are the caller's to decompress: never accepted.
  std::string zstd = testing::BuildBatch(
      SampleRecords(), {.compression = Compression::kZstd, .zstd_level = 3});
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(zstd);
  ASSERT_TRUE(view.ok());
  SkimResult r;
  EXPECT_FALSE(SkimRecords(*view, {}, &r));
}

TEST(RecordSkimTest, AcceptsRandomValidBatchesWithTheDecodersMaxTimestamp) {
  const uint64_t seed = testing::TestSeed();
  SCOPED_TRACE(::testing::Message() << "SPOOL_TEST_SEED=" << seed);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 200; ++i) {
    // Timestamps around 0 too, so some deltas and maxima are negative.
    const int64_t base = i % 2 == 0 ? kTs : 5000;
    std::vector<Record> records =
        testing::RandomRecords(rng, 1 + static_cast<int>(rng() % 30), base);
    std::string batch = testing::BuildBatch(records);
    ASSERT_TRUE(Decode(batch).ok());
    EXPECT_GE(ExpectSkimAgrees(batch), 2);  // accepted at least keys optional
  }
}

TEST(RecordSkimTest, AgreesWithTheDecoderOnRandomMutationsOfTheRecords) {
  const uint64_t seed = testing::TestSeed();
  SCOPED_TRACE(::testing::Message() << "SPOOL_TEST_SEED=" << seed);
  std::mt19937_64 rng(seed);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<Record> records =
        testing::RandomRecords(rng, 1 + static_cast<int>(rng() % 6), kTs);
    std::string plain = testing::BuildBatch(records);
    absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(plain);
    ASSERT_TRUE(view.ok());
    BatchHeader h = view->header();
    std::string region(view->records_region());
    // One to three edits: a byte replaced, a bit flipped, a byte inserted
    // or removed, or the region cut short; sometimes the record count or
    // lastOffsetDelta moves too. The CRC is recomputed, so only the record
    // checks stand between the edit and the log.
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !region.empty(); ++e) {
      const size_t at = rng() % region.size();
      switch (rng() % 6) {
        case 0:
          region[at] = static_cast<char>(rng());
          break;
        case 1:
          region[at] = static_cast<char>(region[at] ^ (1 << (rng() % 8)));
          break;
        case 2:
          region.insert(region.begin() + static_cast<ptrdiff_t>(at),
                        static_cast<char>(rng()));
          break;
        case 3:
          region.erase(at, 1);
          break;
        case 4:
          region.resize(at);
          break;
        case 5:
          // Small values are lengths and deltas near the valid ones.
          region[at] = static_cast<char>(rng() % 8);
          break;
      }
    }
    switch (rng() % 8) {
      case 0:
        h.records_count += 1;
        h.last_offset_delta += 1;
        break;
      case 1:
        if (h.records_count > 0) h.records_count -= 1;
        break;
      case 2:
        h.last_offset_delta += static_cast<int32_t>(rng() % 3);
        break;
      default:
        break;
    }
    std::string batch;
    AppendRawBatch(h, region, &batch);
    SCOPED_TRACE(i);
    (ExpectSkimAgrees(batch) > 0 ? accepted : rejected) += 1;
    if (::testing::Test::HasFailure()) return;
  }
  // Both outcomes were exercised.
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace spool
