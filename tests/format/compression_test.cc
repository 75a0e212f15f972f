#include "format/compression.h"

#include <zstd.h>

#include <random>
#include <string>

#include "format/coding.h"
#include "format/format_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using ::testing::HasSubstr;
using testing::HexToBytes;

std::string SampleText(size_t n) {
  std::mt19937_64 rng(n);
  std::string s;
  while (s.size() < n) {
    s += "record-" + std::to_string(rng() % 1000) + " ";
  }
  s.resize(n);
  return s;
}

void ExpectDecompresses(Compression codec, const std::string& compressed,
                        const std::string& original) {
  std::string out = "junk that must be replaced";
  absl::Status s = Decompress(codec, compressed, 1 << 24, &out);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(out.size(), original.size());
  EXPECT_TRUE(out == original);
  // The exact size is within the limit.
  s = Decompress(codec, compressed, original.size(), &out);
  EXPECT_TRUE(s.ok()) << s;
  if (!original.empty()) {
    s = Decompress(codec, compressed, original.size() - 1, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  }
}

void ExpectError(const absl::Status& s, absl::StatusCode code,
                 std::string_view fragment) {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(std::string(fragment)));
}

TEST(CompressionTest, NoneCopiesWithinTheLimit) {
  ExpectDecompresses(Compression::kNone, "abc", "abc");
  std::string out;
  ExpectError(Decompress(Compression::kNone, "abcd", 3, &out),
              absl::StatusCode::kResourceExhausted,
              "none: decompressed size "
              "exceeds the limit of 3 bytes");
}

TEST(CompressionTest, UnknownCodecIsInvalidArgument) {
  std::string out;
  ExpectError(Decompress(static_cast<Compression>(6), "x", 10, &out),
              absl::StatusCode::kInvalidArgument,
              "unknown compression codec id 6");
}

TEST(CompressionTest, ZstdRoundTripsAndRecordsContentSize) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{300000}}) {
    std::string input = SampleText(n);
    std::string compressed = "prefix";
    ASSERT_TRUE(CompressZstd(input, 3, &compressed).ok());
    ASSERT_EQ(compressed.substr(0, 6), "prefix");
    compressed.erase(0, 6);
    EXPECT_EQ(ZSTD_getFrameContentSize(compressed.data(), compressed.size()),
              n);
    ExpectDecompresses(Compression::kZstd, compressed, input);
  }
}

TEST(CompressionTest, ZstdRejectsLevelsOutsideItsRange) {
  std::string out;
  ExpectError(CompressZstd("x", 1000, &out), absl::StatusCode::kInvalidArgument,
              "zstd level 1000 outside");
}

TEST(CompressionTest, ZstdStreamWithoutContentSizeAndSeveralFrames) {
  std::string a = SampleText(70000), b = SampleText(5000);
  std::string stream = testing::ZstdStreamCompress(a);
  EXPECT_EQ(ZSTD_getFrameContentSize(stream.data(), stream.size()),
            ZSTD_CONTENTSIZE_UNKNOWN);
  ExpectDecompresses(Compression::kZstd, stream, a);
  std::string second;
  ASSERT_TRUE(CompressZstd(b, 1, &second).ok());
  ExpectDecompresses(Compression::kZstd, stream + second, a + b);
}

TEST(CompressionTest, ZstdTruncatedOrGarbageIsDataLoss) {
  std::string input = SampleText(5000);
  std::string compressed;
  ASSERT_TRUE(CompressZstd(input, 3, &compressed).ok());
  std::string out;
  ExpectError(
      Decompress(Compression::kZstd,
                 compressed.substr(0, compressed.size() - 3), 1 << 20, &out),
      absl::StatusCode::kDataLoss, "zstd: input ends inside a frame");
  ExpectError(Decompress(Compression::kZstd, "not zstd at all", 1 << 20, &out),
              absl::StatusCode::kDataLoss,
              "zstd: input does not start with a valid frame header");
  ExpectError(Decompress(Compression::kZstd, "", 1 << 20, &out),
              absl::StatusCode::kDataLoss, "zstd: empty input");
  ExpectError(
      Decompress(Compression::kZstd, compressed + "trailing", 1 << 20, &out),
      absl::StatusCode::kDataLoss, "zstd: decompression failed");
}

