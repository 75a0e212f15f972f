// Table-driven corruption suite: every single-bit flip and every truncation
// of a set of batches is either detected with the right code or (for the
// fields outside the CRC) changes exactly that field; random garbage never
// crashes, hangs or allocates without bound (run under ASan/UBSan).

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "format/batch_internal.h"
#include "format/coding.h"
#include "format/compression.h"
#include "format/format_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/record.h"

namespace spool {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr int64_t kTs = 1700000000000;

struct Case {
  std::string name;
  std::vector<Record> records;
  BatchBuilderOptions options;
  std::string batch;
};

std::vector<Record> SmallRecords(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Record> records;
  for (int i = 0; i < n; ++i) {
    Record r;
    if (i % 3 != 0) r.key = "key-" + std::to_string(i);
    r.value = testing::RandomBytes(rng, rng() % 60);
    if (i % 4 == 1) r.headers.push_back(Header{"trace", "abc"});
    r.timestamp = kTs + static_cast<int64_t>(rng() % 100) - 50;
    records.push_back(std::move(r));
  }
  return records;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    for (int n : {1, 7, 40}) {
      Case k;
      k.name = absl::StrFormat("%s-%d", CompressionName(c), n);
      k.records = SmallRecords(n, n);
      k.options.compression = c;
      k.options.base_offset = 1000;
      k.options.partition_leader_epoch = 5;
      k.batch = testing::BuildBatch(k.records, k.options);
      cases.push_back(std::move(k));
    }
  }
  return cases;
}

absl::StatusOr<std::vector<Record>> DecodeAll(std::string_view bytes,
                                              const DecodeOptions& options,
                                              BatchHeader* header) {
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(bytes);
  if (!view.ok()) return view.status();
  *header = view->header();
  return DecodeRecords(*view, options);
}

bool SameExceptBaseOffsetAndEpoch(BatchHeader a, BatchHeader b) {
  a.base_offset = b.base_offset;
  a.partition_leader_epoch = b.partition_leader_epoch;
  return a.batch_length == b.batch_length && a.crc == b.crc &&
         a.attributes == b.attributes &&
         a.last_offset_delta == b.last_offset_delta &&
         a.base_timestamp == b.base_timestamp &&
         a.max_timestamp == b.max_timestamp && a.producer_id == b.producer_id &&
         a.producer_epoch == b.producer_epoch &&
         a.base_sequence == b.base_sequence &&
         a.records_count == b.records_count;
}

// What a detected flip must look like, by the field it hit.
void ExpectDetected(const absl::Status& s, size_t byte) {
  std::string m(s.message());
  if (byte >= kBatchLengthPos && byte < kPartitionLeaderEpochPos) {
    // Longer: the input ends first. Shorter: the CRC'd span changes.
    if (s.code() == absl::StatusCode::kOutOfRange) {
      EXPECT_THAT(m, HasSubstr("truncated batch: batchLength"));
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
      EXPECT_THAT(m,
                  AnyOf(HasSubstr("CRC mismatch"), HasSubstr("batchLength")));
    }
  } else if (byte == kMagicPos) {
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(m, HasSubstr("bad magic"));
  } else {
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    // The CRC, or a header check that runs before it.
    EXPECT_THAT(
        m,
        AnyOf(HasSubstr("CRC mismatch"), HasSubstr("unknown compression codec"),
              HasSubstr("recordsCount"), HasSubstr("lastOffsetDelta")));
  }
}

