// Status helper macros. Abseil 20220623 (Debian 12) ships no status macros,
// so Spool keeps these two.

#ifndef SPOOL_UTIL_STATUS_MACROS_H_
#define SPOOL_UTIL_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SPOOL_STATUS_CONCAT_INNER_(a, b) a##b
#define SPOOL_STATUS_CONCAT_(a, b) SPOOL_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define SPOOL_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::absl::Status spool_status_ = (expr);         \
    if (!spool_status_.ok()) return spool_status_; \
  } while (0)

// `SPOOL_ASSIGN_OR_RETURN(auto x, F())` assigns the value of the
// absl::StatusOr returned by F() to x, or returns its status.
#define SPOOL_ASSIGN_OR_RETURN(lhs, expr) \
  SPOOL_ASSIGN_OR_RETURN_IMPL_(           \
      SPOOL_STATUS_CONCAT_(spool_statusor_, __LINE__), lhs, expr)
#define SPOOL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()

#endif  // SPOOL_UTIL_STATUS_MACROS_H_
