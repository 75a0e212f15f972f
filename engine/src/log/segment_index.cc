#include "log/segment_index.h"

#include "absl/strings/str_format.h"
#include "format/coding.h"
#include "util/status_macros.h"

namespace spool {
namespace {

// Index of the last entry in [0, n) for which `le(i)` holds, given that le
// is true for a prefix of the entries; -1 if none.
template <typename Pred>
int64_t LastMatching(int64_t n, Pred le) {
  int64_t lo = 0, hi = n;  // answer in [lo - 1, hi - 1]
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (le(mid)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo - 1;
}

OffsetIndex::Entry DecodeOffsetEntry(std::string_view bytes, int64_t i,
                                     int64_t base) {
  const char* p = bytes.data() + i * OffsetIndex::kEntrySize;
  return {base + static_cast<int32_t>(DecodeFixed32BE(p)),
          DecodeFixed32BE(p + 4)};
}

TimeIndex::Entry DecodeTimeEntry(std::string_view bytes, int64_t i,
                                 int64_t base) {
  const char* p = bytes.data() + i * TimeIndex::kEntrySize;
  return {static_cast<int64_t>(DecodeFixed64BE(p)),
          base + static_cast<int32_t>(DecodeFixed32BE(p + 8))};
}

}  // namespace

void OffsetIndex::Append(int64_t offset, uint32_t position) {
  char entry[kEntrySize];
  EncodeFixed32BE(entry, static_cast<uint32_t>(offset - base_offset_));
  EncodeFixed32BE(entry + 4, position);
  file_.Append(std::string_view(entry, kEntrySize));
}

absl::StatusOr<OffsetIndex::Entry> OffsetIndex::Lookup(int64_t target) const {
  return file_.WithEntries([&](std::string_view bytes) {
    int64_t n = bytes.size() / kEntrySize;
    int64_t i = LastMatching(n, [&](int64_t k) {
      return DecodeOffsetEntry(bytes, k, base_offset_).offset <= target;
    });
    if (i < 0) return Entry{base_offset_, 0};
    return DecodeOffsetEntry(bytes, i, base_offset_);
  });
}

absl::StatusOr<uint32_t> OffsetIndex::PositionAtOrBelow(
    uint64_t position) const {
  return file_.WithEntries([&](std::string_view bytes) -> uint32_t {
    int64_t n = bytes.size() / kEntrySize;
    int64_t i = LastMatching(n, [&](int64_t k) {
      return DecodeOffsetEntry(bytes, k, base_offset_).position <= position;
    });
    return i < 0 ? 0 : DecodeOffsetEntry(bytes, i, base_offset_).position;
  });
}

absl::StatusOr<OffsetIndex::Entry> OffsetIndex::Last() const {
  return file_.WithEntries([&](std::string_view bytes) {
    int64_t n = bytes.size() / kEntrySize;
    if (n == 0) return Entry{base_offset_, 0};
    return DecodeOffsetEntry(bytes, n - 1, base_offset_);
  });
}

absl::Status OffsetIndex::TruncateToOffset(int64_t offset) {
  SPOOL_ASSIGN_OR_RETURN(
      int64_t keep, file_.WithEntries([&](std::string_view bytes) {
        int64_t n = bytes.size() / kEntrySize;
        return LastMatching(
                   n,
                   [&](int64_t k) {
                     return DecodeOffsetEntry(bytes, k, base_offset_).offset <
                            offset;
                   }) +
               1;
      }));
  file_.TruncateEntries(keep);
  return absl::OkStatus();
}

absl::Status OffsetIndex::SanityCheck() const {
  SPOOL_ASSIGN_OR_RETURN(
      std::string problem, file_.WithEntries([&](std::string_view bytes) {
        int64_t n = bytes.size() / kEntrySize;
        Entry prev{base_offset_ - 1, 0};
        for (int64_t i = 0; i < n; ++i) {
          Entry e = DecodeOffsetEntry(bytes, i, base_offset_);
          if (e.offset <= prev.offset || e.position < prev.position) {
            return absl::StrFormat(
                "entry %d (offset %d, position %d) does not follow entry %d "
                "(offset %d, position %d)",
                i, e.offset, e.position, i - 1, prev.offset, prev.position);
          }
          prev = e;
        }
        return std::string();
      }));
  if (problem.empty()) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrFormat("offset index %s: %s", file_.path(), problem));
}

void TimeIndex::MaybeAppend(int64_t timestamp, int64_t offset,
                            bool skip_full_check) {
  if (timestamp <= last_timestamp_) return;
  if (!skip_full_check && full()) return;
  char entry[kEntrySize];
  EncodeFixed64BE(entry, static_cast<uint64_t>(timestamp));
  EncodeFixed32BE(entry + 8, static_cast<uint32_t>(offset - base_offset_));
  file_.Append(std::string_view(entry, kEntrySize));
  last_timestamp_ = timestamp;
}

absl::StatusOr<TimeIndex::Entry> TimeIndex::Lookup(int64_t timestamp) const {
  return file_.WithEntries([&](std::string_view bytes) {
    int64_t n = bytes.size() / kEntrySize;
    int64_t i = LastMatching(n, [&](int64_t k) {
      return DecodeTimeEntry(bytes, k, base_offset_).timestamp <= timestamp;
    });
    if (i < 0) return Entry{-1, base_offset_};
    return DecodeTimeEntry(bytes, i, base_offset_);
  });
}

absl::StatusOr<TimeIndex::Entry> TimeIndex::Last() const {
  return file_.WithEntries([&](std::string_view bytes) {
    int64_t n = bytes.size() / kEntrySize;
    if (n == 0) return Entry{-1, base_offset_};
    return DecodeTimeEntry(bytes, n - 1, base_offset_);
  });
}

absl::Status TimeIndex::TruncateToOffset(int64_t offset) {
  SPOOL_ASSIGN_OR_RETURN(
      int64_t keep, file_.WithEntries([&](std::string_view bytes) {
        int64_t n = bytes.size() / kEntrySize;
        return LastMatching(
                   n,
                   [&](int64_t k) {
                     return DecodeTimeEntry(bytes, k, base_offset_).offset <
                            offset;
                   }) +
               1;
      }));
  file_.TruncateEntries(keep);
  return RefreshLast();
}

absl::Status TimeIndex::RefreshLast() {
  SPOOL_ASSIGN_OR_RETURN(Entry last, Last());
  last_timestamp_ = last.timestamp;
  return absl::OkStatus();
}

absl::Status TimeIndex::SanityCheck() const {
  SPOOL_ASSIGN_OR_RETURN(
      std::string problem, file_.WithEntries([&](std::string_view bytes) {
        int64_t n = bytes.size() / kEntrySize;
        Entry prev{-1, base_offset_ - 1};
        for (int64_t i = 0; i < n; ++i) {
          Entry e = DecodeTimeEntry(bytes, i, base_offset_);
          if (e.timestamp <= prev.timestamp || e.offset < prev.offset) {
            return absl::StrFormat(
                "entry %d (timestamp %d, offset %d) does not follow entry %d "
                "(timestamp %d, offset %d)",
                i, e.timestamp, e.offset, i - 1, prev.timestamp, prev.offset);
          }
          prev = e;
        }
        return std::string();
      }));
  if (problem.empty()) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrFormat("time index %s: %s", file_.path(), problem));
}

}  // namespace spool
