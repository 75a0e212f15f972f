// FileSystem::Default(): the POSIX (Linux) implementation.

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "io/posix_error.h"
#include "spool/file_system.h"
#include "util/status_macros.h"

namespace spool {
namespace {

using io_internal::PosixError;

// Linux transfers at most 0x7ffff000 bytes per read/write call.
constexpr size_t kMaxIoChunk = size_t{1} << 30;

absl::Status ClosedError(std::string_view operation, std::string_view path) {
  return absl::FailedPreconditionError(
      absl::StrFormat("%s %s: the file is closed", operation, path));
}

absl::Status ReadOnlyError(std::string_view operation, std::string_view path) {
  return absl::PermissionDeniedError(
      absl::StrFormat("%s %s: the file is open read-only", operation, path));
}

// An open file descriptor.
//
// Thread-safe as File requires (pread/pwrite need no locking). Close() must
// not race with other calls on the same object: the descriptor number could
// be reused by another open() between the check and the system call.
class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd, bool read_only)
      : File(std::move(path)), fd_(fd), read_only_(read_only) {}

  ~PosixFile() override {
    // The caller did not Close(); nobody is left to report an error to.
    Close().IgnoreError();
  }

  absl::Status Write(uint64_t offset, std::string_view data) override {
    SPOOL_ASSIGN_OR_RETURN(int fd, Fd("write"));
    if (read_only_) return ReadOnlyError("write", path());
    while (!data.empty()) {
      const size_t chunk = std::min(data.size(), kMaxIoChunk);
      ssize_t n = pwrite(fd, data.data(), chunk, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      // A regular file never takes zero bytes; treat it as an I/O error.
      if (n <= 0) return PosixError("write", path(), n < 0 ? errno : EIO);
      data.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Read(uint64_t offset, size_t n,
                              char* dst) const override {
    SPOOL_ASSIGN_OR_RETURN(int fd, Fd("read"));
    size_t done = 0;
    while (done < n) {
      const size_t chunk = std::min(n - done, kMaxIoChunk);
      ssize_t got =
          pread(fd, dst + done, chunk, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return PosixError("read", path(), errno);
      if (got == 0) break;  // end of file
      done += static_cast<size_t>(got);
    }
    return done;
  }

  absl::Status Sync() override {
    SPOOL_ASSIGN_OR_RETURN(int fd, Fd("sync"));
    // After a failed fdatasync the kernel may have dropped the dirty pages;
    // retrying is only safe for EINTR, which did not start the flush.
    while (fdatasync(fd) != 0) {
      if (errno != EINTR) return PosixError("sync", path(), errno);
    }
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    SPOOL_ASSIGN_OR_RETURN(int fd, Fd("truncate"));
    if (read_only_) return ReadOnlyError("truncate", path());
    while (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) return PosixError("truncate", path(), errno);
    }
    return absl::OkStatus();
  }

  absl::Status Reserve(uint64_t offset, uint64_t length) override {
    SPOOL_ASSIGN_OR_RETURN(int fd, Fd("reserve"));
    if (read_only_) return ReadOnlyError("reserve", path());
    if (length == 0) return absl::OkStatus();  // fallocate rejects it
    while (fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                     static_cast<off_t>(length)) != 0) {
      if (errno == EINTR) continue;
      // Best effort by contract (tmpfs before 3.5, some FUSE and NFS).
      if (errno == EOPNOTSUPP || errno == ENOSYS) return absl::OkStatus();
      return PosixError("reserve", path(), errno);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() const override {
    SPOOL_ASSIGN_OR_RETURN(int fd, Fd("size"));
    struct stat st;
    if (fstat(fd, &st) != 0) return PosixError("size", path(), errno);
    return static_cast<uint64_t>(st.st_size);
  }

  int native_handle() const override { return fd_.load(); }

  absl::Status Close() override {
    const int fd = fd_.exchange(-1);
    if (fd < 0) return absl::OkStatus();
    // Linux releases the descriptor even when close() fails; never retry.
    if (close(fd) != 0 && errno != EINTR) {
      return PosixError("close", path(), errno);
    }
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<int> Fd(std::string_view operation) const {
    const int fd = fd_.load();
    if (fd < 0) return ClosedError(operation, path());
    return fd;
  }

  std::atomic<int> fd_;
  const bool read_only_;
};

// Thread-compatible; the bytes never change.
class PosixMappedRegion final : public MappedRegion {
 public:
  PosixMappedRegion(void* address, size_t size)
      : address_(address), size_(size) {}
  ~PosixMappedRegion() override {
    if (address_ != nullptr) munmap(address_, size_);
  }
  std::string_view data() const override {
    return std::string_view(static_cast<const char*>(address_), size_);
  }

 private:
  void* const address_;  // null for an empty file
  const size_t size_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    // Closing the descriptor releases the flock; unlock first anyway so a
    // descriptor leaked by fork() into a child does not keep it.
    flock(fd_, LOCK_UN);
    close(fd_);
  }

 private:
  const int fd_;
};

absl::StatusOr<int> OpenFd(const std::string& path, int flags,
                           std::string_view operation) {
  while (true) {
    const int fd = open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno != EINTR) return PosixError(operation, path, errno);
  }
}

// Closes `fd` if it refers to a directory and returns the EISDIR error.
absl::Status RejectDirectory(int fd, const std::string& path,
                             std::string_view operation) {
  struct stat st;
  int error = 0;
  if (fstat(fd, &st) != 0) {
    error = errno;
  } else if (S_ISDIR(st.st_mode)) {
    error = EISDIR;
  }
  if (error == 0) return absl::OkStatus();
  close(fd);
  return PosixError(operation, path, error);
}

// Thread-safe: every call is a system call on its own descriptors.
class PosixFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(
      const std::string& path, const OpenOptions& options) override {
    if (options.read_only && options.truncate) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "open %s: truncate needs a writable file, not read_only", path));
    }
    int flags = options.read_only ? O_RDONLY : O_RDWR;
    if (options.create) flags |= O_CREAT;
    if (options.create && options.exclusive) flags |= O_EXCL;
    if (options.truncate) flags |= O_TRUNC;
    // O_RDONLY opens a directory successfully; reject it here rather than
    // at the first read.
    SPOOL_ASSIGN_OR_RETURN(int fd, OpenFd(path, flags, "open"));
    SPOOL_RETURN_IF_ERROR(RejectDirectory(fd, path, "open"));
    return std::make_unique<PosixFile>(path, fd, options.read_only);
  }

  absl::StatusOr<std::unique_ptr<MappedRegion>> MapReadOnly(
      const std::string& path) override {
    SPOOL_ASSIGN_OR_RETURN(int fd, OpenFd(path, O_RDONLY, "map"));
    SPOOL_RETURN_IF_ERROR(RejectDirectory(fd, path, "map"));
    struct stat st;
    if (fstat(fd, &st) != 0) {
      const int error = errno;
      close(fd);
      return PosixError("map", path, error);
    }
    const size_t size = static_cast<size_t>(st.st_size);
    void* address = nullptr;
    if (size > 0) {  // mmap rejects a zero length
      address = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    }
    const int error = errno;
    close(fd);  // the mapping keeps its own reference to the file
    if (address == MAP_FAILED) return PosixError("map", path, error);
    return std::make_unique<PosixMappedRegion>(address, size);
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) == 0) return absl::OkStatus();
    return PosixError("rename", absl::StrFormat("%s to %s", from, to), errno);
  }

  absl::Status Remove(const std::string& path) override {
    if (unlink(path.c_str()) == 0) return absl::OkStatus();
    return PosixError("remove", path, errno);
  }

  absl::Status CreateDir(const std::string& path) override {
    if (mkdir(path.c_str(), 0755) == 0) return absl::OkStatus();
    const int error = errno;
    struct stat st;
    if (error == EEXIST && stat(path.c_str(), &st) == 0 &&
        S_ISDIR(st.st_mode)) {
      return absl::OkStatus();
    }
    return PosixError("create directory", path, error);
  }

  absl::Status RemoveDir(const std::string& path) override {
    if (rmdir(path.c_str()) == 0) return absl::OkStatus();
    return PosixError("remove directory", path, errno);
  }

  absl::Status SyncDir(const std::string& path) override {
    SPOOL_ASSIGN_OR_RETURN(
        int fd, OpenFd(path, O_RDONLY | O_DIRECTORY, "sync directory"));
    int error = 0;
    while (fsync(fd) != 0) {
      if (errno != EINTR) {
        error = errno;
        break;
      }
    }
    close(fd);
    if (error != 0) return PosixError("sync directory", path, error);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) override {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(path.c_str()), &closedir);
    if (dir == nullptr) return PosixError("list directory", path, errno);
    std::vector<std::string> names;
    while (true) {
      errno = 0;
      const dirent* entry = readdir(dir.get());
      if (entry == nullptr) break;
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    if (errno != 0) return PosixError("list directory", path, errno);
    return names;
  }

  absl::StatusOr<FileInfo> Stat(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return PosixError("stat", path, errno);
    FileInfo info;
    info.size = static_cast<uint64_t>(st.st_size);
    info.is_directory = S_ISDIR(st.st_mode);
    info.modification_time = absl::TimeFromTimespec(st.st_mtim);
    return info;
  }

  absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      const std::string& path) override {
    SPOOL_ASSIGN_OR_RETURN(int fd, OpenFd(path, O_RDWR | O_CREAT, "lock"));
    // flock locks belong to the open file description, so a second open()
    // conflicts even inside this process: two engines on one directory in
    // the same process are caught too.
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      if (error == EINTR) continue;
      close(fd);
      if (error == EWOULDBLOCK) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "lock: the file is locked by another process or Spool instance: "
            "%s",
            path));
      }
      return PosixError("lock", path, error);
    }
    return std::make_unique<PosixFileLock>(fd);
  }
};

}  // namespace

FileSystem* FileSystem::Default() {
  static FileSystem* const file_system = new PosixFileSystem();
  return file_system;
}

}  // namespace spool
