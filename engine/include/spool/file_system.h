// The I/O seam. All engine code reaches the disk through FileSystem, so every
// crash scenario (lost unsynced data, torn writes, EIO, ENOSPC, forgotten
// directory entries) can be reproduced in-process with a fault-injecting
// implementation, and the real thing is plain POSIX.
//
// Error codes used by every implementation:
//   kNotFound            the path does not exist
//   kAlreadyExists       exclusive create of an existing path
//   kResourceExhausted   the device is full (ENOSPC, EDQUOT)
//   kUnavailable         an I/O error that may go away (EIO, EAGAIN)
//   kPermissionDenied    EACCES / EPERM
//   kFailedPrecondition  a lock held by someone else, a closed file, or a
//                        file system that has "lost power"
//   kInvalidArgument     a path of the wrong kind (a directory where a file
//                        was expected, ...)
// Messages name the operation and the path.

#ifndef SPOOL_FILE_SYSTEM_H_
#define SPOOL_FILE_SYSTEM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spool {

// An open file, read and written at explicit positions.
//
// Thread-safe: concurrent Read()s, and Read()s concurrent with Write()s to
// other byte ranges, are allowed (pread/pwrite semantics). Writes to the
// same range from several threads must be ordered by the caller.
class File {
 public:
  virtual ~File() = default;

  // Writes all of `data` at `offset`, extending the file if needed. Data is
  // not durable until Sync() returns OK.
  virtual absl::Status Write(uint64_t offset, std::string_view data) = 0;

  // Reads up to `n` bytes at `offset` into `dst`. Returns the number of bytes
  // read, which is less than `n` only at end of file.
  virtual absl::StatusOr<size_t> Read(uint64_t offset, size_t n,
                                      char* dst) const = 0;

  // Makes every completed Write() and the file size durable (fdatasync).
  virtual absl::Status Sync() = 0;

  // Sets the file size; bytes beyond it are gone, new bytes read as zeros.
  virtual absl::Status Truncate(uint64_t size) = 0;

  // Reserves disk blocks for [offset, offset + length) without changing the
  // file size (fallocate with FALLOC_FL_KEEP_SIZE). Best effort: a file
  // system that cannot reserve space returns OK.
  virtual absl::Status Reserve(uint64_t offset, uint64_t length) = 0;

  // Current size in bytes, including data not yet synced.
  virtual absl::StatusOr<uint64_t> Size() const = 0;

  // The OS file descriptor, for sendfile(); -1 when the file is not backed by
  // one (in-memory file systems).
  virtual int native_handle() const { return -1; }

  // Releases the handle. Further calls fail with kFailedPrecondition.
  // Idempotent; the destructor closes an open file and ignores errors.
  virtual absl::Status Close() = 0;

  const std::string& path() const { return path_; }

 protected:
  explicit File(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

// A read-only view of a whole file's bytes (mmap for POSIX). The bytes are
// valid until the region is destroyed. Used for index files of inactive
// segments, which are never written again.
class MappedRegion {
 public:
  virtual ~MappedRegion() = default;
  virtual std::string_view data() const = 0;
};

// An exclusive lock on a path (flock on POSIX); released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

// A byte range of an open file that a network server can hand to
// sendfile(2) without copying through user space. Keeps the file open.
class FileRegion {
 public:
  FileRegion() = default;
  FileRegion(std::shared_ptr<File> file, uint64_t offset, uint64_t length)
      : file_(std::move(file)), offset_(offset), length_(length) {}

  const std::shared_ptr<File>& file() const { return file_; }
  uint64_t offset() const { return offset_; }
  uint64_t length() const { return length_; }
  // -1 if the file has no descriptor; use ReadInto() then.
  int fd() const { return file_ ? file_->native_handle() : -1; }

  // Copies the region's bytes into `out` (replacing its contents).
  absl::Status ReadInto(std::string* out) const;
  // Sends the region to `out_fd` with sendfile(2) when the file has a
  // descriptor, otherwise through a buffer. Returns bytes sent.
  absl::StatusOr<uint64_t> SendTo(int out_fd) const;

 private:
  std::shared_ptr<File> file_;
  uint64_t offset_ = 0;
  uint64_t length_ = 0;
};

struct OpenOptions {
  bool create = false;     // create the file if it does not exist
  bool exclusive = false;  // with create: fail with kAlreadyExists if it does
  bool truncate = false;   // truncate an existing file to zero length
  bool read_only = false;  // open for reading only
};

struct FileInfo {
  uint64_t size = 0;
  bool is_directory = false;
  absl::Time modification_time;
};

// Paths are plain strings joined with '/'. Implementations are thread-safe.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The process-wide POSIX file system. Never null; not owned by the caller.
  static FileSystem* Default();

  virtual absl::StatusOr<std::unique_ptr<File>> Open(
      const std::string& path, const OpenOptions& options) = 0;

  // Maps the whole file read-only. An empty file gives an empty region.
  virtual absl::StatusOr<std::unique_ptr<MappedRegion>> MapReadOnly(
      const std::string& path) = 0;

  // Atomically replaces `to` with `from`. Durable once the directories of
  // both paths are synced.
  virtual absl::Status Rename(const std::string& from,
                              const std::string& to) = 0;

  // Removes a file. kNotFound if it does not exist.
  virtual absl::Status Remove(const std::string& path) = 0;

  // Creates a directory; OK if it already exists as a directory. Parents
  // must exist. Durable once the parent directory is synced.
  virtual absl::Status CreateDir(const std::string& path) = 0;

  // Removes an empty directory.
  virtual absl::Status RemoveDir(const std::string& path) = 0;

  // Makes the creations, removals and renames of entries in `path` durable.
  virtual absl::Status SyncDir(const std::string& path) = 0;

  // Names (not paths) of the entries of a directory, without "." and "..",
  // in unspecified order.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) = 0;

  virtual absl::StatusOr<FileInfo> Stat(const std::string& path) = 0;

  // Takes an exclusive lock on `path` (created if missing). Fails with
  // kFailedPrecondition if another holder, in this process or another, has
  // it; the message names the path.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      const std::string& path) = 0;

  // Convenience helpers built on the calls above.
  absl::StatusOr<bool> Exists(const std::string& path);
  // Creates `path` and any missing parents, and makes them durable (syncs
  // the parent of every directory it creates).
  absl::Status CreateDirs(const std::string& path);
  // Reads a whole (small) file.
  absl::StatusOr<std::string> ReadFile(const std::string& path);
  // Writes `contents` to `path` atomically and durably: a temporary file in
  // the same directory, Sync, Rename, SyncDir.
  absl::Status WriteFileAtomic(const std::string& path,
                               std::string_view contents);
};

// Joins path components with '/'.
std::string JoinPath(std::string_view a, std::string_view b);
// The directory part of a path ("a/b/c" -> "a/b"; "c" -> ".").
std::string DirName(std::string_view path);
// The last component of a path ("a/b/c" -> "c").
std::string_view BaseName(std::string_view path);

}  // namespace spool

#endif  // SPOOL_FILE_SYSTEM_H_
