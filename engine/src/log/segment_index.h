// A segment's sparse offset index (.index) and time index (.timeindex), in
// Kafka's layouts (docs/format/segments.md):
//   .index      entries of 8 bytes: int32 BE relative offset, int32 BE
//               position of a batch; the offset is that batch's LAST offset.
//   .timeindex  entries of 12 bytes: int64 BE timestamp, int32 BE relative
//               offset; (T, O) means the largest timestamp in the segment up
//               to offset O is T. Timestamps strictly increase.
//
// Thread-safe like IndexFile: one writer, many readers.

#ifndef SPOOL_LOG_SEGMENT_INDEX_H_
#define SPOOL_LOG_SEGMENT_INDEX_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "log/index_file.h"

namespace spool {

class OffsetIndex {
 public:
  static constexpr int kEntrySize = 8;
  struct Entry {
    int64_t offset = 0;
    uint32_t position = 0;
  };

  OffsetIndex(FileSystem* fs, std::string path, int64_t base_offset,
              int32_t max_bytes)
      : base_offset_(base_offset),
        file_(fs, std::move(path), kEntrySize, max_bytes) {}

  IndexFile& file() { return file_; }
  const IndexFile& file() const { return file_; }
  int64_t base_offset() const { return base_offset_; }

  // REQUIRES: active; offset greater than the last entry's and
  // offset - base_offset fits in int32.
  void Append(int64_t offset, uint32_t position);
  // The entry with the largest offset <= target, else (base_offset, 0).
  absl::StatusOr<Entry> Lookup(int64_t target) const;
  // The largest position of an entry that is <= `position` (each is a
  // batch's first byte), else 0.
  absl::StatusOr<uint32_t> PositionAtOrBelow(uint64_t position) const;
  // The last entry, or (base_offset, 0) when empty.
  absl::StatusOr<Entry> Last() const;
  // Removes entries whose offset is >= `offset`. REQUIRES: active.
  absl::Status TruncateToOffset(int64_t offset);
  bool full() const { return file_.entries() >= file_.max_entries(); }
  // kDataLoss unless offsets strictly increase and positions never
  // decrease.
  absl::Status SanityCheck() const;

 private:
  const int64_t base_offset_;
  IndexFile file_;
};

class TimeIndex {
 public:
  static constexpr int kEntrySize = 12;
  struct Entry {
    int64_t timestamp = -1;
    int64_t offset = 0;
  };

  TimeIndex(FileSystem* fs, std::string path, int64_t base_offset,
            int32_t max_bytes)
      : base_offset_(base_offset),
        file_(fs, std::move(path), kEntrySize, max_bytes) {}

  IndexFile& file() { return file_; }
  const IndexFile& file() const { return file_; }

  // Appends (timestamp, offset) if timestamp is strictly greater than the
  // last entry's; otherwise does nothing. REQUIRES: active, and unless
  // `skip_full_check`, not full().
  void MaybeAppend(int64_t timestamp, int64_t offset,
                   bool skip_full_check = false);
  // The entry with the largest timestamp <= ts, else (-1, base_offset).
  absl::StatusOr<Entry> Lookup(int64_t timestamp) const;
  // The last entry, or (-1, base_offset) when empty.
  absl::StatusOr<Entry> Last() const;
  // Removes entries whose offset is >= `offset`. REQUIRES: active.
  absl::Status TruncateToOffset(int64_t offset);
  // One slot stays free for the final entry written when the segment is
  // sealed.
  bool full() const { return file_.entries() >= file_.max_entries() - 1; }
  // kDataLoss unless timestamps and offsets strictly increase.
  absl::Status SanityCheck() const;

  // Must be called after loading an active index, so MaybeAppend knows the
  // last timestamp.
  absl::Status RefreshLast();

 private:
  const int64_t base_offset_;
  IndexFile file_;
  int64_t last_timestamp_ = -1;  // writer only
};

}  // namespace spool

#endif  // SPOOL_LOG_SEGMENT_INDEX_H_