TEST(CorruptionTest,
     EverySingleBitFlipIsDetectedOrChangesOnlyAFieldOutsideTheCrc) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    BatchHeader original;
    absl::StatusOr<std::vector<Record>> want =
        DecodeAll(c.batch, {}, &original);
    ASSERT_TRUE(want.ok()) << want.status();
    for (size_t byte = 0; byte < c.batch.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        SCOPED_TRACE(absl::StrFormat("byte %d bit %d", byte, bit));
        std::string mutated = c.batch;
        mutated[byte] ^= static_cast<char>(1 << bit);
        BatchHeader h;
        absl::StatusOr<std::vector<Record>> got = DecodeAll(mutated, {}, &h);
        bool outside_crc =
            byte < kBatchLengthPos ||
            (byte >= kPartitionLeaderEpochPos && byte < kMagicPos);
        if (!outside_crc) {
          ASSERT_FALSE(got.ok()) << "undetected";
          ExpectDetected(got.status(), byte);
          continue;
        }
        ASSERT_TRUE(got.ok()) << got.status();
        std::string why;
        EXPECT_TRUE(testing::RecordsEqual(*got, *want, &why)) << why;
        EXPECT_TRUE(SameExceptBaseOffsetAndEpoch(h, original));
        if (byte < kBatchLengthPos) {
          EXPECT_EQ(static_cast<uint64_t>(h.base_offset),
                    static_cast<uint64_t>(original.base_offset) ^
                        (uint64_t{1} << (8 * (7 - byte) + bit)));
          EXPECT_EQ(h.partition_leader_epoch, original.partition_leader_epoch);
        } else {
          EXPECT_EQ(static_cast<uint32_t>(h.partition_leader_epoch),
                    static_cast<uint32_t>(original.partition_leader_epoch) ^
                        (uint32_t{1} << (8 * (15 - byte) + bit)));
          EXPECT_EQ(h.base_offset, original.base_offset);
        }
      }
    }
  }
}

// Without the CRC the record decoder and the decompressors see the flipped
// bytes themselves: they may accept them, but must not crash or misbehave.
TEST(CorruptionTest, BitFlipsWithoutCrcCheckNeverCrash) {
  DecodeOptions options;
  options.verify_crc = false;
  options.max_decompressed_bytes = 1 << 20;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    for (size_t byte = 0; byte < c.batch.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string mutated = c.batch;
        mutated[byte] ^= static_cast<char>(1 << bit);
        BatchHeader h;
        absl::StatusOr<std::vector<Record>> got =
            DecodeAll(mutated, options, &h);
        if (got.ok()) {
          EXPECT_EQ(got->size(), static_cast<size_t>(h.records_count));
        } else {
          EXPECT_THAT(
              got.status().code(),
              AnyOf(absl::StatusCode::kDataLoss, absl::StatusCode::kOutOfRange,
                    absl::StatusCode::kResourceExhausted))
              << got.status();
        }
      }
    }
  }
}

TEST(CorruptionTest, EveryTruncationIsAnIncompleteBatch) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    for (size_t n = 0; n < c.batch.size(); ++n) {
      std::string_view cut = std::string_view(c.batch).substr(0, n);
      absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(cut);
      ASSERT_EQ(view.status().code(), absl::StatusCode::kOutOfRange)
          << "cut at " << n << ": " << view.status();
      EXPECT_THAT(std::string(view.status().message()),
                  HasSubstr("truncated batch"));
      BatchScanner scanner(cut, 100);
      ScannedBatch b;
      EXPECT_FALSE(scanner.Next(&b));
      EXPECT_EQ(scanner.stop_reason(),
                n == 0 ? ScanStop::kEnd : ScanStop::kIncompleteTail);
      EXPECT_EQ(scanner.valid_end(), 100u);
    }
  }
}

// A records region cut short under a header re-sealed to match (valid
// length and CRC), as a buggy writer could produce: the record decoder or
// the decompressor must notice.
TEST(CorruptionTest, EveryTruncatedRecordsRegionUnderAValidHeaderIsDataLoss) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(c.batch);
    ASSERT_TRUE(view.ok());
    std::string_view region = view->records_region();
    for (size_t n = 0; n < region.size(); ++n) {
      std::string batch;
      AppendRawBatch(view->header(), region.substr(0, n), &batch);
      BatchHeader h;
      absl::StatusOr<std::vector<Record>> got = DecodeAll(batch, {}, &h);
      ASSERT_EQ(got.status().code(), absl::StatusCode::kDataLoss)
          << "region cut at " << n << ": " << got.status();
      EXPECT_THAT(std::string(got.status().message()),
                  AnyOf(HasSubstr("record "), HasSubstr("recordsCount"),
                        HasSubstr("records region (zstd")));
    }
  }
}

