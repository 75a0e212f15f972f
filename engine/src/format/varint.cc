#include "format/varint.h"

namespace spool {
namespace {

int UnsignedSize(uint64_t u) {
  int n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

char* EncodeUnsigned(char* dst, uint64_t u) {
  while (u >= 0x80) {
    *dst++ = static_cast<char>(u | 0x80);
    u >>= 7;
  }
  *dst++ = static_cast<char>(u);
  return dst;
}

// Reads up to `max_bytes` base-128 groups; the last allowed byte may carry
// at most `last_bits` value bits.
VarintResult DecodeUnsigned(const char** p, const char* limit, int max_bytes,
                            int last_bits, uint64_t* value) {
  const char* q = *p;
  uint64_t result = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (q >= limit) return VarintResult::kTruncated;
    uint64_t b = static_cast<unsigned char>(*q++);
    if (i == max_bytes - 1 && (b >> last_bits) != 0) {
      return VarintResult::kOverflow;
    }
    result |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *value = result;
      *p = q;
      return VarintResult::kOk;
    }
  }
  return VarintResult::kOverflow;  // unreachable: the last byte check fires
}

}  // namespace

int VarintSize(int32_t v) { return UnsignedSize(ZigZagEncode32(v)); }
int VarlongSize(int64_t v) { return UnsignedSize(ZigZagEncode64(v)); }

char* EncodeVarint(char* dst, int32_t v) {
  return EncodeUnsigned(dst, ZigZagEncode32(v));
}
char* EncodeVarlong(char* dst, int64_t v) {
  return EncodeUnsigned(dst, ZigZagEncode64(v));
}

void PutVarint(std::string* dst, int32_t v) {
  char buf[kMaxVarintBytes];
  dst->append(buf, EncodeVarint(buf, v) - buf);
}
void PutVarlong(std::string* dst, int64_t v) {
  char buf[kMaxVarlongBytes];
  dst->append(buf, EncodeVarlong(buf, v) - buf);
}

std::string_view VarintResultName(VarintResult r) {
  switch (r) {
    case VarintResult::kOk:
      return "ok";
    case VarintResult::kTruncated:
      return "truncated";
    case VarintResult::kOverflow:
      return "overflow";
  }
  return "unknown";
}

VarintResult DecodeVarintSlow(const char** p, const char* limit,
                              int32_t* value) {
  uint64_t u;
  // 4 x 7 = 28 bits before the 5th byte, which may add 4 more.
  VarintResult r = DecodeUnsigned(p, limit, kMaxVarintBytes, 4, &u);
  if (r == VarintResult::kOk) *value = ZigZagDecode32(static_cast<uint32_t>(u));
  return r;
}

VarintResult DecodeVarlongSlow(const char** p, const char* limit,
                               int64_t* value) {
  uint64_t u;
  // 9 x 7 = 63 bits before the 10th byte, which may add 1 more.
  VarintResult r = DecodeUnsigned(p, limit, kMaxVarlongBytes, 1, &u);
  if (r == VarintResult::kOk) *value = ZigZagDecode64(u);
  return r;
}

}  // namespace spool
