#include "tools/index_check.h"

#include "absl/strings/str_format.h"

namespace spool::cli {
namespace {

// Opens an index for checking; reports a length that is not a whole number
// of entries and a zero tail. Null if there is none or it cannot be read.
std::unique_ptr<IndexReader> OpenForCheck(FileSystem* fs,
                                          const std::string& path,
                                          int entry_size, bool sealed,
                                          FindingSink* sink) {
  if (path.empty()) return nullptr;  // the caller reports it
  absl::StatusOr<std::unique_ptr<IndexReader>> r =
      IndexReader::Open(fs, path, entry_size);
  if (!r.ok()) {
    sink->Problem(path, -1, "io", std::string(r.status().message()));
    return nullptr;
  }
  IndexReader& reader = **r;
  if (reader.partial_bytes() != 0) {
    sink->Problem(path, static_cast<int64_t>(reader.entries()) * entry_size,
                  "index-size",
                  absl::StrFormat("the length is not a whole number of "
                                  "%d-byte entries",
                                  entry_size),
                  absl::StrFormat("a multiple of %d", entry_size),
                  absl::StrFormat("%d bytes", reader.file_size()));
  }
  const int64_t tail = reader.entries() - reader.zero_tail_start();
  if (tail > 0) {
    Finding f{sealed ? Severity::kProblem : Severity::kNote,
              path,
              reader.zero_tail_start() * entry_size,
              "index-zero-tail",
              absl::StrFormat("%d all-zero entries at the end: a preallocated "
                              "index that was not trimmed%s",
                              tail,
                              sealed ? "; readers take them for real entries"
                                     : " (normal for an active segment)"),
              "",
              ""};
    sink->Add(std::move(f));
  }
  return std::move(*r);
}

}  // namespace

// ------------------------------------------------------------ offset index

OffsetIndexCheck::OffsetIndexCheck(FileSystem* fs, const std::string& path,
                                   int64_t base_offset, bool sealed,
                                   bool strict, FindingSink* sink)
    : path_(path), base_(base_offset), strict_(strict), sink_(sink) {
  reader_ = OpenForCheck(fs, path, kOffsetEntrySize, sealed, sink);
  Advance();
}

std::string OffsetIndexCheck::Where() const {
  return absl::StrFormat("entry %d (offset %d, position %d)", cur_index_,
                         cur_.offset, cur_.position);
}

void OffsetIndexCheck::Advance() {
  std::string_view bytes;
  have_ = reader_ != nullptr && reader_->Next(&bytes, &cur_index_);
  if (!have_) return;
  prev_ = cur_;
  cur_ = DecodeOffsetEntry(bytes, base_);
  ++checked_;
  const int64_t pos = cur_index_ * kOffsetEntrySize;
  if (cur_.relative < 0) {
    sink_->Problem(path_, pos, "index-entry",
                   Where() + ": negative relative offset");
  }
  if (cur_index_ > 0 &&
      (cur_.offset <= prev_.offset || cur_.position < prev_.position)) {
    sink_->Problem(
        path_, pos, "index-order",
        Where() +
            " does not follow the previous entry; entries "
            "must increase in offset and position "
            "(later entries are not compared with the log)",
        absl::StrFormat("offset > %d, position >= %d", prev_.offset,
                        prev_.position),
        absl::StrFormat("offset %d, position %d", cur_.offset, cur_.position));
    merge_ = false;
  }
}

void OffsetIndexCheck::OnBatch(uint64_t position, const BatchHeader& h) {
  while (have_ && merge_ && cur_.position < position) {
    sink_->Problem(path_, cur_index_ * kOffsetEntrySize, "index-entry",
                   Where() + " does not point at the start of a batch");
    Advance();
  }
  if (have_ && merge_ && cur_.position == position) {
    if (cur_.offset < h.last_offset() ||
        (cur_.offset > h.last_offset() && strict_)) {
      sink_->Problem(path_, cur_index_ * kOffsetEntrySize, "index-entry",
                     Where() + ": the batch there has another last offset",
                     absl::StrFormat("%d", h.last_offset()),
                     absl::StrFormat("%d", cur_.offset));
    } else if (cur_.offset > h.last_offset()) {
      // Harmless for lookups (they scan forward from the position); Kafka
      // followers index a multi-batch append this way.
      sink_->Note(path_, cur_index_ * kOffsetEntrySize, "index-entry",
                  absl::StrFormat("%s: the batch there ends at offset %d "
                                  "(a coarse entry, as Kafka writes for "
                                  "multi-batch appends; lookups stay correct)",
                                  Where(), h.last_offset()));
    }
    Advance();
  }
}

void OffsetIndexCheck::Finish(uint64_t valid_end) {
  while (have_ && merge_) {
    sink_->Problem(path_, cur_index_ * kOffsetEntrySize, "index-entry",
                   absl::StrFormat("%s points past the end of the valid log "
                                   "(%d bytes)",
                                   Where(), valid_end));
    Advance();
  }
  if (reader_ != nullptr && !reader_->status().ok()) {
    sink_->Problem(path_, -1, "io", std::string(reader_->status().message()));
  }
}

// ------------------------------------------------------------ time index

TimeIndexCheck::TimeIndexCheck(FileSystem* fs, const std::string& path,
                               int64_t base_offset, bool sealed, bool strict,
                               FindingSink* sink)
    : path_(path),
      base_(base_offset),
      sealed_(sealed),
      strict_(strict),
      sink_(sink) {
  reader_ = OpenForCheck(fs, path, kTimeEntrySize, sealed, sink);
  Advance();
}

std::string TimeIndexCheck::Where() const {
  return absl::StrFormat("entry %d (timestamp %d, offset %d)", cur_index_,
                         cur_.timestamp, cur_.offset);
}

void TimeIndexCheck::Advance() {
  std::string_view bytes;
  have_ = reader_ != nullptr && reader_->Next(&bytes, &cur_index_);
  if (!have_) return;
  prev_ = cur_;
  cur_ = DecodeTimeEntry(bytes, base_);
  any_ = true;
  last_ = cur_;
  const int64_t pos = cur_index_ * kTimeEntrySize;
  if (cur_.relative < 0) {
    sink_->Problem(path_, pos, "timeindex-entry",
                   Where() + ": negative relative offset");
  }
  if (cur_index_ > 0 &&
      (cur_.timestamp <= prev_.timestamp || cur_.offset < prev_.offset)) {
    sink_->Problem(path_, pos, "timeindex-order",
                   Where() +
                       " does not follow the previous entry; "
                       "timestamps must strictly increase "
                       "(later entries are not compared with the log)",
                   absl::StrFormat("timestamp > %d, offset >= %d",
                                   prev_.timestamp, prev_.offset),
                   absl::StrFormat("timestamp %d, offset %d", cur_.timestamp,
                                   cur_.offset));
    merge_ = false;
  }
}

void TimeIndexCheck::NotALastOffset(const BatchHeader& h, int64_t max_so_far) {
  const int64_t pos = cur_index_ * kTimeEntrySize;
  if (!strict_ && cur_.offset >= h.base_offset &&
      cur_.timestamp == max_so_far) {
    // Some Kafka versions index another offset of the batch that reached
    // the timestamp; lookups stay correct.
    sink_->Note(path_, pos, "timeindex-entry",
                Where() +
                    ": the offset is inside the batch that reached the "
                    "timestamp, not its last offset");
  } else {
    sink_->Problem(path_, pos, "timeindex-entry",
                   Where() + ": the offset is not the last offset of a batch");
  }
  Advance();
}

void TimeIndexCheck::OnBatch(const BatchHeader& h, int64_t max_so_far) {
  while (have_ && merge_ && cur_.offset < h.last_offset()) {
    NotALastOffset(h, max_so_far);
  }
  if (have_ && merge_ && cur_.offset == h.last_offset()) {
    if (cur_.timestamp != max_so_far) {
      sink_->Problem(
          path_, cur_index_ * kTimeEntrySize, "timeindex-entry",
          Where() + ": the largest timestamp up to that offset differs",
          absl::StrFormat("%d", max_so_far),
          absl::StrFormat("%d", cur_.timestamp));
    }
    Advance();
  }
}

void TimeIndexCheck::Finish(int64_t max_timestamp) {
  while (have_ && merge_) {
    sink_->Problem(path_, cur_index_ * kTimeEntrySize, "timeindex-entry",
                   Where() + ": the offset is beyond the end of the log");
    Advance();
  }
  if (reader_ != nullptr && !reader_->status().ok()) {
    sink_->Problem(path_, -1, "io", std::string(reader_->status().message()));
  }
  if (reader_ == nullptr || !sealed_ || max_timestamp < 0) return;
  if (!any_ || last_.timestamp != max_timestamp) {
    sink_->Problem(
        path_, reader_->zero_tail_start() * kTimeEntrySize, "timeindex-final",
        "a sealed segment's last time-index entry must hold its largest "
        "timestamp (retention reads it)",
        absl::StrFormat("%d", max_timestamp),
        any_ ? absl::StrFormat("%d", last_.timestamp) : "no entries");
  }
}

}  // namespace spool::cli
