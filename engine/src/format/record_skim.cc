#include "format/record_skim.h"

#include <algorithm>
#include <cstddef>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "format/varint.h"

namespace spool {
namespace {

int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) +
                              static_cast<uint64_t>(b));
}

// The decoders below return the position after what they read, or nullptr
// if it is invalid, so that the cursor stays in a register (a cursor passed
// by address to the out-of-line slow path would live in memory, adding a
// store and a load to every step of the walk). They accept exactly what
// DecodeVarint / DecodeVarlong accept: the same fast paths, then the same
// slow functions.
struct Decoded {
  const char* next;  // nullptr: truncated or overflowing
  int64_t value;
};

ABSL_ATTRIBUTE_NOINLINE Decoded SlowVarint(const char* p, const char* limit) {
  int32_t v;
  if (DecodeVarintSlow(&p, limit, &v) != VarintResult::kOk) return {};
  return {p, v};
}

ABSL_ATTRIBUTE_NOINLINE Decoded SlowVarlong(const char* p, const char* limit) {
  int64_t v;
  if (DecodeVarlongSlow(&p, limit, &v) != VarintResult::kOk) return {};
  return {p, v};
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline Decoded Varint(const char* p,
                                                   const char* limit) {
  const auto* q = reinterpret_cast<const unsigned char*>(p);
  if (ABSL_PREDICT_TRUE(p < limit && q[0] < 0x80)) {
    return {p + 1, ZigZagDecode32(q[0])};
  }
  if (limit - p >= 2 && q[1] < 0x80) {
    return {p + 2,
            ZigZagDecode32((uint32_t{q[0]} & 0x7f) | (uint32_t{q[1]} << 7))};
  }
  return SlowVarint(p, limit);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline Decoded Varlong(const char* p,
                                                    const char* limit) {
  const auto* q = reinterpret_cast<const unsigned char*>(p);
  if (ABSL_PREDICT_TRUE(p < limit && q[0] < 0x80)) {
    return {p + 1, ZigZagDecode64(q[0])};
  }
  if (limit - p >= 2 && q[1] < 0x80) {
    return {p + 2,
            ZigZagDecode64((uint64_t{q[0]} & 0x7f) | (uint64_t{q[1]} << 7))};
  }
  return SlowVarlong(p, limit);
}

// Skips a length-prefixed byte string ending no later than `end`. A
// negative length is allowed only if it is >= `min_length` (-1 for
// nullable fields, 0 otherwise); `value` is the length read.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline Decoded SkipBytes(const char* p,
                                                      const char* end,
                                                      int32_t min_length) {
  Decoded n = Varint(p, end);
  if (ABSL_PREDICT_FALSE(n.next == nullptr)) return n;
  if (ABSL_PREDICT_FALSE(n.value < 0)) {
    return {n.value >= min_length ? n.next : nullptr, n.value};
  }
  if (ABSL_PREDICT_FALSE(n.value > end - n.next)) return {};
  return {n.next + n.value, n.value};
}

}  // namespace

// Mirrors RecordIterator::Next and DecodeRecord check for check; the
// differential tests in tests/format/record_iterator_test.cc hold the two
// together.
bool SkimRecords(const RecordBatchView& batch, const SkimOptions& options,
                 SkimResult* result) {
  const BatchHeader& h = batch.header();
  if (batch.bytes().size() < static_cast<size_t>(kBatchHeaderSize) ||
      h.compression() != Compression::kNone) {
    return false;
  }
  const std::string_view region = batch.records_region();
  // `next` is where the next record starts. It is derived from the record
  // lengths alone, so the walk over one record's fields (cursor `p`) is off
  // the loop's critical path and the CPU overlaps it with the next record.
  const char* next = region.data();
  const char* const region_end = next + region.size();
  const int32_t count = h.records_count;
  const int32_t last_delta = h.last_offset_delta;
  const int64_t base_ts = h.base_timestamp;
  int32_t prev = -1;
  int64_t max_ts = -1;
  for (int32_t index = 0;; ++index) {
    if (index >= count || next == region_end) {
      if (index >= count && next == region_end) break;
      return false;  // recordsCount disagrees with the records
    }
    const Decoded length = Varint(next, region_end);
    if (ABSL_PREDICT_FALSE(length.next == nullptr || length.value < 0 ||
                           length.value > region_end - length.next)) {
      return false;
    }
    const char* const end = length.next + length.value;
    const char* p = length.next;
    next = end;
    if (ABSL_PREDICT_FALSE(p == end)) return false;  // no attributes byte
    const Decoded ts_delta = Varlong(p + 1, end);
    if (ABSL_PREDICT_FALSE(ts_delta.next == nullptr)) return false;
    const Decoded delta = Varint(ts_delta.next, end);
    if (ABSL_PREDICT_FALSE(delta.next == nullptr)) return false;
    const Decoded key = SkipBytes(delta.next, end, -1);
    if (ABSL_PREDICT_FALSE(key.next == nullptr)) return false;
    const Decoded value = SkipBytes(key.next, end, -1);
    if (ABSL_PREDICT_FALSE(value.next == nullptr)) return false;
    const Decoded headers = Varint(value.next, end);
    // Each header takes at least two bytes, as DecodeRecord requires.
    if (ABSL_PREDICT_FALSE(headers.next == nullptr || headers.value < 0 ||
                           headers.value > (end - headers.next) / 2)) {
      return false;
    }
    p = headers.next;
    for (int64_t i = 0; i < headers.value; ++i) {
      p = SkipBytes(p, end, 0).next;
      if (p == nullptr) return false;
      p = SkipBytes(p, end, -1).next;
      if (p == nullptr) return false;
    }
    if (ABSL_PREDICT_FALSE(p != end)) return false;  // bytes left inside
    if (ABSL_PREDICT_FALSE(delta.value <= prev || delta.value > last_delta)) {
      return false;
    }
    if (options.consecutive_deltas && delta.value != index) return false;
    if (options.require_keys && key.value < 0) return false;
    prev = static_cast<int32_t>(delta.value);
    max_ts = std::max(max_ts, WrappingAdd(base_ts, ts_delta.value));
  }
  result->max_timestamp = max_ts;
  return true;
}

}  // namespace spool
