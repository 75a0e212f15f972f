#include <string>

#include "gtest/gtest.h"
#include "spool/record.h"

namespace spool {
namespace {

// kafka-format.md §10, from Kafka's UtilsTest.testMurmur2.
struct Murmur2Vector {
  const char* key;
  int32_t hash;
  int32_t partition_of_10;
};

constexpr Murmur2Vector kVectors[] = {
    {"21", -973932308, 0},
    {"foobar", -790332482, 6},
    {"a-little-bit-long-string", -985981536, 2},
    {"a-little-bit-longer-string", -1486304829, 9},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971, 7},
    {"abc", 479470107, 7},
};

TEST(Murmur2Test, MatchesKafkaUtilsTestVectors) {
  for (const Murmur2Vector& v : kVectors) {
    EXPECT_EQ(Murmur2(v.key), v.hash) << v.key;
  }
}

TEST(Murmur2Test, PartitionMasksTheSignBitInsteadOfTakingAbs) {
  for (const Murmur2Vector& v : kVectors) {
    EXPECT_EQ(PartitionForKey(v.key, 10), v.partition_of_10) << v.key;
  }
  // toPositive(-973932308) = 1173551340, not 973932308.
  EXPECT_EQ(PartitionForKey("21", 1173551341), 1173551340);
}

// Values from tests/data/reference/kafka_format_check.py's murmur2, for
// prefixes of a key made of bytes >= 0x80 (which must not be sign-extended)
// covering every tail length 0..3.
TEST(Murmur2Test, HashesHighBytesAsUnsignedForEveryTailLength) {
  const std::string key = "\x80\xff\xfe\x81\x90\xa5\xc3";
  const int32_t expected[] = {275646681, 857690492,   -80095470,   810766165,
                              85049,     -1856869335, -1594634655, -1628084658};
  for (size_t n = 0; n <= key.size(); ++n) {
    EXPECT_EQ(Murmur2(key.substr(0, n)), expected[n]) << "prefix " << n;
  }
}

}  // namespace
}  // namespace spool
