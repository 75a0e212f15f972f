#include "format/varint.h"

#include <limits>
#include <string>

#include "format/coding.h"
#include "format/format_test_util.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using testing::BytesToHex;
using testing::HexToBytes;

std::string EncodeVarintString(int32_t v) {
  std::string s;
  PutVarint(&s, v);
  return s;
}

std::string EncodeVarlongString(int64_t v) {
  std::string s;
  PutVarlong(&s, v);
  return s;
}

VarintResult DecodeVarintString(std::string_view s, int32_t* v, size_t* used) {
  const char* p = s.data();
  VarintResult r = DecodeVarint(&p, s.data() + s.size(), v);
  *used = static_cast<size_t>(p - s.data());
  return r;
}

VarintResult DecodeVarlongString(std::string_view s, int64_t* v, size_t* used) {
  const char* p = s.data();
  VarintResult r = DecodeVarlong(&p, s.data() + s.size(), v);
  *used = static_cast<size_t>(p - s.data());
  return r;
}

// kafka-format.md §2.1.
TEST(VarintTest, EncodesKafkaVectors) {
  const std::pair<int32_t, const char*> varints[] = {
      {0, "00"},
      {-1, "01"},
      {1, "02"},
      {-2, "03"},
      {63, "7e"},
      {-64, "7f"},
      {64, "8001"},
      {300, "d804"},
      {-300, "d704"},
      {std::numeric_limits<int32_t>::max(), "feffffff0f"},
      {std::numeric_limits<int32_t>::min(), "ffffffff0f"},
  };
  for (const auto& [value, hex] : varints) {
    std::string encoded = EncodeVarintString(value);
    EXPECT_EQ(BytesToHex(encoded), hex) << value;
    EXPECT_EQ(VarintSize(value), static_cast<int>(encoded.size())) << value;
    int32_t decoded;
    size_t used;
    ASSERT_EQ(DecodeVarintString(encoded, &decoded, &used), VarintResult::kOk);
    EXPECT_EQ(decoded, value);
    EXPECT_EQ(used, encoded.size());
  }
  const std::pair<int64_t, const char*> varlongs[] = {
      {1700000000000, "80a0abfef962"},
      {std::numeric_limits<int64_t>::min(), "ffffffffffffffffff01"},
      {std::numeric_limits<int64_t>::max(), "feffffffffffffffff01"},
      {-1, "01"},
  };
  for (const auto& [value, hex] : varlongs) {
    std::string encoded = EncodeVarlongString(value);
    EXPECT_EQ(BytesToHex(encoded), hex) << value;
    EXPECT_EQ(VarlongSize(value), static_cast<int>(encoded.size())) << value;
    int64_t decoded;
    size_t used;
    ASSERT_EQ(DecodeVarlongString(encoded, &decoded, &used), VarintResult::kOk);
    EXPECT_EQ(decoded, value);
    EXPECT_EQ(used, encoded.size());
  }
}

TEST(VarintTest, RoundTripsEveryBitBoundary) {
  for (int bit = 0; bit < 64; ++bit) {
    for (int64_t delta : {-1, 0, 1}) {
      int64_t v = static_cast<int64_t>((uint64_t{1} << bit) + delta);
      int64_t neg = static_cast<int64_t>(0 - static_cast<uint64_t>(v));
      for (int64_t x : {v, neg}) {
        int64_t decoded;
        size_t used;
        std::string e = EncodeVarlongString(x);
        ASSERT_EQ(DecodeVarlongString(e, &decoded, &used), VarintResult::kOk);
        EXPECT_EQ(decoded, x);
        int32_t x32 = static_cast<int32_t>(x);
        int32_t decoded32;
        e = EncodeVarintString(x32);
        ASSERT_EQ(DecodeVarintString(e, &decoded32, &used), VarintResult::kOk);
        EXPECT_EQ(decoded32, x32);
      }
    }
  }
}

