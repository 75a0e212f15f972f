// CRC-32C with the SSE4.2 crc32 instruction.
//
// The instruction folds eight bytes into the CRC register per issue, with a
// latency of three cycles and a throughput of one per cycle. A single chain
// of dependent instructions therefore runs at a third of the possible speed;
// long inputs are split into three adjacent blocks whose CRCs are computed
// as independent chains and then combined. Combining uses the linearity of
// the (unconditioned) CRC register: the register after A ++ B equals the
// register after A advanced over |B| zero bytes, XOR the register of B
// started from zero. "Advancing over L zero bytes" is multiplication by
// x^(8L) modulo the polynomial, done with four 256-entry tables per block
// size, computed at compile time.
//
// This file is compiled without -msse4.2; the functions that use the
// instruction carry a target attribute and only run when the CPU has it
// (see HardwareAccelerated()).

#include <array>
#include <cstdint>
#include <cstring>

#include "format/crc32c.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace spool::crc32c {

#if defined(__x86_64__)
namespace {

constexpr uint32_t kPoly = 0x82F63B78;

// Block sizes of the three-stream loops: long inputs run in rounds of
// 3 x 8 KiB, what remains in rounds of 3 x 256 and then 3 x 64 bytes, the
// last < 192 bytes in one stream. Each round ends with two table-driven
// shifts on the critical path, so small blocks pay relatively more for them
// but still beat a single stream, which retires 8 bytes per 3 cycles.
constexpr size_t kLongBlock = 8192;
constexpr size_t kShortBlock = 256;
constexpr size_t kTinyBlock = 64;

// Multiplies the register by x (one zero bit in), reducing modulo P.
// Registers are bit-reflected: bit 31 is the coefficient of x^0.
constexpr uint32_t TimesX(uint32_t a) {
  return (a & 1) ? (a >> 1) ^ kPoly : a >> 1;
}

// a * b mod P in the reflected representation.
constexpr uint32_t MultiplyModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = TimesX(b);
  }
  return product;
}

using ShiftTables = std::array<std::array<uint32_t, 256>, 4>;

// Tables that advance a register over `bytes` zero bytes: entry [k][v] is
// the result for a register whose only non-zero byte is byte k, equal to v.
constexpr ShiftTables MakeShiftTables(size_t bytes) {
  uint32_t x_pow = 1u << 31;  // x^0
  for (size_t i = 0; i < 8 * bytes; ++i) x_pow = TimesX(x_pow);
  ShiftTables t{};
  for (int k = 0; k < 4; ++k) {
    for (uint32_t v = 0; v < 256; ++v) {
      t[k][v] = MultiplyModP(x_pow, v << (8 * k));
    }
  }
  return t;
}

constexpr ShiftTables kLongShift = MakeShiftTables(kLongBlock);
constexpr ShiftTables kShortShift = MakeShiftTables(kShortBlock);
constexpr ShiftTables kTinyShift = MakeShiftTables(kTinyBlock);

inline uint32_t Shift(const ShiftTables& t, uint32_t c) {
  return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^
         t[3][c >> 24];
}

__attribute__((target("sse4.2"))) inline uint64_t Fold8(uint64_t c,
                                                        const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm_crc32_u64(c, v);
}

// Consumes as many rounds of three kBlock-byte blocks as *n allows.
template <size_t kBlock>
__attribute__((target("sse4.2"))) inline uint32_t ThreeStreams(
    uint32_t crc, const ShiftTables& shift, const char** p, size_t* n) {
  static_assert(kBlock % 8 == 0);
  const char* q = *p;
  size_t left = *n;
  while (left >= 3 * kBlock) {
    uint64_t c0 = crc, c1 = 0, c2 = 0;
    for (size_t i = 0; i < kBlock; i += 8) {
      c0 = Fold8(c0, q + i);
      c1 = Fold8(c1, q + kBlock + i);
      c2 = Fold8(c2, q + 2 * kBlock + i);
    }
    crc = Shift(shift, static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
    crc = Shift(shift, crc) ^ static_cast<uint32_t>(c2);
    q += 3 * kBlock;
    left -= 3 * kBlock;
  }
  *p = q;
  *n = left;
  return crc;
}

}  // namespace

__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t crc,
                                                          const char* data,
                                                          size_t n) {
  const char* p = data;
  uint32_t c = ~crc;
  // Byte steps up to an 8-byte boundary keep the 8-byte loads aligned.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(c, static_cast<unsigned char>(*p));
    ++p;
    --n;
  }
  c = ThreeStreams<kLongBlock>(c, kLongShift, &p, &n);
  c = ThreeStreams<kShortBlock>(c, kShortShift, &p, &n);
  c = ThreeStreams<kTinyBlock>(c, kTinyShift, &p, &n);
  uint64_t c64 = c;
  for (; n >= 8; n -= 8, p += 8) c64 = Fold8(c64, p);
  c = static_cast<uint32_t>(c64);
  for (; n > 0; --n, ++p) c = _mm_crc32_u8(c, static_cast<unsigned char>(*p));
  return ~c;
}

#else  // !defined(__x86_64__)

uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n) {
  return ExtendPortable(crc, data, n);
}

#endif

}  // namespace spool::crc32c