TEST(CompressionTest, ZstdBombsAreResourceExhausted) {
  std::string zeros(16 << 20, '\0');
  std::string claimed;
  ASSERT_TRUE(CompressZstd(zeros, 1, &claimed).ok());
  std::string out;
  // The frame claims 16 MiB: rejected before allocating anything.
  ExpectError(Decompress(Compression::kZstd, claimed, 1 << 20, &out),
              absl::StatusCode::kResourceExhausted,
              "zstd: frame claims 16777216 decompressed bytes, over the limit "
              "of 1048576");
  // A stream that does not say: stopped once the output passes the limit.
  std::string streamed = testing::ZstdStreamCompress(zeros, 1);
  ExpectError(Decompress(Compression::kZstd, streamed, 1 << 20, &out),
              absl::StatusCode::kResourceExhausted,
              "zstd: decompressed size exceeds the limit of 1048576 bytes");
  EXPECT_LE(out.capacity(), size_t{2} * ((1 << 20) + 1));
}

TEST(CompressionTest, GzipRoundTripsIncludingSeveralMembers) {
  std::string a = SampleText(100000), b = SampleText(10);
  ExpectDecompresses(Compression::kGzip, testing::GzipCompress(a), a);
  ExpectDecompresses(Compression::kGzip, testing::GzipCompress(""), "");
  ExpectDecompresses(Compression::kGzip,
                     testing::GzipCompress(a) + testing::GzipCompress(b),
                     a + b);
}

TEST(CompressionTest, GzipTruncatedOrGarbageIsDataLoss) {
  std::string compressed = testing::GzipCompress(SampleText(5000));
  std::string out;
  ExpectError(
      Decompress(Compression::kGzip,
                 compressed.substr(0, compressed.size() - 5), 1 << 20, &out),
      absl::StatusCode::kDataLoss, "gzip: input ends inside the stream");
  ExpectError(
      Decompress(Compression::kGzip, "definitely not gzip", 1 << 20, &out),
      absl::StatusCode::kDataLoss,
      "gzip: inflate failed near input "
      "byte");
  std::string bad = compressed;
  bad[bad.size() - 6] ^= 0xff;  // inside the CRC-32 trailer
  ExpectError(Decompress(Compression::kGzip, bad, 1 << 20, &out),
              absl::StatusCode::kDataLoss, "gzip: inflate failed");
}

TEST(CompressionTest, GzipBombIsResourceExhaustedWithBoundedOutput) {
  std::string bomb = testing::GzipCompress(std::string(32 << 20, '\0'));
  EXPECT_LT(bomb.size(), 64u << 10);
  std::string out;
  ExpectError(Decompress(Compression::kGzip, bomb, 1 << 20, &out),
              absl::StatusCode::kResourceExhausted,
              "gzip: decompressed size exceeds the limit of 1048576 bytes");
  EXPECT_LE(out.capacity(), size_t{2} * ((1 << 20) + 1));
}

TEST(CompressionTest, SnappyReadsXerialFramingAndRawBlocks) {
  std::string input = SampleText(200000);
  ExpectDecompresses(Compression::kSnappy,
                     testing::SnappyXerialCompress(input, 32 << 10), input);
  ExpectDecompresses(Compression::kSnappy, testing::SnappyRawCompress(input),
                     input);
  ExpectDecompresses(Compression::kSnappy, testing::SnappyRawCompress(""), "");
  ExpectDecompresses(Compression::kSnappy,
                     testing::SnappyXerialCompress("", 10), "");
}

TEST(CompressionTest, SnappyXerialChunkPastTheEndIsDataLoss) {
  std::string framed = testing::SnappyXerialCompress(SampleText(1000), 400);
  std::string out;
  ExpectError(Decompress(Compression::kSnappy,
                         framed.substr(0, framed.size() - 1), 1 << 20, &out),
              absl::StatusCode::kDataLoss,
              "snappy: xerial chunk at input byte");
  std::string header_only = framed.substr(0, 18);
  ExpectError(Decompress(Compression::kSnappy, header_only, 1 << 20, &out),
              absl::StatusCode::kDataLoss,
              "snappy: xerial chunk length at input byte 16 is truncated");
  std::string negative = framed;
  EncodeFixed32BE(negative.data() + 16, 0x80000000u);
  ExpectError(Decompress(Compression::kSnappy, negative, 1 << 20, &out),
              absl::StatusCode::kDataLoss,
              "snappy: xerial chunk at input byte 16 claims -2147483648 bytes");
}

