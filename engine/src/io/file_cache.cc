#include "io/file_cache.h"

#include <cerrno>
#include <iterator>
#include <utility>

#include "io/posix_error.h"
#include "util/mutex.h"
#include "util/status_macros.h"

namespace spool {

FileCache::FileCache(FileSystem* fs, size_t capacity)
    : fs_(fs), capacity_(capacity < 1 ? 1 : capacity) {}

FileCache::~FileCache() = default;

absl::StatusOr<std::shared_ptr<File>> FileCache::Get(
    const std::string& path, const OpenOptions& options) {
  // Handles dropped here are released after the mutex, outside it: closing
  // a file is a system call.
  std::list<Entry> dropped;
  std::shared_ptr<File> file;
  {
    MutexLock lock(&mu_);
    std::shared_ptr<File> stale;
    file = Lookup(path, options, &stale);
    if (stale != nullptr) dropped.push_back(Entry{path, std::move(stale)});
    if (file != nullptr) {
      ++hits_;
      TrimLocked(&dropped);
    } else {
      ++misses_;
    }
  }
  if (file != nullptr) {
    SPOOL_RETURN_IF_ERROR(ReuseAsOpen(*file, options));
    return file;
  }

  SPOOL_ASSIGN_OR_RETURN(std::unique_ptr<File> opened,
                         fs_->Open(path, options));
  file = std::move(opened);
  MutexLock lock(&mu_);
  auto it = index_.find(path);
  if (it != index_.end() && (options.read_only || !it->second->read_only)) {
    // Another thread cached it meanwhile: share that one, close ours.
    dropped.push_back(Entry{path, std::move(file)});
    lru_.splice(lru_.begin(), lru_, it->second);
    return lru_.front().file;
  }
  if (it != index_.end()) {
    dropped.splice(dropped.end(), lru_, it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{path, file, options.read_only});
  index_[path] = lru_.begin();
  TrimLocked(&dropped);
  return file;
}

std::shared_ptr<File> FileCache::Lookup(const std::string& path,
                                        const OpenOptions& options,
                                        std::shared_ptr<File>* stale) {
  auto it = index_.find(path);
  if (it == index_.end()) return nullptr;
  const Lru::iterator entry = it->second;
  if (entry->read_only && !options.read_only) {
    *stale = std::move(entry->file);
    lru_.erase(entry);
    index_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, entry);
  return entry->file;
}

absl::Status FileCache::ReuseAsOpen(File& file, const OpenOptions& options) {
  if (options.create && options.exclusive) {
    // The file is open, so it exists: what an exclusive open would say.
    return io_internal::PosixError("open", file.path(), EEXIST);
  }
  if (options.truncate) return file.Truncate(0);
  return absl::OkStatus();
}

void FileCache::TrimLocked(std::list<Entry>* dropped) {
  // Walk from the least recently used end, skipping pinned entries: the
  // cache's own reference is the only one when use_count() == 1, and no
  // other can appear meanwhile since copies are made only under mu_.
  auto it = lru_.end();
  while (lru_.size() > capacity_ && it != lru_.begin()) {
    const auto victim = std::prev(it);
    if (victim->file.use_count() > 1) {
      it = victim;
      continue;
    }
    index_.erase(victim->path);
    dropped->splice(dropped->end(), lru_, victim);
    ++evictions_;
  }
}

void FileCache::Evict(const std::string& path) {
  std::list<Entry> dropped;
  MutexLock lock(&mu_);
  auto it = index_.find(path);
  if (it == index_.end()) return;
  dropped.splice(dropped.end(), lru_, it->second);
  index_.erase(it);
}

void FileCache::Trim() {
  std::list<Entry> dropped;
  MutexLock lock(&mu_);
  TrimLocked(&dropped);
}

size_t FileCache::open_count() const {
  MutexLock lock(&mu_);
  return lru_.size();
}

uint64_t FileCache::hits() const {
  MutexLock lock(&mu_);
  return hits_;
}

uint64_t FileCache::misses() const {
  MutexLock lock(&mu_);
  return misses_;
}

uint64_t FileCache::evictions() const {
  MutexLock lock(&mu_);
  return evictions_;
}

}  // namespace spool
