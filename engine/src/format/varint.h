// Kafka's variable-length integers: zigzag-mapped, then base-128 with the
// least significant group first and the high bit of every byte but the last
// set. A "varint" is an int32 (at most 5 bytes), a "varlong" an int64 (at
// most 10 bytes).
//
// Decoding is bounds-checked against a limit pointer and strict about
// overflow: a varint whose 5th byte has its continuation bit set or carries
// bits beyond bit 31 is rejected (likewise the 10th byte of a varlong beyond
// bit 63). Kafka rejects the first and silently drops the second; no valid
// encoder produces either. Non-minimal encodings (e.g. 0 as 80 00) are
// accepted, as Kafka accepts them.

#ifndef SPOOL_FORMAT_VARINT_H_
#define SPOOL_FORMAT_VARINT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spool {

inline constexpr int kMaxVarintBytes = 5;
inline constexpr int kMaxVarlongBytes = 10;

constexpr uint32_t ZigZagEncode32(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
constexpr uint64_t ZigZagEncode64(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int32_t ZigZagDecode32(uint32_t u) {
  return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
}
constexpr int64_t ZigZagDecode64(uint64_t u) {
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

// Number of bytes the encoding of `v` takes (1..5 / 1..10).
int VarintSize(int32_t v);
int VarlongSize(int64_t v);

// Write the encoding of `v` at `dst` (which must have room for
// kMaxVarintBytes / kMaxVarlongBytes) and return the byte after it.
char* EncodeVarint(char* dst, int32_t v);
char* EncodeVarlong(char* dst, int64_t v);

// Append the encoding of `v` to `*dst`.
void PutVarint(std::string* dst, int32_t v);
void PutVarlong(std::string* dst, int64_t v);

enum class VarintResult : uint8_t {
  kOk,
  kTruncated,  // the input ended inside the encoding
  kOverflow,   // too many bytes, or bits beyond the type's width
};
std::string_view VarintResultName(VarintResult r);  // "ok", "truncated", ...

// Decodes one value starting at *p, reading no byte at or after `limit`.
// On kOk stores it in *value and advances *p past the encoding; otherwise
// leaves *p and *value unchanged.
VarintResult DecodeVarintSlow(const char** p, const char* limit,
                              int32_t* value);
VarintResult DecodeVarlongSlow(const char** p, const char* limit,
                               int64_t* value);

// Inline fast paths for the one- and two-byte encodings (|v| < 8192), which
// are most lengths and deltas in a record batch.
inline VarintResult DecodeVarint(const char** p, const char* limit,
                                 int32_t* value) {
  const auto* q = reinterpret_cast<const unsigned char*>(*p);
  const auto* end = reinterpret_cast<const unsigned char*>(limit);
  if (q < end && q[0] < 0x80) {
    *value = ZigZagDecode32(q[0]);
    *p += 1;
    return VarintResult::kOk;
  }
  if (end - q >= 2 && q[1] < 0x80) {
    *value = ZigZagDecode32((uint32_t{q[0]} & 0x7f) | (uint32_t{q[1]} << 7));
    *p += 2;
    return VarintResult::kOk;
  }
  return DecodeVarintSlow(p, limit, value);
}

inline VarintResult DecodeVarlong(const char** p, const char* limit,
                                  int64_t* value) {
  const auto* q = reinterpret_cast<const unsigned char*>(*p);
  const auto* end = reinterpret_cast<const unsigned char*>(limit);
  if (q < end && q[0] < 0x80) {
    *value = ZigZagDecode64(q[0]);
    *p += 1;
    return VarintResult::kOk;
  }
  if (end - q >= 2 && q[1] < 0x80) {
    *value = ZigZagDecode64((uint64_t{q[0]} & 0x7f) | (uint64_t{q[1]} << 7));
    *p += 2;
    return VarintResult::kOk;
  }
  return DecodeVarlongSlow(p, limit, value);
}

}  // namespace spool

#endif  // SPOOL_FORMAT_VARINT_H_
