// Portable CRC-32C (slicing-by-8) and the choice between it and the
// hardware path (crc32c_sse42.cc).

#include "format/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

namespace spool::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected Castagnoli polynomial

using SliceTables = std::array<std::array<uint32_t, 256>, 8>;

// tables[0][b] is the CRC register after feeding byte b into a zero
// register; tables[k][b] is the same byte followed by k zero bytes, so
// eight bytes can be folded in with eight independent lookups.
constexpr SliceTables MakeSliceTables() {
  SliceTables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][b] = c;
  }
  for (int k = 1; k < 8; ++k) {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t prev = t[k - 1][b];
      t[k][b] = (prev >> 8) ^ t[0][prev & 0xff];
    }
  }
  return t;
}

constexpr SliceTables kTables = MakeSliceTables();

inline uint64_t LoadLE64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) {
    v = __builtin_bswap64(v);
  }
  return v;
}

bool DetectHardware() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

}  // namespace

uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w = LoadLE64(p) ^ c;
    c = kTables[7][w & 0xff] ^ kTables[6][(w >> 8) & 0xff] ^
        kTables[5][(w >> 16) & 0xff] ^ kTables[4][(w >> 24) & 0xff] ^
        kTables[3][(w >> 32) & 0xff] ^ kTables[2][(w >> 40) & 0xff] ^
        kTables[1][(w >> 48) & 0xff] ^ kTables[0][w >> 56];
  }
  for (; n > 0; --n, ++p) c = (c >> 8) ^ kTables[0][(c ^ *p) & 0xff];
  return ~c;
}

bool HardwareAccelerated() {
  static const bool hardware = DetectHardware();
  return hardware;
}

uint32_t Extend(uint32_t crc, const char* data, size_t n) {
  if (HardwareAccelerated()) return ExtendHardware(crc, data, n);
  return ExtendPortable(crc, data, n);
}

}  // namespace spool::crc32c
