#include "io/io_test_util.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace spool::testing_io {

ScopedTempDir::ScopedTempDir() {
  std::string base = ::testing::TempDir();
  if (base.empty() || base.back() != '/') base += '/';
  std::string pattern = base + "spool_io_XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << " failed";
  }
  path_ = pattern;
}

ScopedTempDir::~ScopedTempDir() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

std::string ScopedTempDir::Join(std::string_view name) const {
  return absl::StrCat(path_, "/", absl::string_view(name.data(), name.size()));
}

::testing::AssertionResult HasStatus(const absl::Status& status,
                                     absl::StatusCode code,
                                     std::string_view fragment) {
  const absl::string_view message = status.message();
  if (status.code() == code &&
      message.find(absl::string_view(fragment.data(), fragment.size())) !=
          absl::string_view::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "expected " << absl::StatusCodeToString(code) << " containing \""
         << fragment << "\", got " << status;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(1 + rng() % 255);
  return bytes;
}

}  // namespace spool::testing_io
