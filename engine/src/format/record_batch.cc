// The batch header: parsing, CRC, writing and in-place rewrites.

#include <cstdint>
#include <limits>

#include "absl/strings/str_format.h"
#include "format/batch_internal.h"
#include "format/coding.h"
#include "format/crc32c.h"
#include "spool/record.h"
#include "util/status_macros.h"

namespace spool {
namespace {

// batchLength of a batch with no records region: the header minus the
// 12-byte baseOffset + batchLength prefix.
constexpr int32_t kMinV2BatchLength = kBatchHeaderSize - kLogOverhead;

// The checks that need only the first 17 bytes (or fewer, if not present),
// so that garbage is recognised before a full header is available.
absl::Status CheckPrefix(std::string_view data) {
  if (data.size() < static_cast<size_t>(kLogOverhead)) return absl::OkStatus();
  int32_t length = static_cast<int32_t>(DecodeFixed32BE(data.data() + 8));
  if (length < kMinBatchLength) {
    return absl::DataLossError(
        absl::StrFormat("batchLength %d at byte %d is below the minimum of %d",
                        length, kBatchLengthPos, kMinBatchLength));
  }
  if (data.size() > kMagicPos && data[kMagicPos] != kMagicV2) {
    int magic = static_cast<int8_t>(data[kMagicPos]);
    return absl::DataLossError(absl::StrFormat(
        "bad magic %d at byte %d, expected 2%s", magic, kMagicPos,
        magic == 0 || magic == 1 ? " (legacy message format not supported)"
                                 : ""));
  }
  if (length < kMinV2BatchLength) {
    return absl::DataLossError(absl::StrFormat(
        "batchLength %d at byte %d is smaller than the %d bytes a v2 header "
        "needs",
        length, kBatchLengthPos, kMinV2BatchLength));
  }
  return absl::OkStatus();
}

absl::Status CheckFields(const BatchHeader& h) {
  int codec = h.attributes & kAttrCompressionMask;
  if (codec > static_cast<int>(Compression::kZstd)) {
    return absl::DataLossError(absl::StrFormat(
        "attributes 0x%04x at byte %d name unknown compression codec id %d",
        static_cast<uint16_t>(h.attributes), kAttributesPos, codec));
  }
  if (h.last_offset_delta < 0) {
    return absl::DataLossError(
        absl::StrFormat("lastOffsetDelta %d at byte %d is negative",
                        h.last_offset_delta, kLastOffsetDeltaPos));
  }
  if (h.records_count < 0 ||
      int64_t{h.records_count} > int64_t{h.last_offset_delta} + 1) {
    return absl::DataLossError(absl::StrFormat(
        "recordsCount %d at byte %d is outside [0, lastOffsetDelta + 1 = %d]",
        h.records_count, kRecordsCountPos, int64_t{h.last_offset_delta} + 1));
  }
  if (h.base_offset >
      std::numeric_limits<int64_t>::max() - h.last_offset_delta) {
    return absl::DataLossError(
        absl::StrFormat("baseOffset %d + lastOffsetDelta %d overflows int64",
                        h.base_offset, h.last_offset_delta));
  }
  return absl::OkStatus();
}

BatchHeader DecodeHeaderFields(const char* p) {
  BatchHeader h;
  h.base_offset = static_cast<int64_t>(DecodeFixed64BE(p + kBaseOffsetPos));
  h.batch_length = static_cast<int32_t>(DecodeFixed32BE(p + kBatchLengthPos));
  h.partition_leader_epoch =
      static_cast<int32_t>(DecodeFixed32BE(p + kPartitionLeaderEpochPos));
  h.magic = static_cast<int8_t>(p[kMagicPos]);
  h.crc = DecodeFixed32BE(p + kCrcPos);
  h.attributes = static_cast<int16_t>(DecodeFixed16BE(p + kAttributesPos));
  h.last_offset_delta =
      static_cast<int32_t>(DecodeFixed32BE(p + kLastOffsetDeltaPos));
  h.base_timestamp =
      static_cast<int64_t>(DecodeFixed64BE(p + kBaseTimestampPos));
  h.max_timestamp = static_cast<int64_t>(DecodeFixed64BE(p + kMaxTimestampPos));
  h.producer_id = static_cast<int64_t>(DecodeFixed64BE(p + kProducerIdPos));
  h.producer_epoch =
      static_cast<int16_t>(DecodeFixed16BE(p + kProducerEpochPos));
  h.base_sequence = static_cast<int32_t>(DecodeFixed32BE(p + kBaseSequencePos));
  h.records_count = static_cast<int32_t>(DecodeFixed32BE(p + kRecordsCountPos));
  return h;
}

void RewriteCrc(char* batch, size_t size) {
  EncodeFixed32BE(batch + kCrcPos,
                  ComputeBatchCrc(std::string_view(batch, size)));
}

}  // namespace

int32_t BatchHeader::last_sequence() const {
  if (base_sequence == kNoSequence) return kNoSequence;
  int64_t last = int64_t{base_sequence} + last_offset_delta;
  if (last > std::numeric_limits<int32_t>::max()) {
    last -= int64_t{std::numeric_limits<int32_t>::max()} + 1;
  }
  return static_cast<int32_t>(last);
}

absl::StatusOr<BatchHeader> ParseBatchHeader(std::string_view data) {
  SPOOL_RETURN_IF_ERROR(CheckPrefix(data));
  if (data.size() < static_cast<size_t>(kBatchHeaderSize)) {
    return absl::OutOfRangeError(
        absl::StrFormat("truncated batch header: %u of %d bytes present",
                        data.size(), kBatchHeaderSize));
  }
  BatchHeader h = DecodeHeaderFields(data.data());
  SPOOL_RETURN_IF_ERROR(CheckFields(h));
  return h;
}

uint32_t ComputeBatchCrc(std::string_view batch) {
  if (batch.size() <= kAttributesPos) return crc32c::Value("", 0);
  return crc32c::Value(batch.data() + kAttributesPos,
                       batch.size() - kAttributesPos);
}

absl::StatusOr<RecordBatchView> RecordBatchView::Parse(std::string_view data) {
  SPOOL_ASSIGN_OR_RETURN(BatchHeader h, ParseBatchHeader(data));
  if (static_cast<uint64_t>(h.size_bytes()) > data.size()) {
    return absl::OutOfRangeError(absl::StrFormat(
        "truncated batch: batchLength %d at byte %d means %d bytes, only %u "
        "present",
        h.batch_length, kBatchLengthPos, h.size_bytes(), data.size()));
  }
  RecordBatchView view;
  view.header_ = h;
  view.bytes_ = data.substr(0, static_cast<size_t>(h.size_bytes()));
  return view;
}

absl::Status RecordBatchView::VerifyCrc() const {
  uint32_t computed = ComputeBatchCrc(bytes_);
  if (computed == header_.crc) return absl::OkStatus();
  return absl::DataLossError(absl::StrFormat(
      "CRC mismatch: stored 0x%08X at byte %d, computed 0x%08X over bytes "
      "[%d, %u)",
      header_.crc, kCrcPos, computed, kAttributesPos, bytes_.size()));
}

absl::Status RecordBatchView::Validate(const DecodeOptions& options) const {
  RecordIterator it(*this, options);
  RecordView record;
  while (it.Next(&record)) {
  }
  return it.status();
}

void EncodeBatchHeader(const BatchHeader& h, char* p, size_t size) {
  EncodeFixed64BE(p + kBaseOffsetPos, static_cast<uint64_t>(h.base_offset));
  EncodeFixed32BE(p + kBatchLengthPos,
                  static_cast<uint32_t>(size - kLogOverhead));
  EncodeFixed32BE(p + kPartitionLeaderEpochPos,
                  static_cast<uint32_t>(h.partition_leader_epoch));
  p[kMagicPos] = kMagicV2;
  EncodeFixed16BE(p + kAttributesPos, static_cast<uint16_t>(h.attributes));
  EncodeFixed32BE(p + kLastOffsetDeltaPos,
                  static_cast<uint32_t>(h.last_offset_delta));
  EncodeFixed64BE(p + kBaseTimestampPos,
                  static_cast<uint64_t>(h.base_timestamp));
  EncodeFixed64BE(p + kMaxTimestampPos, static_cast<uint64_t>(h.max_timestamp));
  EncodeFixed64BE(p + kProducerIdPos, static_cast<uint64_t>(h.producer_id));
  EncodeFixed16BE(p + kProducerEpochPos,
                  static_cast<uint16_t>(h.producer_epoch));
  EncodeFixed32BE(p + kBaseSequencePos, static_cast<uint32_t>(h.base_sequence));
  EncodeFixed32BE(p + kRecordsCountPos, static_cast<uint32_t>(h.records_count));
  RewriteCrc(p, size);
}

void AppendRawBatch(const BatchHeader& header, std::string_view records_region,
                    std::string* out) {
  size_t start = out->size();
  out->resize(start + kBatchHeaderSize);
  out->append(records_region.data(), records_region.size());
  EncodeBatchHeader(header, out->data() + start, out->size() - start);
}

void SetBaseOffset(char* batch, int64_t base_offset) {
  EncodeFixed64BE(batch + kBaseOffsetPos, static_cast<uint64_t>(base_offset));
}

void SetPartitionLeaderEpoch(char* batch, int32_t epoch) {
  EncodeFixed32BE(batch + kPartitionLeaderEpochPos,
                  static_cast<uint32_t>(epoch));
}

void SetLogAppendTime(char* batch, size_t size, int64_t timestamp_ms) {
  uint16_t attributes = DecodeFixed16BE(batch + kAttributesPos);
  EncodeFixed16BE(batch + kAttributesPos,
                  static_cast<uint16_t>(attributes | kAttrTimestampType));
  EncodeFixed64BE(batch + kMaxTimestampPos,
                  static_cast<uint64_t>(timestamp_ms));
  RewriteCrc(batch, size);
}

void SetMaxTimestamp(char* batch, size_t size, int64_t ts) {
  EncodeFixed64BE(batch + kMaxTimestampPos, static_cast<uint64_t>(ts));
  RewriteCrc(batch, size);
}

}  // namespace spool
