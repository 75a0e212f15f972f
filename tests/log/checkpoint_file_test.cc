#include "log/checkpoint_file.h"

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"

namespace spool {
namespace {

using ::testing::HasSubstr;

TEST(CheckpointFileTest, FormatsKafkasLayoutAsDocumented) {
  OffsetCheckpoint c;
  c[{"orders", 1}] = 988;
  c[{"orders", 0}] = 1200;
  EXPECT_EQ(FormatOffsetCheckpoint(c), "0\n2\norders 0 1200\norders 1 988\n");
  // The example in docs/format/checkpoints.md.
  std::ifstream f(std::string(SPOOL_SOURCE_DIR) +
                  "/docs/format/checkpoints.md");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string doc = ss.str();
  size_t at = doc.find("<!-- text: recovery-point-offset-checkpoint -->");
  ASSERT_NE(at, std::string::npos);
  size_t body = doc.find('\n', doc.find("```", at)) + 1;
  EXPECT_EQ(doc.substr(body, doc.find("```", body) - body),
            FormatOffsetCheckpoint(c));
  EXPECT_EQ(FormatOffsetCheckpoint({}), "0\n0\n");
}

TEST(CheckpointFileTest, ParsesWhatItFormatsAndTopicsWithDashesAndDots) {
  OffsetCheckpoint c;
  c[{"my-topic.v2", 7}] = 42;
  c[{"a", 0}] = 0;
  auto parsed = ParseOffsetCheckpoint(FormatOffsetCheckpoint(c), "x");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, c);
  auto empty = ParseOffsetCheckpoint("", "x");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(CheckpointFileTest, RejectsMalformedFilesNamingTheLine) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"1\n0\n", "line 1: unsupported version '1'"},
      {"0\n", "missing version or count"},
      {"0\nx\n", "line 2: bad entry count 'x'"},
      {"0\n2\na 0 1\n", "entry count 2 but 1 entry lines"},
      {"0\n1\na 0\n", "line 3: expected 'topic partition offset', got 'a 0'"},
      {"0\n1\na -1 5\n", "line 3"},
      {"0\n1\na 0 x\n", "line 3"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseOffsetCheckpoint(c.text, "/d/recovery");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << c.text;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.message)) << c.text;
    EXPECT_THAT(parsed.status().message(), HasSubstr("/d/recovery"));
  }
}

TEST(CheckpointFileTest, WriteIsAtomicAndDurable) {
  FaultInjectionFileSystem fs(3);
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  ASSERT_TRUE(fs.SyncDir("/").ok());
  OffsetCheckpoint c;
  c[{"t", 0}] = 5;
  ASSERT_TRUE(WriteOffsetCheckpoint(&fs, "/d/cp", c).ok());
  fs.SimulatePowerLoss();
  auto read = ReadOffsetCheckpoint(&fs, "/d/cp");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, c);
  auto missing = ReadOffsetCheckpoint(&fs, "/d/none");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->empty());
}

TEST(CheckpointFileTest, ParsesPartitionDirectoryNames) {
  EXPECT_EQ(ParsePartitionDirName("orders-0"), (TopicPartition{"orders", 0}));
  EXPECT_EQ(ParsePartitionDirName("a-b-c-12"), (TopicPartition{"a-b-c", 12}));
  EXPECT_FALSE(ParsePartitionDirName("orders").has_value());
  EXPECT_FALSE(ParsePartitionDirName("orders-").has_value());
  EXPECT_FALSE(ParsePartitionDirName("-3").has_value());
  EXPECT_FALSE(ParsePartitionDirName("orders-x1").has_value());
}

}  // namespace
}  // namespace spool
