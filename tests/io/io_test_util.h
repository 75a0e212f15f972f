// Helpers shared by the io tests.

#ifndef SPOOL_TESTS_IO_IO_TEST_UTIL_H_
#define SPOOL_TESTS_IO_IO_TEST_UTIL_H_

#include <cstddef>
#include <random>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace spool::testing_io {

// A fresh, empty directory under testing::TempDir(), removed with its
// contents on destruction. Not thread-safe.
class ScopedTempDir {
 public:
  ScopedTempDir();
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(std::string_view name) const;

 private:
  std::string path_;
};

// Success iff `status` has `code` and its message contains `fragment`.
::testing::AssertionResult HasStatus(const absl::Status& status,
                                     absl::StatusCode code,
                                     std::string_view fragment);
template <typename T>
::testing::AssertionResult HasStatus(const absl::StatusOr<T>& result,
                                     absl::StatusCode code,
                                     std::string_view fragment) {
  return HasStatus(result.status(), code, fragment);
}

// `n` random bytes, none of them zero (so a zero in a result is a hole).
std::string RandomBytes(std::mt19937_64& rng, size_t n);

}  // namespace spool::testing_io

#endif  // SPOOL_TESTS_IO_IO_TEST_UTIL_H_
