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

// Walks batch boundaries from a position. Without a sink it reads only as
// much of the file as the headers need: one window of small batches at a
// time, or just the next header after a large batch. With a sink (ReadBatches)
// it reads the batches themselves into the sink, `hint` bytes at first and more
// only when a batch runs past what was read, so each byte is read once;
// Finish() trims the sink to exactly the batches walked.
class HeaderWalker {
 public:
  static constexpr size_t kWindow = 16 * 1024;
  static constexpr size_t kPrefix = 27;  // through lastOffsetDelta
  static constexpr int64_t kLargeBatch = 4 * 1024;

  HeaderWalker(const File& file, uint64_t pos, uint64_t limit,
               std::string* sink = nullptr, uint64_t hint = 0)
      : file_(file),
        start_(pos),
        pos_(pos),
        limit_(limit),
        sink_(sink),
        sink_base_(sink == nullptr ? 0 : sink->size()),
        hint_(std::max<uint64_t>(hint, kPrefix)) {}

  uint64_t position() const { return pos_; }

  // The batch at the current position: false at the limit.
  absl::StatusOr<bool> Peek(int64_t* base, int64_t* last, int64_t* size) {
    if (pos_ >= limit_) return false;
    SPOOL_ASSIGN_OR_RETURN(const char* p, Bytes(kPrefix));
    if (p == nullptr) return Corrupt("a batch header is cut off");
    *base = static_cast<int64_t>(DecodeFixed64BE(p));
    *size = kLogOverhead + static_cast<int32_t>(DecodeFixed32BE(p + 8));
    *last = *base + static_cast<int32_t>(DecodeFixed32BE(p + 23));
    if (*size < kBatchHeaderSize ||
        pos_ + static_cast<uint64_t>(*size) > limit_) {
      return Corrupt(absl::StrFormat("batch length %d does not fit", *size));
    }
    return true;
  }

  // Moves past the batch just peeked (with a sink: after reading all of it).
  absl::Status Advance(int64_t size) {
    if (sink_ != nullptr) {
      SPOOL_ASSIGN_OR_RETURN(const char* p, Bytes(static_cast<uint64_t>(size)));
      if (p == nullptr) return Corrupt("the batch is cut off");
    }
    pos_ += static_cast<uint64_t>(size);
    last_size_ = size;
    return absl::OkStatus();
  }

  // With a sink: drops bytes read past the last batch walked.
  void Finish() {
    if (sink_ != nullptr) sink_->resize(sink_base_ + (pos_ - start_));
  }

 private:
  // `n` bytes from the current position, reading as needed; nullptr if
  // the file ends first.
  absl::StatusOr<const char*> Bytes(uint64_t n) {
    if (sink_ != nullptr) {
      const uint64_t have = sink_->size() - sink_base_;  // from start_
      const uint64_t need = pos_ - start_ + n;
      if (need > have) {
        const uint64_t want = std::min<uint64_t>(limit_ - (start_ + have),
                                                 std::max(need - have, hint_));
        sink_->resize(sink_base_ + have + want);
        SPOOL_ASSIGN_OR_RETURN(
            size_t got,
            file_.Read(start_ + have, want, sink_->data() + sink_base_ + have));
        sink_->resize(sink_base_ + have + got);
        if (have + got < need) return nullptr;
      }
      return sink_->data() + sink_base_ + (pos_ - start_);
    }
    if (pos_ < buf_start_ || pos_ + n > buf_start_ + buf_.size()) {
      // After a large batch, read just what is asked: a window would copy
      // mostly the next batch's records out of the page cache for nothing.
      const uint64_t window = last_size_ >= kLargeBatch ? n : kWindow;
      size_t want = std::min<uint64_t>(window, limit_ - pos_);
      buf_.resize(want);
      SPOOL_ASSIGN_OR_RETURN(size_t got, file_.Read(pos_, want, buf_.data()));
      buf_.resize(got);
      buf_start_ = pos_;
    }
    if (pos_ + n > buf_start_ + buf_.size()) return nullptr;
    return buf_.data() + (pos_ - buf_start_);
  }

  absl::Status Corrupt(std::string_view what) const {
    return absl::DataLossError(absl::StrFormat(
        "%s: published data at position %d is not a valid batch: %s",
        file_.path(), pos_, what));
  }

  const File& file_;
  const uint64_t start_;
  uint64_t pos_;
  const uint64_t limit_;
  std::string* const sink_;
  const size_t sink_base_;
  const uint64_t hint_;
  std::string buf_;
  uint64_t buf_start_ = 0;
  int64_t last_size_ = 0;
};

}  // namespace

absl::StatusOr<LogReadResult> PartitionLog::Read(
    int64_t offset, const LogReadOptions& options) const {
  reads_.fetch_add(1);
  auto segs = snapshot();
  return ReadLocked(offset, options, *segs, nullptr);
}

absl::StatusOr<LogReadResult> PartitionLog::ReadLocked(
    int64_t offset, const LogReadOptions& options, const SegmentList& segs,
    std::string* data) const {
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
    const uint64_t epoch = seg.position_epoch();  // before the size
    const uint64_t limit = seg.size();
    SPOOL_ASSIGN_OR_RETURN(uint64_t pos,
                           seg.FindPosition(result.next_offset, limit));
    if (pos >= limit) continue;
    SPOOL_ASSIGN_OR_RETURN(std::shared_ptr<File> file, seg.LogFile());
    // Asked to, a copying read ends where the index knows a batch starts
    // below the budget's end: the bytes past the last whole batch would be
    // dropped here and read again by the next read. (Only a hint: the walk
    // checks every batch; a truncation may have moved them since.)
    uint64_t end = limit;
    if (options.end_at_indexed_batch && data != nullptr && budget > 0 &&
        pos + static_cast<uint64_t>(budget) < limit) {
      // (A failed look reads as without it.)
      absl::StatusOr<uint32_t> start = seg.offset_index().PositionAtOrBelow(
          pos + static_cast<uint64_t>(budget));
      if (start.ok() && *start > pos) end = *start;
    }
    HeaderWalker walker(
        *file, pos, limit, data,
        std::min<uint64_t>(end - pos, std::max<int64_t>(budget, 0)));
    int64_t base = 0, last = 0, size = 0;
    while (true) {
      if (end < limit && walker.position() >= end) {
        done = true;
        break;
      }
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
      SPOOL_RETURN_IF_ERROR(walker.Advance(size));
    }
    walker.Finish();
    if (walker.position() > pos) {
      result.regions.emplace_back(file, pos, walker.position() - pos);
      result.bytes += static_cast<int64_t>(walker.position() - pos);
      // The next read (a consumer going on) starts here.
      seg.RememberPosition(result.next_offset, walker.position(), epoch);
    }
    if (budget <= 0) done = true;
  }
  read_bytes_.fetch_add(result.bytes);
  return result;
}

absl::StatusOr<LogBatches> PartitionLog::ReadBatches(
    int64_t offset, const LogReadOptions& options) const {
  reads_.fetch_add(1);
  auto segs = snapshot();
  LogBatches out;
  SPOOL_ASSIGN_OR_RETURN(LogReadResult read,
                         ReadLocked(offset, options, *segs, &out.data));
  out.next_offset = read.next_offset;
  out.log_start_offset = read.log_start_offset;
  out.log_end_offset = read.log_end_offset;
  out.high_watermark = read.high_watermark;
  out.regions = std::move(read.regions);
  out.bytes = read.bytes;
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
