// VerifySegment: one pass over a .log (FileBatchReader, constant memory)
// checking every batch and, merged with it, the segment's indexes.

#include <limits>

#include "absl/strings/str_format.h"
#include "format/batch_internal.h"
#include "log/file_batch_reader.h"
#include "tools/index_check.h"
#include "tools/verify.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

absl::StatusOr<bool> AllZero(const File& file, uint64_t from, uint64_t to) {
  std::string buf(std::min<uint64_t>(to - from, 64 * 1024), '\0');
  for (uint64_t pos = from; pos < to;) {
    SPOOL_ASSIGN_OR_RETURN(
        size_t n,
        file.Read(pos, std::min<uint64_t>(buf.size(), to - pos), buf.data()));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] != 0) return false;
    }
    pos += n;
  }
  return true;
}

class SegmentVerifier {
 public:
  SegmentVerifier(FileSystem* fs, const SegmentCheck& check,
                  const VerifyOptions& options, uint64_t size,
                  FindingSink* sink)
      : check_(check),
        options_(options),
        sink_(sink),
        index_sink_(sink),
        tail_sink_(sink),
        offsets_(fs, check.files.index, check.files.base_offset, check.sealed,
                 options.strict, &index_sink_),
        times_(fs, check.files.time_index, check.files.base_offset,
               check.sealed, options.strict, &index_sink_) {
    index_sink_.set_downgrade(check.index_reason);
    tail_sink_.set_downgrade(check.tail_reason);
    result_.next_offset = check.files.base_offset;
    result_.size = size;
  }

  void Batch(const ScannedBatch& b);
  absl::Status End(const File& file, const FileBatchReader& reader);
  const SegmentResult& result() const { return result_; }

 private:
  void CheckOffsets(const ScannedBatch& b);
  void CheckRecords(const ScannedBatch& b);
  const std::string& log() const { return check_.files.log; }

  const SegmentCheck& check_;
  const VerifyOptions& options_;
  FindingSink* sink_;
  DowngradingSink index_sink_;
  DowngradingSink tail_sink_;
  OffsetIndexCheck offsets_;
  TimeIndexCheck times_;
  SegmentResult result_;
  std::optional<int64_t> expected_next_;  // after the previous batch
};

void SegmentVerifier::CheckOffsets(const ScannedBatch& b) {
  const BatchHeader& h = b.batch.header();
  const int64_t base = check_.files.base_offset;
  const int64_t pos = static_cast<int64_t>(b.position);
  if (!expected_next_.has_value()) {
    if (h.base_offset < base) {
      sink_->Problem(log(), pos, "base-offset",
                     "the first batch starts below the segment's base "
                     "offset (the file name)",
                     absl::StrFormat(">= %d", base),
                     absl::StrFormat("%d", h.base_offset));
    }
    expected_next_ = check_.previous_next_offset;
  }
  if (expected_next_.has_value() && h.base_offset < *expected_next_) {
    sink_->Problem(log(), pos, "offset-order",
                   absl::StrFormat("batch [%d, %d] does not start after the "
                                   "previous batch",
                                   h.base_offset, h.last_offset()),
                   absl::StrFormat(">= %d", *expected_next_),
                   absl::StrFormat("%d", h.base_offset));
  } else if (expected_next_.has_value() && h.base_offset > *expected_next_) {
    Finding f{options_.strict ? Severity::kProblem : Severity::kNote,
              log(),
              pos,
              "offset-gap",
              absl::StrFormat("offsets %d..%d are missing before this batch "
                              "(compaction leaves such gaps)",
                              *expected_next_, h.base_offset - 1),
              "",
              ""};
    sink_->Add(std::move(f));
  }
  if (h.last_offset() - base > std::numeric_limits<int32_t>::max()) {
    sink_->Problem(log(), pos, "relative-offset",
                   absl::StrFormat("last offset %d is more than 2^31-1 above "
                                   "the base offset %d",
                                   h.last_offset(), base));
  }
  // After offsets went back, keep expecting the larger end so that one bad
  // batch is reported once, not again as a gap.
  expected_next_ =
      std::max(expected_next_.value_or(h.next_offset()), h.next_offset());
}

