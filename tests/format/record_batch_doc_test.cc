// docs/format/record-batch.md carries a worked hex example; this test reads
// it out of the markdown and checks it against what the encoder produces,
// so the document cannot drift from the code.

#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "format/format_test_util.h"
#include "gtest/gtest.h"
#include "spool/record.h"

namespace spool {
namespace {

// Parses lines "xxxx: hh hh ...  comment" of the first fenced block after
// the "## Worked example" heading. The bytes end at the first double space;
// each line's offset must equal the number of bytes before it.
std::string WorkedExampleBytes(const std::string& markdown,
                               std::string* error) {
  size_t heading = markdown.find("\n## Worked example");
  size_t open = markdown.find("\n```", heading);
  size_t body = markdown.find('\n', open + 1);
  size_t close = markdown.find("\n```", body);
  if (heading == std::string::npos || open == std::string::npos ||
      close == std::string::npos) {
    *error = "no fenced block after '## Worked example'";
    return "";
  }
  std::string bytes;
  std::istringstream lines(markdown.substr(body + 1, close - body - 1));
  std::string line;
  while (std::getline(lines, line)) {
    size_t colon = line.find(": ");
    uint32_t offset = 0;
    if (colon == std::string::npos ||
        !absl::SimpleHexAtoi(line.substr(0, colon), &offset) ||
        offset != bytes.size()) {
      *error = "bad offset on line: " + line;
      return "";
    }
    std::string hex =
        line.substr(colon + 2, line.find("  ", colon + 2) - (colon + 2));
    for (absl::string_view token : absl::StrSplit(hex, ' ')) {
      bool ok = false;
      std::string byte = testing::HexToBytes({token.data(), token.size()}, &ok);
      if (!ok || byte.size() != 1) {
        *error = "bad byte '" + std::string(token) + "' on line: " + line;
        return "";
      }
      bytes += byte;
    }
  }
  return bytes;
}

TEST(RecordBatchDocTest, WorkedExampleMatchesTheEncoderByteForByte) {
  absl::StatusOr<std::string> markdown =
      testing::ReadFile(testing::SourcePath("docs/format/record-batch.md"));
  ASSERT_TRUE(markdown.ok()) << markdown.status();
  std::string error;
  std::string documented = WorkedExampleBytes(*markdown, &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_EQ(documented.size(), 93u);

  BatchBuilderOptions options;
  options.base_offset = 5;
  options.partition_leader_epoch = 2;
  options.producer_id = 7;
  options.producer_epoch = 0;
  options.base_sequence = 0;
  RecordBatchBuilder builder(options);
  builder.Add("id-1", "hello", {{"trace", "t1"}}, 1700000000000);
  builder.Add(std::nullopt, "", {}, 1700000000003);
  absl::StatusOr<std::string> batch = builder.Build();
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(testing::BytesToHex(*batch), testing::BytesToHex(documented));

  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(documented);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->header().crc, 0xB4CE2787u);
  EXPECT_TRUE(view->Validate().ok());
}

}  // namespace
}  // namespace spool
