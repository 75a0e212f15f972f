// Helpers shared by the tables tests.

#ifndef SPOOL_TESTS_TABLES_TABLES_TEST_UTIL_H_
#define SPOOL_TESTS_TABLES_TABLES_TEST_UTIL_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tables/table_store.h"

namespace spool::testing_tables {

// A fresh, empty directory under testing::TempDir(), removed with its
// contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

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

// Every (table, key) -> value of the store, read with Scan. Fails the
// current test on an error.
using Contents = std::map<std::pair<Table, std::string>, std::string>;
Contents ReadAll(const TableStore& store);

// Human-readable difference of two Contents, for failure messages.
std::string Diff(const Contents& expected, const Contents& actual);

}  // namespace spool::testing_tables

#endif  // SPOOL_TESTS_TABLES_TABLES_TEST_UTIL_H_
