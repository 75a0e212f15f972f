#include "io/posix_error.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace spool::io_internal {

absl::StatusCode ErrnoToStatusCode(int error_number) {
  switch (error_number) {
    case ENOSPC:
    case EDQUOT:
    // Out of descriptors or memory is exhaustion too, not a bug in Spool.
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::StatusCode::kResourceExhausted;
    case EIO:
    case EAGAIN:  // == EWOULDBLOCK on Linux
    // The other end of a socket or pipe went away (FileRegion::SendTo).
    case EPIPE:
    case ECONNRESET:
      return absl::StatusCode::kUnavailable;
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case EISDIR:
    case ENOTDIR:
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
      return absl::StatusCode::kInvalidArgument;
    case ENOTEMPTY:
      // Canonical: the directory must be emptied first.
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status PosixError(std::string_view operation, std::string_view path,
                        int error_number) {
  char buffer[256];
  // GNU strerror_r: returns a pointer to the message (maybe not `buffer`).
  const char* text = strerror_r(error_number, buffer, sizeof(buffer));
  return absl::Status(ErrnoToStatusCode(error_number),
                      absl::StrFormat("%s %s: %s (errno %d)", operation, path,
                                      text, error_number));
}

}  // namespace spool::io_internal
