// Fixed-width big-endian integer coding, the byte order of every fixed-width
// field in Kafka's formats (record batch headers, index entries, snapshots).
//
// All functions are branch-free and compile to a load/store plus a byte
// swap on little-endian hosts. Decode functions read exactly 2, 4 or 8 bytes
// from `p` and have no alignment requirement; the caller guarantees the
// bytes are there. Signed fields are read by casting the unsigned result
// (two's complement, as Kafka writes them).

#ifndef SPOOL_FORMAT_CODING_H_
#define SPOOL_FORMAT_CODING_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace spool {

inline void EncodeFixed16BE(char* dst, uint16_t value) {
  dst[0] = static_cast<char>(value >> 8);
  dst[1] = static_cast<char>(value);
}

inline void EncodeFixed32BE(char* dst, uint32_t value) {
  dst[0] = static_cast<char>(value >> 24);
  dst[1] = static_cast<char>(value >> 16);
  dst[2] = static_cast<char>(value >> 8);
  dst[3] = static_cast<char>(value);
}

inline void EncodeFixed64BE(char* dst, uint64_t value) {
  EncodeFixed32BE(dst, static_cast<uint32_t>(value >> 32));
  EncodeFixed32BE(dst + 4, static_cast<uint32_t>(value));
}

inline uint16_t DecodeFixed16BE(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((uint16_t{u[0]} << 8) | uint16_t{u[1]});
}

inline uint32_t DecodeFixed32BE(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) |
         (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

inline uint64_t DecodeFixed64BE(const char* p) {
  return (uint64_t{DecodeFixed32BE(p)} << 32) | DecodeFixed32BE(p + 4);
}

// Append the big-endian encoding of `value` to `*dst`.
inline void PutFixed16BE(std::string* dst, uint16_t value) {
  char buf[2];
  EncodeFixed16BE(buf, value);
  dst->append(buf, sizeof(buf));
}

inline void PutFixed32BE(std::string* dst, uint32_t value) {
  char buf[4];
  EncodeFixed32BE(buf, value);
  dst->append(buf, sizeof(buf));
}

inline void PutFixed64BE(std::string* dst, uint64_t value) {
  char buf[8];
  EncodeFixed64BE(buf, value);
  dst->append(buf, sizeof(buf));
}

}  // namespace spool

#endif  // SPOOL_FORMAT_CODING_H_