TEST(VarintTest, EveryProperPrefixIsTruncatedAndLeavesCursorUnmoved) {
  for (std::string encoded :
       {EncodeVarintString(-300), EncodeVarintString(1 << 30),
        EncodeVarlongString(1700000000000)}) {
    for (size_t n = 0; n < encoded.size(); ++n) {
      int64_t v = 12345;
      size_t used;
      EXPECT_EQ(DecodeVarlongString(encoded.substr(0, n), &v, &used),
                VarintResult::kTruncated)
          << BytesToHex(encoded) << " cut at " << n;
      EXPECT_EQ(used, 0u);
      EXPECT_EQ(v, 12345);
    }
  }
}

TEST(VarintTest, VarintLongerThanFiveBytesOverflows) {
  int32_t v;
  size_t used;
  // Continuation bit set in the 5th byte.
  EXPECT_EQ(DecodeVarintString(HexToBytes("ffffffff8f01"), &v, &used),
            VarintResult::kOverflow);
  EXPECT_EQ(DecodeVarintString(HexToBytes("8080808080"), &v, &used),
            VarintResult::kOverflow);
}

TEST(VarintTest, VarintWithBitsBeyondBit31Overflows) {
  int32_t v;
  size_t used;
  EXPECT_EQ(DecodeVarintString(HexToBytes("ffffffff0f"), &v, &used),
            VarintResult::kOk);
  EXPECT_EQ(v, std::numeric_limits<int32_t>::min());
  EXPECT_EQ(DecodeVarintString(HexToBytes("ffffffff1f"), &v, &used),
            VarintResult::kOverflow);
  EXPECT_EQ(DecodeVarintString(HexToBytes("8080808070"), &v, &used),
            VarintResult::kOverflow);
}

TEST(VarintTest, VarlongLongerThanTenBytesOrBeyondBit63Overflows) {
  int64_t v;
  size_t used;
  EXPECT_EQ(DecodeVarlongString(HexToBytes("ffffffffffffffffff02"), &v, &used),
            VarintResult::kOverflow);
  EXPECT_EQ(
      DecodeVarlongString(HexToBytes("ffffffffffffffffff8101"), &v, &used),
      VarintResult::kOverflow);
  EXPECT_EQ(DecodeVarlongString(HexToBytes("80808080808080808080"), &v, &used),
            VarintResult::kOverflow);
}

TEST(VarintTest, AcceptsNonMinimalEncodingsLikeKafka) {
  int32_t v;
  size_t used;
  EXPECT_EQ(DecodeVarintString(HexToBytes("8000"), &v, &used),
            VarintResult::kOk);
  EXPECT_EQ(v, 0);
  EXPECT_EQ(used, 2u);
}

TEST(VarintTest, DecodeStopsAtTheEncodingEnd) {
  std::string two = EncodeVarintString(300) + EncodeVarintString(-1);
  int32_t v;
  size_t used;
  ASSERT_EQ(DecodeVarintString(two, &v, &used), VarintResult::kOk);
  EXPECT_EQ(v, 300);
  EXPECT_EQ(used, 2u);
  EXPECT_EQ(VarintResultName(VarintResult::kOverflow), "overflow");
}

TEST(CodingTest, FixedWidthIsBigEndian) {
  std::string s;
  PutFixed16BE(&s, 0x0102);
  PutFixed32BE(&s, 0x03040506);
  PutFixed64BE(&s, 0x0708090a0b0c0d0eULL);
  EXPECT_EQ(BytesToHex(s), "0102030405060708090a0b0c0d0e");
  EXPECT_EQ(DecodeFixed16BE(s.data()), 0x0102);
  EXPECT_EQ(DecodeFixed32BE(s.data() + 2), 0x03040506u);
  EXPECT_EQ(DecodeFixed64BE(s.data() + 6), 0x0708090a0b0c0d0eULL);
  char buf[8];
  EncodeFixed64BE(buf, static_cast<uint64_t>(int64_t{-2}));
  EXPECT_EQ(static_cast<int64_t>(DecodeFixed64BE(buf)), -2);
  EncodeFixed32BE(buf, 0xfffffffe);
  EXPECT_EQ(static_cast<int32_t>(DecodeFixed32BE(buf)), -2);
  EncodeFixed16BE(buf, 0xfffe);
  EXPECT_EQ(static_cast<int16_t>(DecodeFixed16BE(buf)), -2);
}

}  // namespace
}  // namespace spool
