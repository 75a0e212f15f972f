#include "absl/strings/str_format.h"
#include "format/batch_internal.h"
#include "format/coding.h"

namespace spool {

std::string_view ScanStopName(ScanStop s) {
  switch (s) {
    case ScanStop::kEnd:
      return "end";
    case ScanStop::kIncompleteTail:
      return "incomplete-tail";
    case ScanStop::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

BatchScanner::BatchScanner(std::string_view data, uint64_t base_position,
                           bool verify_crc)
    : data_(data), base_(base_position), verify_crc_(verify_crc) {}

bool BatchScanner::Stop(ScanStop reason, absl::Status status) {
  stopped_ = true;
  stop_ = reason;
  status_ = std::move(status);
  return false;
}

namespace {

// The status of a batch that runs past the end of the data.
absl::Status IncompleteTail(std::string_view rest, uint64_t position) {
  if (rest.size() < static_cast<size_t>(kLogOverhead)) {
    return absl::OutOfRangeError(absl::StrFormat(
        "incomplete batch at position %u: only %u bytes, fewer than the "
        "%d-byte batch prefix",
        position, rest.size(), kLogOverhead));
  }
  int32_t length = static_cast<int32_t>(DecodeFixed32BE(rest.data() + 8));
  return absl::OutOfRangeError(absl::StrFormat(
      "incomplete batch at position %u: batchLength %d claims %d bytes, only "
      "%u present",
      position, length, int64_t{length} + kLogOverhead, rest.size()));
}

}  // namespace

bool BatchScanner::Next(ScannedBatch* out) {
  if (stopped_) return false;
  std::string_view rest = data_.substr(pos_);
  if (rest.empty()) return Stop(ScanStop::kEnd, absl::OkStatus());
  uint64_t position = base_ + pos_;
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(rest);
  if (!view.ok()) {
    // Parse says kOutOfRange only when every check it had bytes for passed.
    if (view.status().code() == absl::StatusCode::kOutOfRange) {
      return Stop(ScanStop::kIncompleteTail, IncompleteTail(rest, position));
    }
    return Stop(
        ScanStop::kCorrupt,
        absl::Status(view.status().code(),
                     absl::StrFormat("batch at position %u: %s", position,
                                     view.status().message())));
  }
  if (verify_crc_) {
    if (absl::Status s = view->VerifyCrc(); !s.ok()) {
      return Stop(ScanStop::kCorrupt,
                  absl::DataLossError(absl::StrFormat(
                      "batch at position %u: %s", position, s.message())));
    }
  }
  out->batch = *view;
  out->position = position;
  pos_ += static_cast<size_t>(view->size_bytes());
  return true;
}

}  // namespace spool
