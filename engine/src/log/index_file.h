// Storage shared by a segment's offset index and time index: a file of
// fixed-size big-endian entries with no header, whose length is its entry
// count (Kafka's layout; docs/format/segments.md).
//
// While its segment is active an index lives in memory and is written to a
// file preallocated (sparse) to the maximum index size; on Seal() the file
// is trimmed to exactly `entries * entry_size` bytes and later lookups map
// it read-only. A crash leaves the active index with a zero tail; recovery
// rebuilds it from the log, so unsynced index bytes are never trusted.
//
// Thread-safe: one writer (the partition's appender) and any number of
// readers. Readers take `mu_` shared for the few nanoseconds of a lookup;
// the writer takes it exclusively only to append an entry.

#ifndef SPOOL_LOG_INDEX_FILE_H_
#define SPOOL_LOG_INDEX_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "spool/file_system.h"
#include "util/mutex.h"

namespace spool {

class IndexFile {
 public:
  IndexFile(FileSystem* fs, std::string path, int entry_size,
            int32_t max_bytes);
  IndexFile(const IndexFile&) = delete;
  IndexFile& operator=(const IndexFile&) = delete;

  const std::string& path() const { return path_; }
  int entry_size() const { return entry_size_; }
  int64_t max_entries() const { return max_entries_; }

  // Creates (or truncates) the file and preallocates it to the maximum
  // size, sparse. The index starts empty and active.
  absl::Status CreateActive();
  // Makes an existing index active again (the last segment of a cleanly
  // shut down log): reads its entries and re-extends the file. kDataLoss if
  // the length is not a multiple of the entry size.
  absl::Status LoadActive();
  // Opens an existing index of a sealed segment. The file is mapped on the
  // first lookup. kDataLoss if the length is not a multiple of the entry
  // size.
  absl::Status OpenSealed();

  // Appends one encoded entry (entry_size bytes). A sealed index is
  // immutable: the entry is dropped (the index is sparse; lookups stay
  // correct, only coarser).
  void Append(std::string_view entry) ABSL_LOCKS_EXCLUDED(mu_);
  // REQUIRES: active. Removes every entry from index `n` on.
  void TruncateEntries(int64_t n) ABSL_LOCKS_EXCLUDED(mu_);
  // Writes entries not yet in the file (no sync). Active only; no-op after
  // Seal().
  absl::Status Flush() ABSL_LOCKS_EXCLUDED(mu_);
  // Writes the remaining entries, trims the file to its exact length and
  // syncs it if `sync`. The index becomes sealed.
  absl::Status Seal(bool sync) ABSL_LOCKS_EXCLUDED(mu_);
  // fdatasync of the file as it is now.
  absl::Status Sync() const ABSL_LOCKS_EXCLUDED(mu_);
  // Removes the file. The index becomes empty.
  absl::Status Delete() ABSL_LOCKS_EXCLUDED(mu_);
  // Renames the file (for the .deleted / .swap protocol).
  absl::Status Rename(const std::string& new_path) ABSL_LOCKS_EXCLUDED(mu_);

  int64_t entries() const ABSL_LOCKS_EXCLUDED(mu_);
  bool active() const ABSL_LOCKS_EXCLUDED(mu_);

  // Calls `fn(std::string_view entries_bytes)` with every entry, under a
  // shared lock, and returns its result. Errors mapping a sealed file are
  // returned as a status instead.
  template <typename Fn>
  absl::StatusOr<std::invoke_result_t<Fn, std::string_view>> WithEntries(
      Fn fn) const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::Status s = EnsureMapped();
    if (!s.ok()) return s;
    ReaderMutexLock lock(&mu_);
    return fn(EntriesLocked());
  }

 private:
  absl::Status EnsureMapped() const ABSL_LOCKS_EXCLUDED(mu_);
  std::string_view EntriesLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status WriteUnflushedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  FileSystem* const fs_;
  const int entry_size_;
  const int32_t max_bytes_;  // rounded down to a multiple of entry_size_
  const int64_t max_entries_;

  mutable Mutex mu_;
  std::string path_ ABSL_GUARDED_BY(mu_);
  bool active_ ABSL_GUARDED_BY(mu_) = false;
  // Active: the entries. The file is opened only to flush them, so an
  // active index holds no file descriptor.
  std::string memory_ ABSL_GUARDED_BY(mu_);
  // Bytes of memory_ already written to the file.
  size_t flushed_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Sealed: the file's entry count and, once mapped, its bytes.
  int64_t sealed_entries_ ABSL_GUARDED_BY(mu_) = 0;
  mutable std::unique_ptr<MappedRegion> mapped_ ABSL_GUARDED_BY(mu_);
};

}  // namespace spool

#endif  // SPOOL_LOG_INDEX_FILE_H_
