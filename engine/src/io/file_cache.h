// FileCache: a bounded set of open files shared by everyone who reads or
// writes them, so an engine with 10,000 partitions (each with a log and two
// index files per segment) stays within a fixed number of descriptors.
//
// Get() returns a shared handle, opening the file on a miss. The cache keeps
// at most `capacity` files open that nobody else is using: when a miss would
// exceed it, the least recently used entries whose handle is not held
// outside the cache ("unpinned") are dropped. A caller pins an entry simply
// by holding the shared_ptr that Get() returned; eviction only drops the
// cache's reference, so a pinned file stays open and usable and is closed
// when its last holder lets go.
//
// The capacity is therefore a soft bound: while more than `capacity` files
// are pinned, all of them stay cached and open_count() exceeds it; the next
// Get() (or Trim()) after they are released brings it back down. Files
// dropped by Evict() while still pinned are open too but no longer counted.
//
// Thread-safe. Files are opened and closed outside the cache's mutex, so a
// slow open() does not block hits on other files.

#ifndef SPOOL_IO_FILE_CACHE_H_
#define SPOOL_IO_FILE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "spool/file_system.h"
#include "util/mutex.h"

namespace spool {

class FileCache {
 public:
  // `fs` is not owned and must outlive the cache and every handle it gave
  // out. REQUIRES: capacity >= 1.
  FileCache(FileSystem* fs, size_t capacity);
  ~FileCache();

  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // Returns an open handle on `path`, shared with other callers, as if by
  // fs->Open(path, options):
  //   - a hit returns the cached handle; `truncate` truncates it to zero and
  //     `create` + `exclusive` fails with kAlreadyExists, as Open would.
  //     A cached read-only handle does not serve a writable request: it is
  //     replaced by a writable one (a writable one serves both).
  //   - a miss opens the file (errors are Open's) and caches it, evicting
  //     unpinned least recently used entries beyond the capacity.
  // The handle stays valid as long as the caller holds it, even if evicted.
  absl::StatusOr<std::shared_ptr<File>> Get(const std::string& path,
                                            const OpenOptions& options)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Drops the cached handle of `path`, if any (e.g. before renaming or
  // removing the file, so the next Get opens the new file). Holders keep
  // their handle. Not counted as an eviction.
  void Evict(const std::string& path) ABSL_LOCKS_EXCLUDED(mu_);

  // Drops every unpinned entry beyond the capacity; Get() does this too.
  void Trim() ABSL_LOCKS_EXCLUDED(mu_);

  // Entries in the cache (pinned or not).
  size_t open_count() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t capacity() const { return capacity_; }
  uint64_t hits() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t misses() const ABSL_LOCKS_EXCLUDED(mu_);
  // Entries dropped to respect the capacity.
  uint64_t evictions() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::string path;
    std::shared_ptr<File> file;
    bool read_only = false;
  };
  using Lru = std::list<Entry>;  // most recently used first

  // Looks `path` up and, on a usable hit, moves it to the front. Sets
  // `*stale` to an unusable (read-only) entry's handle after removing it.
  std::shared_ptr<File> Lookup(const std::string& path,
                               const OpenOptions& options,
                               std::shared_ptr<File>* stale)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies `truncate` / `exclusive` to a handle found in the cache.
  static absl::Status ReuseAsOpen(File& file, const OpenOptions& options);
  // Moves unpinned entries beyond the capacity into `*dropped`.
  void TrimLocked(std::list<Entry>* dropped) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  FileSystem* const fs_;
  const size_t capacity_;

  mutable Mutex mu_;
  Lru lru_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Lru::iterator> index_ ABSL_GUARDED_BY(mu_);
  uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace spool

#endif  // SPOOL_IO_FILE_CACHE_H_
