// PartitionLog reads: by offset (as file regions or parsed batches) and by
// timestamp. Readers take no lock held by the writer: they snapshot the
// segment list and read only below each segment's published size.

#include <algorithm>

#include "absl/strings/str_format.h"
#include "format/coding.h"
#include "log/partition_log.h"
#include "util/status_macros.h"

namespace spool {
namespace {

// Walks batch boundaries from a position, reading only as much of the file
// as the headers need: one window of small batches at a time, or one small
// read per large batch.
class HeaderWalker {
 public:
  static constexpr size_t kWindow = 16 * 1024;
  static constexpr size_t kPrefix = 27;  // through lastOffsetDelta

  HeaderWalker(const File& file, uint64_t pos, uint64_t limit)
      : file_(file), pos_(pos), limit_(limit) {}

  uint64_t position() const { return pos_; }

  // The batch at the current position: false at the limit.
  absl::StatusOr<bool> Peek(int64_t* base, int64_t* last, int64_t* size) {
    if (pos_ >= limit_) return false;
    if (pos_ < buf_start_ || pos_ + kPrefix > buf_start_ + buf_.size()) {
      size_t want = std::min<uint64_t>(kWindow, limit_ - pos_);
      buf_.resize(want);
      SPOOL_ASSIGN_OR_RETURN(size_t n, file_.Read(pos_, want, buf_.data()));
      buf_.resize(n);
      buf_start_ = pos_;
    }
    if (pos_ + kPrefix > buf_start_ + buf_.size()) {
      return Corrupt("a batch header is cut off");
    }
    const char* p = buf_.data() + (pos_ - buf_start_);
    *base = static_cast<int64_t>(DecodeFixed64BE(p));
    *size = kLogOverhead + static_cast<int32_t>(DecodeFixed32BE(p + 8));
    *last = *base + static_cast<int32_t>(DecodeFixed32BE(p + 23));
    if (*size < kBatchHeaderSize ||
        pos_ + static_cast<uint64_t>(*size) > limit_) {
      return Corrupt(absl::StrFormat("batch length %d does not fit", *size));
    }
    return true;
  }

  void Advance(int64_t size) { pos_ += static_cast<uint64_t>(size); }

 private:
  absl::Status Corrupt(std::string_view what) const {
    return absl::DataLossError(absl::StrFormat(
        "%s: published data at position %d is not a valid batch: %s",
        file_.path(), pos_, what));
  }

  const File& file_;
  uint64_t pos_;
  const uint64_t limit_;
  std::string buf_;
  uint64_t buf_start_ = 0;
};

}  // namespace

absl::StatusOr<LogReadResult> PartitionLog::Read(
    int64_t offset, const LogReadOptions& options) const {
  reads_.fetch_add(1);
  auto segs = snapshot();
  return ReadLocked(offset, options, *segs);
}

absl::StatusOr<LogReadResult> PartitionLog::ReadLocked(
    int64_t offset, const LogReadOptions& options,
    const SegmentList& segs) const {
  LogReadResult result;
  result.log_start_offset = log_start_offset_.load();
  result.high_watermark = high_watermark_.load();
  result.log_end_offset = log_end_offset_.load();
  result.next_offset = offset;
  if (offset < result.log_start_offset || offset > result.log_end_offset) {
    return absl::OutOfRangeError(absl::StrFormat(
        "%s: offset %d is out of range [%d, %d]%s", dir_, offset,
        result.log_start_offset, result.log_end_offset,
        offset < result.log_start_offset
            ? " (below the log start offset: deleted by retention or "
              "DeleteRecords)"
            : ""));
  }
  int64_t bound =
      options.durable_only ? durable_offset_.load() : result.high_watermark;
  if (options.max_offset >= 0) bound = std::min(bound, options.max_offset);
  if (offset >= bound || segs.empty()) return result;

  auto it = std::upper_bound(segs.begin(), segs.end(), offset,
                             [](int64_t o, const std::shared_ptr<Segment>& s) {
                               return o < s->base_offset();
                             });
  size_t i = it == segs.begin() ? 0 : (it - segs.begin()) - 1;
  int64_t budget = options.max_bytes;
  bool first = true;
  bool done = false;
  for (; i < segs.size() && !done; ++i) {
    const Segment& seg = *segs[i];
    const uint64_t limit = seg.size();
    SPOOL_ASSIGN_OR_RETURN(uint64_t pos,
                           seg.FindPosition(result.next_offset, limit));
    if (pos >= limit) continue;
    SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<File> file, seg.LogFile());
    HeaderWalker walker(*file, pos, limit);
    int64_t base = 0, last = 0, size = 0;
    while (true) {
      SPOOL_ASSIGN_OR_RETURN(bool more, walker.Peek(&base, &last, &size));
      if (!more) break;
      if (last >= bound ||
          (size > budget && !(first && options.min_one_batch))) {
        done = true;
        break;
      }
      budget -= size;
      first = false;
      result.next_offset = last + 1;
      walker.Advance(size);
    }
    if (walker.position() > pos) {
      result.regions.emplace_back(file, pos, walker.position() - pos);
      result.bytes += static_cast<int64_t>(walker.position() - pos);
    }
    if (budget <= 0) done = true;
  }
  read_bytes_.fetch_add(result.bytes);
  return result;
}

