#include "format/crc32c.h"

#include <random>
#include <string>

#include "absl/strings/str_format.h"
#include "format/format_test_util.h"
#include "gtest/gtest.h"
#include "spool/record.h"

namespace spool {
namespace {

using crc32c::Extend;
using crc32c::ExtendHardware;
using crc32c::ExtendPortable;
using crc32c::HardwareAccelerated;
using crc32c::Value;

struct Vector {
  std::string name;
  std::string data;
  uint32_t crc;
};

std::vector<Vector> KnownVectors() {
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  return {
      {"empty", "", 0x00000000},
      {"check value 123456789", "123456789", 0xE3069283},
      {"RFC 3720 B.4 32 zero bytes", std::string(32, '\0'), 0x8A9136AA},
      {"RFC 3720 B.4 32 0xFF bytes", std::string(32, '\xff'), 0x62A8AB43},
      {"RFC 3720 B.4 ascending 00..1F", ascending, 0x46DD794E},
      {"RFC 3720 B.4 descending 1F..00", descending, 0x113FDB5C},
  };
}

TEST(Crc32cTest, MatchesRfc3720AndCheckValueOnEveryPath) {
  for (const Vector& v : KnownVectors()) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(Value(v.data.data(), v.data.size()), v.crc);
    EXPECT_EQ(ExtendPortable(0, v.data.data(), v.data.size()), v.crc);
    if (HardwareAccelerated()) {
      EXPECT_EQ(ExtendHardware(0, v.data.data(), v.data.size()), v.crc);
    }
  }
}

TEST(Crc32cTest, ExtendComposesAcrossEverySplitPoint) {
  std::mt19937_64 rng(7);
  std::string data = testing::RandomBytes(rng, 1000);
  uint32_t whole = Value(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    uint32_t first = Value(data.data(), split);
    EXPECT_EQ(Extend(first, data.data() + split, data.size() - split), whole)
        << "split at " << split;
    EXPECT_EQ(ExtendPortable(ExtendPortable(0, data.data(), split),
                             data.data() + split, data.size() - split),
              whole)
        << "split at " << split;
  }
}

// The hardware path has distinct code for alignment, the 8-byte loop, three
// block sizes of three-stream rounds (3 x 64, 3 x 256, 3 x 8192 bytes) and
// the byte tail. Every length up to 1024 from every start alignment covers
// all the boundaries below the largest tier (the test asked for 0..300).
TEST(Crc32cTest, HardwareMatchesPortableForAllSmallLengthsAndAlignments) {
  if (!HardwareAccelerated()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  uint64_t seed = testing::TestSeed();
  SCOPED_TRACE(absl::StrFormat("seed=%d (rerun with SPOOL_TEST_SEED)", seed));
  std::mt19937_64 rng(seed);
  std::string buf = testing::RandomBytes(rng, 1024 + 16);
  for (size_t align = 0; align < 16; ++align) {
    for (size_t len = 0; len <= 1024; ++len) {
      uint32_t init = static_cast<uint32_t>(rng());
      const char* p = buf.data() + align;
      ASSERT_EQ(ExtendHardware(init, p, len), ExtendPortable(init, p, len))
          << "align " << align << " len " << len << " init " << init;
    }
  }
}

TEST(Crc32cTest, HardwareMatchesPortableOnLargeAndRandomBuffers) {
  if (!HardwareAccelerated()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  uint64_t seed = testing::TestSeed();
  SCOPED_TRACE(absl::StrFormat("seed=%d (rerun with SPOOL_TEST_SEED)", seed));
  std::mt19937_64 rng(seed);
  std::string buf = testing::RandomBytes(rng, (4 << 20) + 64);
  // Sizes around the tier boundaries (3 x 8192 plus smaller tiers), then
  // random ones.
  std::vector<size_t> sizes = {24575,       24576,     24577,   24576 + 768 + 7,
                               24576 + 959, 49152 + 5, 1 << 20, 4 << 20};
  for (int i = 0; i < 40; ++i) sizes.push_back(rng() % (1 << 20));
  for (size_t n : sizes) {
    size_t align = rng() % 64;
    uint32_t init = static_cast<uint32_t>(rng());
    const char* p = buf.data() + align;
    ASSERT_EQ(ExtendHardware(init, p, n), ExtendPortable(init, p, n))
        << "len " << n << " align " << align;
  }
}

TEST(Crc32cTest, ExtendUsesTheHardwarePathWhenAvailable) {
  std::string data(100, 'x');
  uint32_t expected = HardwareAccelerated()
                          ? ExtendHardware(0, data.data(), data.size())
                          : ExtendPortable(0, data.data(), data.size());
  EXPECT_EQ(Value(data), expected);
  ::testing::Test::RecordProperty("crc32c_hardware", HardwareAccelerated());
}

TEST(Crc32cTest, BatchCrcCoversBytesFromAttributesToTheEnd) {
  std::string batch(70, '\0');
  for (size_t i = 0; i < batch.size(); ++i) batch[i] = static_cast<char>(i);
  EXPECT_EQ(ComputeBatchCrc(batch), Value(batch.data() + 21, 70 - 21));
  // Bytes before 21 do not matter.
  std::string changed = batch;
  for (size_t i = 0; i < 21; ++i) changed[i] = '\x55';
  EXPECT_EQ(ComputeBatchCrc(changed), ComputeBatchCrc(batch));
}

}  // namespace
}  // namespace spool