TEST(CompressionTest, SnappyCorruptBlockIsDataLoss) {
  std::string raw = testing::SnappyRawCompress(SampleText(1000));
  raw.resize(raw.size() / 2);
  std::string out;
  ExpectError(Decompress(Compression::kSnappy, raw, 1 << 20, &out),
              absl::StatusCode::kDataLoss, "snappy: block at input byte 0 (");
  ExpectError(Decompress(Compression::kSnappy, "\xff\xff\xff\xff\xff\xff",
                         1 << 20, &out),
              absl::StatusCode::kDataLoss,
              "snappy: block at input byte 0 has an invalid length preamble");
}

TEST(CompressionTest, SnappyClaimedSizeBeyondLimitIsCheckedBeforeAllocating) {
  // A raw block whose preamble claims 2^32-1 bytes.
  std::string out;
  ExpectError(Decompress(Compression::kSnappy, HexToBytes("ffffffff0f00"),
                         1 << 20, &out),
              absl::StatusCode::kResourceExhausted,
              "snappy: block at input byte 0 claims 4294967295 bytes");
  EXPECT_LT(out.capacity(), 1u << 20);
}

TEST(CompressionTest, Lz4ReadsAnyValidFrame) {
  std::string input = SampleText(300000);
  testing::Lz4FrameOptions kafka;  // 64 KiB independent blocks, no checksums
  testing::Lz4FrameOptions sarama;
  sarama.content_checksum = true;
  sarama.block_size_id = 7;  // 4 MiB
  testing::Lz4FrameOptions everything;
  everything.content_size = true;
  everything.content_checksum = true;
  everything.block_checksum = true;
  everything.linked_blocks = true;
  everything.block_size_id = 5;
  for (const auto& options : {kafka, sarama, everything}) {
    std::string frame = testing::Lz4FrameCompress(input, options);
    ExpectDecompresses(Compression::kLz4, frame, input);
  }
  // Kafka's own writer starts every stream with these 7 bytes.
  EXPECT_EQ(
      testing::BytesToHex(testing::Lz4FrameCompress("x", kafka).substr(0, 7)),
      "04224d18604082");
  ExpectDecompresses(Compression::kLz4, testing::Lz4FrameCompress("", kafka),
                     "");
  ExpectDecompresses(Compression::kLz4,
                     testing::Lz4FrameCompress("abc", kafka) +
                         testing::Lz4FrameCompress("def", everything),
                     "abcdef");
}

TEST(CompressionTest, Lz4TruncatedOrCorruptIsDataLoss) {
  testing::Lz4FrameOptions options;
  options.content_checksum = true;
  std::string frame = testing::Lz4FrameCompress(SampleText(5000), options);
  std::string out;
  ExpectError(Decompress(Compression::kLz4, frame.substr(0, frame.size() - 2),
                         1 << 20, &out),
              absl::StatusCode::kDataLoss, "lz4: input ends inside a frame");
  std::string bad = frame;
  bad[bad.size() - 2] ^= 0x01;  // content checksum
  ExpectError(Decompress(Compression::kLz4, bad, 1 << 20, &out),
              absl::StatusCode::kDataLoss, "lz4: decompression failed");
  ExpectError(Decompress(Compression::kLz4, "nope", 1 << 20, &out),
              absl::StatusCode::kDataLoss,
              "lz4: decompression failed near "
              "input byte 0");
}

TEST(CompressionTest, Lz4BombsAreResourceExhausted) {
  std::string zeros(8 << 20, '\0');
  testing::Lz4FrameOptions with_size;
  with_size.content_size = true;
  std::string out;
  ExpectError(
      Decompress(Compression::kLz4, testing::Lz4FrameCompress(zeros, with_size),
                 1 << 20, &out),
      absl::StatusCode::kResourceExhausted,
      "lz4: frame claims 8388608 decompressed bytes");
  ExpectError(Decompress(Compression::kLz4, testing::Lz4FrameCompress(zeros),
                         1 << 20, &out),
              absl::StatusCode::kResourceExhausted,
              "lz4: decompressed size exceeds the limit of 1048576 bytes");
  EXPECT_LE(out.capacity(), size_t{2} * ((1 << 20) + 1));
}

}  // namespace
}  // namespace spool
