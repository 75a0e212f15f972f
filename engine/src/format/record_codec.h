// Encoding and decoding of single Record v2 entries (the records region of
// a batch is these, back to back):
//
//   length          varint   bytes after this field
//   attributes      int8     unused, written as 0
//   timestampDelta  varlong  record timestamp - batch baseTimestamp
//   offsetDelta     varint   record offset - batch baseOffset
//   keyLength       varint   -1 = null key
//   key             bytes
//   valueLength     varint   -1 = null value
//   value           bytes
//   headersCount    varint
//   headers         headerKeyLength varint (>= 0), headerKey,
//                   headerValueLength varint (-1 = null), headerValue
//
// Batch-level checks (offset deltas increasing, record count) belong to the
// caller (RecordIterator).

#ifndef SPOOL_FORMAT_RECORD_CODEC_H_
#define SPOOL_FORMAT_RECORD_CODEC_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "format/varint.h"
#include "spool/record.h"

namespace spool {

// Appends one record to *out. `headers` is any range of objects with a
// `key` (string-like) and a `value` (optional string-like), e.g.
// std::vector<HeaderView> or std::vector<Header>.
// REQUIRES: every key, value and header is shorter than 2^31 bytes and the
// whole record body is too.
template <typename HeaderRange>
void AppendRecord(int64_t timestamp_delta, int32_t offset_delta,
                  std::optional<std::string_view> key,
                  std::optional<std::string_view> value,
                  const HeaderRange& headers, std::string* out);

// Where the region being decoded lives, for error messages: positions are
// reported as "batch byte N" for the records region of an uncompressed
// batch (N counted from the batch start) and as "byte N of the decompressed
// records" otherwise.
struct RecordRegion {
  std::string_view bytes;
  bool decompressed = false;
};

// Formats a region position as described above.
std::string DescribeRegionPosition(const RecordRegion& region, size_t pos);

// Decodes the record starting at region.bytes[*pos] into *out (views into
// region.bytes) and advances *pos past it. out->offset and out->timestamp
// are left for the caller, which knows the batch header. Fails with
// kDataLoss naming the field and position if the record is malformed: a
// varint that is truncated or overflows, a length below -1 (or below 0
// where null is not allowed), anything running past the record's length,
// or bytes left over inside it.
absl::Status DecodeRecord(const RecordRegion& region, size_t* pos,
                          RecordView* out);

// ---------------------------------------------------------------- inline

namespace record_codec_internal {

inline int BytesFieldSize(std::optional<std::string_view> s) {
  if (!s.has_value()) return 1;  // varint(-1)
  int32_t n = static_cast<int32_t>(s->size());
  return VarintSize(n) + n;
}

inline char* EncodeBytesField(char* dst, std::optional<std::string_view> s) {
  if (!s.has_value()) return EncodeVarint(dst, -1);
  dst = EncodeVarint(dst, static_cast<int32_t>(s->size()));
  if (!s->empty()) std::memcpy(dst, s->data(), s->size());
  return dst + s->size();
}

template <typename V>
std::optional<std::string_view> AsView(const std::optional<V>& v) {
  if (!v.has_value()) return std::nullopt;
  return std::string_view(*v);
}

}  // namespace record_codec_internal

template <typename HeaderRange>
void AppendRecord(int64_t timestamp_delta, int32_t offset_delta,
                  std::optional<std::string_view> key,
                  std::optional<std::string_view> value,
                  const HeaderRange& headers, std::string* out) {
  using record_codec_internal::AsView;
  using record_codec_internal::BytesFieldSize;
  using record_codec_internal::EncodeBytesField;
  int32_t num_headers = 0;
  int64_t body = 1 + VarlongSize(timestamp_delta) + VarintSize(offset_delta) +
                 BytesFieldSize(key) + BytesFieldSize(value);
  for (const auto& h : headers) {
    body += BytesFieldSize(std::string_view(h.key)) +
            BytesFieldSize(AsView(h.value));
    ++num_headers;
  }
  body += VarintSize(num_headers);
  int32_t body32 = static_cast<int32_t>(body);
  size_t old_size = out->size();
  out->resize(old_size + VarintSize(body32) + body);
  char* p = EncodeVarint(out->data() + old_size, body32);
  *p++ = 0;  // attributes
  p = EncodeVarlong(p, timestamp_delta);
  p = EncodeVarint(p, offset_delta);
  p = EncodeBytesField(p, key);
  p = EncodeBytesField(p, value);
  p = EncodeVarint(p, num_headers);
  for (const auto& h : headers) {
    p = EncodeBytesField(p, std::string_view(h.key));
    p = EncodeBytesField(p, AsView(h.value));
  }
}

}  // namespace spool

#endif  // SPOOL_FORMAT_RECORD_CODEC_H_
