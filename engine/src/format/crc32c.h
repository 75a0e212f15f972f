// CRC-32C (Castagnoli), the checksum of Kafka record batches.
//
// Reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF;
// Value("123456789") == 0xE3069283. The conditioning is handled inside
// Extend, so checksums compose:
//   Extend(Value(a, na), b, nb) == Value(a ++ b, na + nb).
//
// On x86-64 CPUs with SSE4.2 the crc32 instruction is used (eight bytes per
// instruction, three independent streams for long inputs); elsewhere a
// portable slicing-by-8 table implementation. Both give identical results.
// All functions are thread-safe.

#ifndef SPOOL_FORMAT_CRC32C_H_
#define SPOOL_FORMAT_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spool::crc32c {

// Returns the CRC-32C of the concatenation of the data whose CRC-32C is
// `crc` and data[0, n). Extend(0, data, n) is the CRC-32C of data[0, n).
uint32_t Extend(uint32_t crc, const char* data, size_t n);

// The CRC-32C of data[0, n).
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view data) {
  return Extend(0, data.data(), data.size());
}

// True if Extend uses the SSE4.2 crc32 instruction on this CPU.
bool HardwareAccelerated();

// The table-driven implementation, whatever the CPU. For tests and
// benchmarks; same contract as Extend.
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);

// The crc32-instruction implementation. Same contract as Extend.
// REQUIRES: HardwareAccelerated(). On non-x86 builds it is ExtendPortable.
uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n);

}  // namespace spool::crc32c

#endif  // SPOOL_FORMAT_CRC32C_H_
