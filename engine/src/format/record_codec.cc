#include "format/record_codec.h"

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/str_format.h"

namespace spool {
namespace {

// Why a record failed to decode. The hot path only records these fields;
// the message is formatted once, off the hot path.
struct RecordError {
  enum Kind {
    kVarint,          // `result` says truncated or overflow
    kBadLength,       // `value` is below what the field allows
    kPastRecord,      // length `value` exceeds the `left` bytes of the record
    kPastRegion,      // record length `value` exceeds the `left` region bytes
    kTooManyHeaders,  // `value` headers cannot fit in `left` bytes
    kEmptyBody,
    kLeftover,  // body of `value` bytes; fields used `value - left`
  };
  Kind kind = kVarint;
  const char* field = "";
  const char* at = nullptr;
  VarintResult result = VarintResult::kOk;
  int64_t value = 0;
  size_t left = 0;
};

ABSL_ATTRIBUTE_NOINLINE absl::Status ToStatus(const RecordRegion& region,
                                              const RecordError& e) {
  std::string what;
  switch (e.kind) {
    case RecordError::kVarint:
      what = e.result == VarintResult::kOverflow
                 ? "varint overflow (too long or beyond the type's range)"
                 : "truncated varint (runs past the end of the record)";
      break;
    case RecordError::kBadLength:
      what = absl::StrFormat("invalid length %d", e.value);
      break;
    case RecordError::kPastRecord:
      what = absl::StrFormat(
          "length %d runs past the end of the record (%u bytes left)", e.value,
          e.left);
      break;
    case RecordError::kPastRegion:
      what = absl::StrFormat(
          "length %d does not fit in the %u bytes left in the records", e.value,
          e.left);
      break;
    case RecordError::kTooManyHeaders:
      what = absl::StrFormat(
          "%d headers cannot fit in the %u bytes left in the record", e.value,
          e.left);
      break;
    case RecordError::kEmptyBody:
      what = "record body is empty";
      break;
    case RecordError::kLeftover:
      what = absl::StrFormat(
          "record body is %d bytes but its fields end "
          "after %d",
          e.value, e.value - static_cast<int64_t>(e.left));
      break;
  }
  size_t pos = static_cast<size_t>(e.at - region.bytes.data());
  return absl::DataLossError(absl::StrFormat(
      "%s at %s: %s", e.field, DescribeRegionPosition(region, pos), what));
}

// Cursor over one record. Every method returns false after filling err_.
class RecordReader {
 public:
  RecordReader(const char* p, const char* limit) : p_(p), limit_(limit) {}

  const char* cursor() const { return p_; }
  size_t left() const { return static_cast<size_t>(limit_ - p_); }
  void set_limit(const char* limit) { limit_ = limit; }
  const RecordError& error() const { return err_; }

  bool Byte(const char* field, int8_t* v) {
    if (ABSL_PREDICT_FALSE(p_ == limit_))
      return Fail(RecordError::kEmptyBody, field, p_, 0);
    *v = static_cast<int8_t>(*p_++);
    return true;
  }

  bool Varint(const char* field, int32_t* v) {
    const char* at = p_;
    VarintResult r = DecodeVarint(&p_, limit_, v);
    if (ABSL_PREDICT_TRUE(r == VarintResult::kOk)) return true;
    err_.result = r;
    return Fail(RecordError::kVarint, field, at, 0);
  }

  bool Varlong(const char* field, int64_t* v) {
    const char* at = p_;
    VarintResult r = DecodeVarlong(&p_, limit_, v);
    if (ABSL_PREDICT_TRUE(r == VarintResult::kOk)) return true;
    err_.result = r;
    return Fail(RecordError::kVarint, field, at, 0);
  }

  // A length-prefixed byte string; null (length -1) only if `nullable`.
  bool Bytes(const char* field, bool nullable,
             std::optional<std::string_view>* out) {
    const char* at = p_;
    int32_t n;
    if (!Varint(field, &n)) return false;
    if (ABSL_PREDICT_FALSE(n < 0)) {
      if (n == -1 && nullable) {
        *out = std::nullopt;
        return true;
      }
      return Fail(RecordError::kBadLength, field, at, n);
    }
    if (ABSL_PREDICT_FALSE(static_cast<size_t>(n) > left())) {
      return Fail(RecordError::kPastRecord, field, at, n);
    }
    *out = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  bool Fail(RecordError::Kind kind, const char* field, const char* at,
            int64_t value) {
    err_.kind = kind;
    err_.field = field;
    err_.at = at;
    err_.value = value;
    err_.left = left();
    return false;
  }

 private:
  const char* p_;
  const char* limit_;
  RecordError err_;
};

bool DecodeHeaders(RecordReader& r, RecordView* out) {
  out->headers.clear();
  const char* at = r.cursor();
  int32_t count;
  if (!r.Varint("headersCount", &count)) return false;
  // Each header takes at least two bytes (two one-byte lengths).
  if (ABSL_PREDICT_FALSE(count < 0 ||
                         static_cast<size_t>(count) > r.left() / 2)) {
    return r.Fail(RecordError::kTooManyHeaders, "headersCount", at, count);
  }
  for (int32_t i = 0; i < count; ++i) {
    std::optional<std::string_view> key, value;
    if (!r.Bytes("headerKeyLength", false, &key) ||
        !r.Bytes("headerValueLength", true, &value)) {
      return false;
    }
    out->headers.push_back(HeaderView{*key, value});
  }
  return true;
}

bool DecodeBody(RecordReader& r, RecordView* out) {
  return r.Byte("attributes", &out->attributes) &&
         r.Varlong("timestampDelta", &out->timestamp_delta) &&
         r.Varint("offsetDelta", &out->offset_delta) &&
         r.Bytes("keyLength", true, &out->key) &&
         r.Bytes("valueLength", true, &out->value) && DecodeHeaders(r, out);
}

}  // namespace

std::string DescribeRegionPosition(const RecordRegion& region, size_t pos) {
  if (region.decompressed) {
    return absl::StrFormat("byte %u of the decompressed records", pos);
  }
  return absl::StrFormat("batch byte %u", pos + kBatchHeaderSize);
}

absl::Status DecodeRecord(const RecordRegion& region, size_t* pos,
                          RecordView* out) {
  const char* base = region.bytes.data();
  const char* start = base + *pos;
  RecordReader r(start, base + region.bytes.size());
  int32_t length;
  bool ok = r.Varint("record length", &length);
  if (ok && (length < 0 || static_cast<size_t>(length) > r.left())) {
    ok = r.Fail(RecordError::kPastRegion, "record length", start, length);
  }
  if (ABSL_PREDICT_FALSE(!ok)) return ToStatus(region, r.error());
  const char* end = r.cursor() + length;
  r.set_limit(end);
  if (ABSL_PREDICT_FALSE(!DecodeBody(r, out))) {
    return ToStatus(region, r.error());
  }
  if (ABSL_PREDICT_FALSE(r.cursor() != end)) {
    r.set_limit(end);
    r.Fail(RecordError::kLeftover, "record length", start, length);
    return ToStatus(region, r.error());
  }
  out->position = static_cast<uint32_t>(*pos);
  out->size_bytes = static_cast<uint32_t>(end - start);
  *pos = static_cast<size_t>(end - base);
  return absl::OkStatus();
}

}  // namespace spool