// Turns `region` into a batch whose header and CRC are valid, so decoding
// reaches the records / decompressor.
std::string Seal(std::string_view region, Compression codec, int32_t count) {
  BatchHeader h;
  h.attributes = static_cast<int16_t>(codec);
  h.records_count = count;
  h.last_offset_delta = std::max(count - 1, 0) + count % 3;
  std::string batch;
  AppendRawBatch(h, region, &batch);
  return batch;
}

std::string CompressWith(Compression codec, std::string_view data,
                         int variant) {
  switch (codec) {
    case Compression::kGzip:
      return testing::GzipCompress(data);
    case Compression::kSnappy:
      return variant % 2 ? testing::SnappyRawCompress(data)
                         : testing::SnappyXerialCompress(data, 64);
    case Compression::kLz4: {
      testing::Lz4FrameOptions o;
      o.content_size = variant % 2;
      o.content_checksum = variant % 3 == 0;
      return testing::Lz4FrameCompress(data, o);
    }
    case Compression::kZstd:
      return variant % 2 ? testing::ZstdStreamCompress(data) : [&] {
        std::string s;
        EXPECT_TRUE(CompressZstd(data, 1, &s).ok());
        return s;
      }();
    case Compression::kNone:
      break;
  }
  return std::string(data);
}

void DecodeGarbage(std::string_view log) {
  DecodeOptions options;
  options.verify_crc = false;
  options.max_decompressed_bytes = 256 << 10;
  BatchScanner scanner(log, 0, /*verify_crc=*/false);
  ScannedBatch b;
  while (scanner.Next(&b)) {
    RecordIterator it(b.batch, options);
    RecordView r;
    int n = 0;
    while (it.Next(&r)) ++n;
    ASSERT_LE(n, b.batch.header().records_count);
  }
}

TEST(CorruptionTest, RandomGarbageNeverCrashes) {
  uint64_t seed = testing::TestSeed();
  SCOPED_TRACE(absl::StrFormat("seed=%d (rerun with SPOOL_TEST_SEED)", seed));
  std::mt19937_64 rng(seed);
  std::string plain_region =
      testing::BuildBatch(SmallRecords(12, 3)).substr(kBatchHeaderSize);
  for (int i = 0; i < 4000; ++i) {
    int kind = static_cast<int>(rng() % 4);
    Compression codec = static_cast<Compression>(rng() % 5);
    std::string region;
    if (kind == 0) {
      // Pure garbage, sometimes starting like a batch.
      std::string garbage = testing::RandomBytes(rng, rng() % 3000);
      if (garbage.size() > 17 && rng() % 2) {
        EncodeFixed32BE(garbage.data() + 8,
                        static_cast<uint32_t>(garbage.size() - 12));
        garbage[16] = 2;
      }
      DecodeGarbage(garbage);
      continue;
    }
    if (kind == 1) {
      region = testing::RandomBytes(rng, rng() % 2000);
    } else {
      // A valid stream with a few random bytes changed.
      region = CompressWith(codec, plain_region, static_cast<int>(rng()));
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips && !region.empty(); ++f) {
        region[rng() % region.size()] = static_cast<char>(rng());
      }
      if (kind == 3 && !region.empty()) region.resize(rng() % region.size());
    }
    std::string log = Seal(region, codec, static_cast<int32_t>(rng() % 20));
    DecodeGarbage(log);
    std::string out;
    Decompress(codec, region, 256 << 10, &out).IgnoreError();  // any outcome
    EXPECT_LE(out.size(), size_t{256} << 10);
  }
}

}  // namespace
}  // namespace spool
