// Debian's Abseil (20220623) is built with its own absl::string_view, not
// std::string_view, so absl string functions do not take std::string_view.
// Spool's APIs use std::string_view; convert at the call with ToAbsl(), or
// use absl::StrFormat, which accepts both.

#ifndef SPOOL_UTIL_STRINGS_H_
#define SPOOL_UTIL_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace spool {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline std::string_view ToStd(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace spool

#endif  // SPOOL_UTIL_STRINGS_H_
