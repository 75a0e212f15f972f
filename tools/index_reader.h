// Reads the entries of a segment's .index or .timeindex file in order, in
// chunks (constant memory whatever the file size), and finds the all-zero
// tail an active segment's preallocated index has (docs/format/segments.md,
// "Index files on disk").

#ifndef SPOOL_TOOLS_INDEX_READER_H_
#define SPOOL_TOOLS_INDEX_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "spool/file_system.h"

namespace spool::cli {

inline constexpr int kOffsetEntrySize = 8;
inline constexpr int kTimeEntrySize = 12;

struct OffsetEntry {
  int64_t offset = 0;  // base offset + relative offset
  int32_t relative = 0;
  uint32_t position = 0;  // unsigned, as Kafka's int32 is never negative
};
struct TimeEntry {
  int64_t timestamp = 0;
  int64_t offset = 0;
  int32_t relative = 0;
};

OffsetEntry DecodeOffsetEntry(std::string_view bytes, int64_t base_offset);
TimeEntry DecodeTimeEntry(std::string_view bytes, int64_t base_offset);

class IndexReader {
 public:
  // Opens `path` read-only and measures its zero tail. kNotFound if absent.
  static absl::StatusOr<std::unique_ptr<IndexReader>> Open(
      FileSystem* fs, const std::string& path, int entry_size);

  const std::string& path() const { return path_; }
  int entry_size() const { return entry_size_; }
  uint64_t file_size() const { return size_; }
  // Whole entries in the file, the zero tail included.
  int64_t entries() const { return static_cast<int64_t>(size_) / entry_size_; }
  // Bytes after the last whole entry (non-zero means a damaged length).
  uint64_t partial_bytes() const { return size_ % entry_size_; }
  // Index of the first entry of the trailing run of all-zero entries
  // (entries() if there is none).
  int64_t zero_tail_start() const { return zero_tail_start_; }

  // The next entry before the zero tail; false at the tail or on an I/O
  // error (status() then). The view is valid until the next call.
  bool Next(std::string_view* entry, int64_t* index);
  const absl::Status& status() const { return status_; }

 private:
  IndexReader(std::unique_ptr<File> file, std::string path, int entry_size,
              uint64_t size)
      : file_(std::move(file)),
        path_(std::move(path)),
        entry_size_(entry_size),
        size_(size) {}
  absl::Status FindZeroTail();

  std::unique_ptr<File> file_;
  std::string path_;
  int entry_size_;
  uint64_t size_;
  int64_t zero_tail_start_ = 0;
  std::string buffer_;
  int64_t buffer_first_ = 0;  // entry index of buffer_[0]
  int64_t next_ = 0;
  absl::Status status_;
};

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_INDEX_READER_H_
