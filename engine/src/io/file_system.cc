// The non-virtual helpers of spool/file_system.h: path manipulation, the
// convenience calls built on FileSystem's primitives, and FileRegion.

#include "spool/file_system.h"

#include <poll.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_format.h"
#include "io/posix_error.h"
#include "util/status_macros.h"

namespace spool {
namespace {

using io_internal::PosixError;

constexpr size_t kCopyChunk = 64 * 1024;
// sendfile(2) transfers at most 0x7ffff000 bytes per call.
constexpr uint64_t kMaxSendfileChunk = uint64_t{1} << 30;

// "a/b//" -> "a/b"; a path made only of slashes keeps one.
std::string_view StripTrailingSlashes(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

// Blocks until `fd` can take more bytes (it returned EAGAIN).
absl::Status WaitWritable(int fd, std::string_view what) {
  pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
  while (poll(&p, 1, /*timeout=*/-1) < 0) {
    if (errno != EINTR) return PosixError("poll", what, errno);
  }
  // On POLLERR/POLLHUP the next write reports the real error.
  return absl::OkStatus();
}

// Writes all of [data, data + n) to `fd`, retrying short writes, EINTR and
// EAGAIN (non-blocking descriptors).
absl::Status WriteAll(int fd, const char* data, size_t n,
                      std::string_view what) {
  while (n > 0) {
    ssize_t written = write(fd, data, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        SPOOL_RETURN_IF_ERROR(WaitWritable(fd, what));
        continue;
      }
      return PosixError("write", what, errno);
    }
    data += written;
    n -= static_cast<size_t>(written);
  }
  return absl::OkStatus();
}

absl::Status RegionPastEnd(const FileRegion& region, uint64_t end_of_file) {
  return absl::OutOfRangeError(absl::StrFormat(
      "read region [%d, %d) of %s: the file ends at byte %d", region.offset(),
      region.offset() + region.length(), region.file()->path(), end_of_file));
}

// Sends with sendfile(2), adding to `*sent`. Returns false (and leaves the
// rest to the caller) when this pair of descriptors does not support it.
absl::StatusOr<bool> SendWithSendfile(const FileRegion& region, int out_fd,
                                      uint64_t* sent) {
  const std::string what =
      absl::StrFormat("%s to fd %d", region.file()->path(), out_fd);
  off_t position = static_cast<off_t>(region.offset() + *sent);
  while (*sent < region.length()) {
    const size_t chunk = static_cast<size_t>(
        std::min(region.length() - *sent, kMaxSendfileChunk));
    ssize_t n = sendfile(out_fd, region.fd(), &position, chunk);
    if (n > 0) {
      *sent += static_cast<uint64_t>(n);
    } else if (n == 0) {
      return RegionPastEnd(region, region.offset() + *sent);
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN) {
      SPOOL_RETURN_IF_ERROR(WaitWritable(out_fd, what));
    } else if (errno == EINVAL || errno == ENOSYS) {
      return false;  // e.g. `out_fd` opened with O_APPEND
    } else {
      return PosixError("sendfile", what, errno);
    }
  }
  return true;
}

// Sends through a user-space buffer, adding to `*sent`.
absl::Status SendWithCopy(const FileRegion& region, int out_fd,
                          uint64_t* sent) {
  const std::string what =
      absl::StrFormat("%s to fd %d", region.file()->path(), out_fd);
  std::string buffer(
      static_cast<size_t>(std::min<uint64_t>(region.length(), kCopyChunk)),
      '\0');
  while (*sent < region.length()) {
    const size_t want = static_cast<size_t>(
        std::min<uint64_t>(region.length() - *sent, buffer.size()));
    SPOOL_ASSIGN_OR_RETURN(
        size_t n,
        region.file()->Read(region.offset() + *sent, want, buffer.data()));
    if (n == 0) return RegionPastEnd(region, region.offset() + *sent);
    SPOOL_RETURN_IF_ERROR(WriteAll(out_fd, buffer.data(), n, what));
    *sent += n;
  }
  return absl::OkStatus();
}

absl::Status CheckRegionFile(const FileRegion& region) {
  if (region.file() != nullptr) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrFormat("file region [%d, %d) has no file", region.offset(),
                      region.offset() + region.length()));
}

}  // namespace

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  a = StripTrailingSlashes(a);
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  std::string joined(a);
  if (joined != "/") joined += '/';
  joined.append(b);
  return joined;
}

