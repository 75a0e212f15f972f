#include "tables/tables_test_util.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"

namespace spool::testing_tables {

TempDir::TempDir() {
  std::string base = ::testing::TempDir();
  if (base.empty() || base.back() != '/') base += '/';
  std::string pattern = base + "spool_tables_XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << " failed";
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

std::string TempDir::Join(std::string_view name) const {
  return JoinPath(path_, name);
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

Contents ReadAll(const TableStore& store) {
  Contents contents;
  for (Table table : kAllTables) {
    absl::Status s = store.Scan(
        table, "", [&](std::string_view key, std::string_view value) {
          contents[{table, std::string(key)}] = std::string(value);
          return true;
        });
    EXPECT_TRUE(s.ok()) << s;
  }
  return contents;
}

std::string Diff(const Contents& expected, const Contents& actual) {
  std::string out;
  auto show = [](const std::pair<Table, std::string>& k) {
    return absl::StrFormat("%s/%s", TableName(k.first),
                           absl::CHexEscape(k.second));
  };
  for (const auto& [k, v] : expected) {
    auto it = actual.find(k);
    if (it == actual.end()) {
      absl::StrAppendFormat(&out, "  missing %s\n", show(k));
    } else if (it->second != v) {
      absl::StrAppendFormat(&out, "  %s = \"%s\", expected \"%s\"\n", show(k),
                            absl::CHexEscape(it->second), absl::CHexEscape(v));
    }
  }
  for (const auto& [k, v] : actual) {
    if (!expected.contains(k)) {
      absl::StrAppendFormat(&out, "  unexpected %s = \"%s\"\n", show(k),
                            absl::CHexEscape(v));
    }
  }
  return out;
}

}  // namespace spool::testing_tables