void SegmentVerifier::CheckRecords(const ScannedBatch& b) {
  RecordIterator it(b.batch, {.verify_crc = false});
  RecordView r;
  int64_t n = 0;
  while (it.Next(&r)) ++n;
  if (!it.status().ok()) {
    sink_->Problem(log(), static_cast<int64_t>(b.position), "records",
                   absl::StrFormat("the records do not decode: %s",
                                   it.status().message()));
  } else if (n != b.batch.header().records_count) {
    sink_->Problem(log(), static_cast<int64_t>(b.position), "records",
                   "decoded record count differs from recordsCount",
                   absl::StrFormat("%d", b.batch.header().records_count),
                   absl::StrFormat("%d", n));
  }
}

void SegmentVerifier::Batch(const ScannedBatch& b) {
  const BatchHeader& h = b.batch.header();
  const uint32_t crc = ComputeBatchCrc(b.batch.bytes());
  if (crc != h.crc) {
    sink_->Problem(log(), static_cast<int64_t>(b.position), "crc",
                   "the batch's CRC-32C does not match its bytes",
                   absl::StrFormat("%d", crc), absl::StrFormat("%d", h.crc));
  }
  CheckOffsets(b);
  if (options_.deep) CheckRecords(b);
  if (result_.first_offset < 0) result_.first_offset = h.base_offset;
  result_.max_timestamp = std::max(result_.max_timestamp, h.max_timestamp);
  result_.next_offset = std::max(result_.next_offset, h.next_offset());
  ++result_.batches;
  result_.records += h.records_count;
  offsets_.OnBatch(b.position, h);
  times_.OnBatch(h, result_.max_timestamp);
}

absl::Status SegmentVerifier::End(const File& file,
                                  const FileBatchReader& reader) {
  const uint64_t end = reader.valid_end();
  result_.valid_bytes = end;
  const int64_t pos = static_cast<int64_t>(end);
  const uint64_t rest = result_.size - end;
  if (reader.stop() == FileBatchReader::Stop::kIoError) return reader.status();
  if (reader.stop() == FileBatchReader::Stop::kIncompleteTail) {
    tail_sink_.Problem(log(), pos, "torn-tail",
                       absl::StrFormat("the last %d bytes are an incomplete "
                                       "batch (a write cut short); recovery "
                                       "truncates them",
                                       rest));
  } else if (reader.stop() == FileBatchReader::Stop::kCorrupt) {
    SPOOL_ASSIGN_OR_RETURN(bool zeros, AllZero(file, end, result_.size));
    if (zeros) {
      tail_sink_.Problem(log(), pos, "zero-tail",
                         absl::StrFormat("the last %d bytes are zeros (space "
                                         "allocated, never written); recovery "
                                         "truncates them",
                                         rest));
    } else {
      sink_->Problem(log(), pos, "batch",
                     absl::StrFormat("%s; the %d bytes from here on cannot be "
                                     "read (recovery truncates them)",
                                     reader.status().message(), rest));
    }
  }
  offsets_.Finish(end);
  times_.Finish(result_.max_timestamp);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SegmentResult> VerifySegment(FileSystem* fs,
                                            const SegmentCheck& check,
                                            const VerifyOptions& options,
                                            FindingSink* sink,
                                            Progress* progress) {
  const SegmentFiles& files = check.files;
  SPOOL_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                         fs->Open(files.log, {.read_only = true}));
  SPOOL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  for (const auto& [path, kind] : {std::pair{&files.index, "offset"},
                                   std::pair{&files.time_index, "time"}}) {
    if (path->empty()) {
      sink->Note(files.log, -1, "index-missing",
                 absl::StrFormat("the segment has no %s index (the engine "
                                 "rebuilds it at open)",
                                 kind));
    }
  }
  SegmentVerifier verifier(fs, check, options, size, sink);
  FileBatchReader reader(*file, 0, size, {.verify_crc = false});
  ScannedBatch b;
  while (reader.Next(&b)) {
    verifier.Batch(b);
    if (progress != nullptr) progress->Add(b.batch.bytes().size());
  }
  SPOOL_RETURN_IF_ERROR(verifier.End(*file, reader));
  return verifier.result();
}

}  // namespace spool::cli