std::string DirName(std::string_view path) {
  path = StripTrailingSlashes(path);
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  std::string_view dir = StripTrailingSlashes(path.substr(0, slash + 1));
  return std::string(dir);
}

std::string_view BaseName(std::string_view path) {
  path = StripTrailingSlashes(path);
  if (path == "/") return path;
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

absl::StatusOr<bool> FileSystem::Exists(const std::string& path) {
  absl::StatusOr<FileInfo> info = Stat(path);
  if (info.ok()) return true;
  if (absl::IsNotFound(info.status())) return false;
  return info.status();
}

absl::Status FileSystem::CreateDirs(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("create directories: empty path");
  }
  // Walk up to the deepest existing ancestor, then create downwards.
  std::vector<std::string> missing;
  std::string current(StripTrailingSlashes(path));
  while (true) {
    absl::StatusOr<FileInfo> info = Stat(current);
    if (info.ok()) {
      if (info->is_directory) break;
      return absl::InvalidArgumentError(absl::StrFormat(
          "create directories %s: %s is not a directory", path, current));
    }
    if (!absl::IsNotFound(info.status())) return info.status();
    missing.push_back(current);
    std::string parent = DirName(current);
    if (parent == current) break;
    current = std::move(parent);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    SPOOL_RETURN_IF_ERROR(CreateDir(*it));
  }
  // Make the new entries durable: a directory created but not synced into
  // its parent vanishes, with everything in it, on power loss.
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    SPOOL_RETURN_IF_ERROR(SyncDir(DirName(*it)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FileSystem::ReadFile(const std::string& path) {
  OpenOptions options;
  options.read_only = true;
  SPOOL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, Open(path, options));
  SPOOL_ASSIGN_OR_RETURN(uint64_t size_hint, file->Size());
  std::string contents;
  contents.reserve(static_cast<size_t>(size_hint));
  // Read to end of file rather than to `size_hint`: the file may grow.
  size_t end = 0;
  while (true) {
    contents.resize(end + kCopyChunk);
    SPOOL_ASSIGN_OR_RETURN(size_t n,
                           file->Read(end, kCopyChunk, contents.data() + end));
    end += n;
    if (n == 0) break;
  }
  contents.resize(end);
  SPOOL_RETURN_IF_ERROR(file->Close());
  return contents;
}

absl::Status FileSystem::WriteFileAtomic(const std::string& path,
                                         std::string_view contents) {
  const std::string tmp = path + ".tmp";
  auto write_tmp = [&]() -> absl::Status {
    OpenOptions options;
    options.create = true;
    options.truncate = true;
    SPOOL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, Open(tmp, options));
    SPOOL_RETURN_IF_ERROR(file->Write(0, contents));
    SPOOL_RETURN_IF_ERROR(file->Sync());
    return file->Close();
  };
  absl::Status status = write_tmp();
  if (status.ok()) status = Rename(tmp, path);
  if (!status.ok()) {
    // Best effort: the original file is untouched either way, and a leftover
    // temporary file is overwritten by the next attempt.
    Remove(tmp).IgnoreError();
    return status;
  }
  return SyncDir(DirName(path));
}

absl::Status FileRegion::ReadInto(std::string* out) const {
  out->clear();
  if (length_ == 0) return absl::OkStatus();
  SPOOL_RETURN_IF_ERROR(CheckRegionFile(*this));
  out->resize(static_cast<size_t>(length_));
  size_t done = 0;
  while (done < length_) {
    SPOOL_ASSIGN_OR_RETURN(
        size_t n,
        file_->Read(offset_ + done, static_cast<size_t>(length_) - done,
                    out->data() + done));
    if (n == 0) {
      out->resize(done);
      return RegionPastEnd(*this, offset_ + done);
    }
    done += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FileRegion::SendTo(int out_fd) const {
  if (length_ == 0) return 0;
  SPOOL_RETURN_IF_ERROR(CheckRegionFile(*this));
  uint64_t sent = 0;
  absl::StatusOr<bool> done = false;
  if (fd() >= 0) done = SendWithSendfile(*this, out_fd, &sent);
  absl::Status status = done.status();
  if (status.ok() && !*done) status = SendWithCopy(*this, out_fd, &sent);
  if (!status.ok()) {
    // The receiver may have part of the region; say how much.
    return absl::Status(status.code(),
                        absl::StrFormat("%s (after sending %d of %d bytes)",
                                        status.message(), sent, length_));
  }
  return sent;
}

}  // namespace spool
