#include <algorithm>
#include <limits>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "format/batch_internal.h"
#include "format/compression.h"
#include "format/record_codec.h"
#include "spool/record.h"

namespace spool {
namespace {

int64_t WrappingSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) -
                              static_cast<uint64_t>(b));
}

constexpr size_t kMaxBatchBytes =
    size_t{std::numeric_limits<int32_t>::max()} + kLogOverhead;

// The header fields that follow from the options and the record count.
BatchHeader HeaderFor(const BatchBuilderOptions& o, Compression codec,
                      int32_t num_records) {
  BatchHeader h;
  h.base_offset = o.base_offset;
  h.partition_leader_epoch = o.partition_leader_epoch;
  h.producer_id = o.producer_id;
  h.producer_epoch = o.producer_epoch;
  h.base_sequence = o.base_sequence;
  h.records_count = num_records;
  h.last_offset_delta = std::max(num_records - 1, 0);
  int attributes = static_cast<int>(codec);
  if (o.timestamp_type == TimestampType::kLogAppendTime) {
    attributes |= kAttrTimestampType;
  }
  if (o.transactional) attributes |= kAttrTransactional;
  if (o.control) attributes |= kAttrControl;
  h.attributes = static_cast<int16_t>(attributes);
  return h;
}

}  // namespace

RecordBatchBuilder::RecordBatchBuilder(BatchBuilderOptions options)
    : options_(options) {}

void RecordBatchBuilder::Add(std::optional<std::string_view> key,
                             std::optional<std::string_view> value,
                             const std::vector<HeaderView>& headers,
                             int64_t timestamp) {
  if (timestamp == kNoTimestamp) {
    if (default_timestamp_ == kNoTimestamp) {
      default_timestamp_ = absl::ToUnixMillis(absl::Now());
    }
    timestamp = default_timestamp_;
  }
  if (num_records_ == 0) {
    base_timestamp_ = timestamp;
    max_timestamp_ = timestamp;
  } else {
    max_timestamp_ = std::max(max_timestamp_, timestamp);
  }
  AppendRecord(WrappingSub(timestamp, base_timestamp_), num_records_, key,
               value, headers, &records_);
  ++num_records_;
}

void RecordBatchBuilder::Add(const Record& record) {
  std::vector<HeaderView> headers;
  headers.reserve(record.headers.size());
  for (const Header& h : record.headers) {
    std::optional<std::string_view> value;
    if (h.value) value = *h.value;
    headers.push_back(HeaderView{h.key, value});
  }
  std::optional<std::string_view> key, value;
  if (record.key) key = *record.key;
  if (record.value) value = *record.value;
  Add(key, value, headers, record.timestamp);
}

absl::StatusOr<std::string> RecordBatchBuilder::Build() {
  std::string out;
  absl::Status s = BuildInto(&out);
  if (!s.ok()) return s;
  return out;
}

absl::Status RecordBatchBuilder::BuildInto(std::string* out) {
  Compression codec = options_.compression;
  if (codec != Compression::kNone && codec != Compression::kZstd) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RecordBatchBuilder: cannot write %s batches (Spool writes none or "
        "zstd)",
        CompressionName(codec)));
  }
  if (num_records_ == 0) codec = Compression::kNone;  // as Kafka writes them
  BatchHeader h = HeaderFor(options_, codec, num_records_);
  h.base_timestamp = base_timestamp_;
  h.max_timestamp = max_timestamp_;
  size_t start = out->size();
  out->resize(start + kBatchHeaderSize);
  if (codec == Compression::kZstd) {
    if (absl::Status s = CompressZstd(records_, options_.zstd_level, out);
        !s.ok()) {
      out->resize(start);
      return s;
    }
  } else {
    out->append(records_);
  }
  size_t size = out->size() - start;
  if (size > kMaxBatchBytes) {
    out->resize(start);
    return absl::InvalidArgumentError(absl::StrFormat(
        "RecordBatchBuilder: batch of %u bytes exceeds the 2 GiB limit", size));
  }
  EncodeBatchHeader(h, out->data() + start, size);
  return absl::OkStatus();
}

void RecordBatchBuilder::Reset() {
  records_.clear();
  num_records_ = 0;
  base_timestamp_ = kNoTimestamp;
  max_timestamp_ = kNoTimestamp;
  default_timestamp_ = kNoTimestamp;
}

void RecordBatchBuilder::Reset(BatchBuilderOptions options) {
  options_ = options;
  Reset();
}

}  // namespace spool
