#include "log/file_batch_reader.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "format/coding.h"
#include "spool/record.h"

namespace spool {

FileBatchReader::FileBatchReader(const File& file, uint64_t start, uint64_t end,
                                 Options options)
    : file_(file), end_(end), options_(options), valid_end_(start) {}

bool FileBatchReader::StopWith(Stop stop, absl::Status status) {
  stop_ = stop;
  status_ = std::move(status);
  scanner_.reset();
  return false;
}

bool FileBatchReader::Next(ScannedBatch* out) {
  while (stop_ == Stop::kNone) {
    if (scanner_.has_value()) {
      if (scanner_->Next(out)) {
        valid_end_ = out->position + out->batch.bytes().size();
        return true;
      }
      if (scanner_->stop_reason() == ScanStop::kCorrupt) {
        return StopWith(Stop::kCorrupt, scanner_->status());
      }
      valid_end_ = scanner_->valid_end();
      uint64_t buffer_end = buffer_start_ + buffer_.size();
      if (buffer_end >= end_ || file_ended_) {
        if (scanner_->stop_reason() == ScanStop::kEnd) {
          return StopWith(Stop::kEnd, absl::OkStatus());
        }
        return StopWith(Stop::kIncompleteTail, scanner_->status());
      }
    }
    if (valid_end_ >= end_) return StopWith(Stop::kEnd, absl::OkStatus());
    if (!Refill()) return false;
  }
  return false;
}

// Reads the next chunk starting at valid_end_: at least chunk_bytes, or the
// whole of the next batch if its header says it is larger.
bool FileBatchReader::Refill() {
  const uint64_t pos = valid_end_;
  const uint64_t remaining = end_ - pos;
  uint64_t want = std::min<uint64_t>(options_.chunk_bytes, remaining);
  char prefix[kLogOverhead];
  const uint64_t buffer_end = buffer_start_ + buffer_.size();
  uint64_t in_buffer =
      pos >= buffer_start_ && buffer_end > pos ? buffer_end - pos : 0;
  if (in_buffer >= kLogOverhead) {
    std::copy_n(buffer_.data() + (pos - buffer_start_), kLogOverhead, prefix);
    int64_t claimed =
        kLogOverhead + static_cast<int32_t>(DecodeFixed32BE(prefix + 8));
    if (claimed > static_cast<int64_t>(remaining)) {
      return StopWith(
          Stop::kIncompleteTail,
          absl::OutOfRangeError(absl::StrFormat(
              "%s: batch at position %d claims %d bytes but only %d remain",
              file_.path(), pos, claimed, remaining)));
    }
    if (claimed > static_cast<int64_t>(options_.max_batch_bytes)) {
      return StopWith(
          Stop::kCorrupt,
          absl::DataLossError(absl::StrFormat(
              "%s: batch at position %d claims %d bytes, more "
              "than the maximum %d",
              file_.path(), pos, claimed, options_.max_batch_bytes)));
    }
    want = std::max<uint64_t>(want, static_cast<uint64_t>(claimed));
  }
  buffer_.resize(want);
  absl::StatusOr<size_t> n = file_.Read(pos, want, buffer_.data());
  if (!n.ok()) return StopWith(Stop::kIoError, n.status());
  file_ended_ = *n < want;
  buffer_.resize(*n);
  buffer_start_ = pos;
  if (*n == 0) {
    // The file is shorter than the range we were asked to read.
    return StopWith(Stop::kEnd, absl::OkStatus());
  }
  scanner_.emplace(std::string_view(buffer_), pos, options_.verify_crc);
  return true;
}

}  // namespace spool
