// Reading the records of a batch.

#include <algorithm>
#include <limits>

#include "absl/strings/str_format.h"
#include "format/compression.h"
#include "format/record_codec.h"
#include "spool/record.h"

namespace spool {
namespace {

// Record positions are 32-bit and Kafka sizes are int32, so a records
// region never decompresses to more than this, whatever the options say.
constexpr size_t kMaxRegionBytes = std::numeric_limits<int32_t>::max();

int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) +
                              static_cast<uint64_t>(b));
}

// recordsCount says more records follow but the bytes ended, or fewer but
// bytes are left.
absl::Status CountMismatch(int32_t count, int32_t index,
                           const RecordRegion& region, size_t pos) {
  if (index >= count) {
    return absl::DataLossError(absl::StrFormat(
        "recordsCount %d disagrees with the records: %u bytes remain at %s "
        "after the last record",
        count, region.bytes.size() - pos, DescribeRegionPosition(region, pos)));
  }
  return absl::DataLossError(absl::StrFormat(
      "recordsCount %d disagrees with the records: they end after %d records "
      "at %s",
      count, index, DescribeRegionPosition(region, pos)));
}

absl::Status BadOffsetDelta(int32_t index, int32_t delta, int32_t prev,
                            int32_t last_offset_delta,
                            const RecordRegion& region, size_t pos) {
  return absl::DataLossError(absl::StrFormat(
      "record %d at %s: offsetDelta %d is not in (%d, lastOffsetDelta %d]",
      index, DescribeRegionPosition(region, pos), delta, prev,
      last_offset_delta));
}

}  // namespace

RecordIterator::RecordIterator(const RecordBatchView& batch,
                               const DecodeOptions& options)
    : batch_(batch), options_(options) {}

bool RecordIterator::Fail(absl::Status s) {
  status_ = std::move(s);
  return false;
}

bool RecordIterator::Start() {
  started_ = true;
  const BatchHeader& h = batch_.header();
  if (batch_.bytes().size() < static_cast<size_t>(kBatchHeaderSize)) {
    return Fail(absl::FailedPreconditionError(
        "RecordIterator over a RecordBatchView that holds no batch"));
  }
  if (options_.verify_crc) {
    if (absl::Status s = batch_.VerifyCrc(); !s.ok()) return Fail(s);
  }
  Compression codec = h.compression();
  if (codec == Compression::kNone) return true;
  // Like Kafka, an empty compressed batch has nothing to decompress.
  if (h.records_count == 0) return true;
  std::string_view compressed = batch_.records_region();
  absl::Status s =
      Decompress(codec, compressed,
                 std::min(options_.max_decompressed_bytes, kMaxRegionBytes),
                 &decompressed_);
  if (!s.ok()) {
    return Fail(absl::Status(
        s.code(), absl::StrFormat("records region (%s, %u bytes at batch byte "
                                  "%d): %s",
                                  CompressionName(codec), compressed.size(),
                                  kBatchHeaderSize, s.message())));
  }
  return true;
}

std::string_view RecordIterator::region() const {
  if (batch_.header().compression() == Compression::kNone) {
    return batch_.records_region();
  }
  return decompressed_;
}

bool RecordIterator::Next(RecordView* out) {
  if (!started_ && !Start()) return false;
  if (!status_.ok()) return false;
  const BatchHeader& h = batch_.header();
  const std::string_view bytes = this->region();
  RecordRegion region{bytes, h.compression() != Compression::kNone};
  if (index_ >= h.records_count || pos_ == bytes.size()) {
    if (index_ >= h.records_count && pos_ == bytes.size()) return false;
    return Fail(CountMismatch(h.records_count, index_, region, pos_));
  }
  size_t start = pos_;
  if (absl::Status s = DecodeRecord(region, &pos_, out); !s.ok()) {
    return Fail(absl::Status(
        s.code(), absl::StrFormat("record %d: %s", index_, s.message())));
  }
  if (out->offset_delta <= prev_delta_ ||
      out->offset_delta > h.last_offset_delta) {
    return Fail(BadOffsetDelta(index_, out->offset_delta, prev_delta_,
                               h.last_offset_delta, region, start));
  }
  prev_delta_ = out->offset_delta;
  out->offset = h.base_offset + out->offset_delta;
  out->timestamp = h.timestamp_type() == TimestampType::kLogAppendTime
                       ? h.max_timestamp
                       : WrappingAdd(h.base_timestamp, out->timestamp_delta);
  ++index_;
  return true;
}

absl::StatusOr<std::vector<Record>> DecodeRecords(
    const RecordBatchView& batch, const DecodeOptions& options) {
  std::vector<Record> records;
  // recordsCount is untrusted: reserve no more than the bytes could hold.
  records.reserve(std::min<size_t>(
      static_cast<size_t>(std::max(batch.header().records_count, 0)),
      batch.bytes().size()));
  RecordIterator it(batch, options);
  RecordView v;
  while (it.Next(&v)) {
    Record& r = records.emplace_back();
    if (v.key) r.key.emplace(*v.key);
    if (v.value) r.value.emplace(*v.value);
    r.timestamp = v.timestamp;
    r.headers.reserve(v.headers.size());
    for (const HeaderView& hv : v.headers) {
      Header& out = r.headers.emplace_back();
      out.key = std::string(hv.key);
      if (hv.value) out.value.emplace(*hv.value);
    }
  }
  if (!it.status().ok()) return it.status();
  return records;
}

}  // namespace spool
