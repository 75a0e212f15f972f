// The one place where errno values become absl::Status codes.

#ifndef SPOOL_IO_POSIX_ERROR_H_
#define SPOOL_IO_POSIX_ERROR_H_

#include <string_view>

#include "absl/status/status.h"

namespace spool::io_internal {

// Returns the status for a failed system call: the code from the table in
// posix_error.cc (the codes documented in spool/file_system.h) and the
// message "<operation> <path>: <strerror> (errno N)".
// REQUIRES: error_number != 0.
absl::Status PosixError(std::string_view operation, std::string_view path,
                        int error_number);

// The code alone, for callers that build their own message.
absl::StatusCode ErrnoToStatusCode(int error_number);

}  // namespace spool::io_internal

#endif  // SPOOL_IO_POSIX_ERROR_H_