absl::StatusOr<LogBatches> PartitionLog::ReadBatches(
    int64_t offset, const LogReadOptions& options) const {
  SPOOL_ASSIGN_OR_RETURN(LogReadResult read, Read(offset, options));
  LogBatches out;
  out.next_offset = read.next_offset;
  out.log_start_offset = read.log_start_offset;
  out.log_end_offset = read.log_end_offset;
  out.high_watermark = read.high_watermark;
  out.data.resize(static_cast<size_t>(read.bytes));
  size_t at = 0;
  for (const FileRegion& region : read.regions) {
    SPOOL_ASSIGN_OR_RETURN(
        size_t n,
        region.file()->Read(region.offset(), region.length(), &out.data[at]));
    if (n != region.length()) {
      return absl::DataLossError(absl::StrFormat(
          "%s: short read of %d bytes at %d (got %d)", region.file()->path(),
          region.length(), region.offset(), n));
    }
    at += n;
  }
  std::string_view rest(out.data);
  while (!rest.empty()) {
    SPOOL_ASSIGN_OR_RETURN(RecordBatchView batch, RecordBatchView::Parse(rest));
    rest.remove_prefix(static_cast<size_t>(batch.size_bytes()));
    out.batches.push_back(batch);
  }
  return out;
}

absl::StatusOr<std::optional<int64_t>> PartitionLog::OffsetForTimestamp(
    int64_t ts) const {
  auto segs = snapshot();
  const int64_t start = log_start_offset_.load();
  const int64_t bound = high_watermark_.load();
  for (const auto& seg : *segs) {
    if (seg->max_timestamp() < ts) continue;
    if (seg->next_offset() <= start) continue;
    SPOOL_ASSIGN_OR_RETURN(std::optional<int64_t> found,
                           seg->FindOffsetForTimestamp(ts, seg->size()));
    if (found.has_value() && *found < bound) {
      return std::optional<int64_t>(std::max(*found, start));
    }
  }
  return std::optional<int64_t>();
}

absl::StatusOr<int64_t> PartitionLog::BytesFrom(int64_t offset) const {
  auto segs = snapshot();
  const int64_t start = log_start_offset_.load();
  const int64_t end = log_end_offset_.load();
  if (offset < start || offset > end) {
    return absl::OutOfRangeError(absl::StrFormat(
        "%s: offset %d is out of range [%d, %d]", dir_, offset, start, end));
  }
  int64_t bytes = 0;
  for (const auto& seg : *segs) {
    const uint64_t size = seg->size();
    if (seg->next_offset() <= offset) continue;  // wholly before `offset`
    uint64_t from = 0;
    if (seg->base_offset() <= offset) {
      SPOOL_ASSIGN_OR_RETURN(from, seg->FindPosition(offset, size));
    }
    bytes += static_cast<int64_t>(size - std::min(from, size));
  }
  return bytes;
}

}  // namespace spool
