// Kafka's default partitioner hash: 32-bit MurmurHash2 with Kafka's seed,
// bytes read as unsigned, blocks little-endian.

#include <cstdint>
#include <string_view>

#include "spool/record.h"

namespace spool {

int32_t Murmur2(std::string_view key) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const size_t length = key.size();
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  size_t i = 0;
  for (; i + 4 <= length; i += 4) {
    uint32_t k = uint32_t{data[i]} | (uint32_t{data[i + 1]} << 8) |
                 (uint32_t{data[i + 2]} << 16) | (uint32_t{data[i + 3]} << 24);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  switch (length - i) {
    case 3:
      h ^= uint32_t{data[i + 2]} << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t{data[i + 1]} << 8;
      [[fallthrough]];
    case 1:
      h ^= uint32_t{data[i]};
      h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t PartitionForKey(std::string_view key, int32_t num_partitions) {
  if (num_partitions <= 0) return 0;
  return (Murmur2(key) & 0x7fffffff) % num_partitions;
}

}  // namespace spool
