// docs/format/segments.md carries a worked example of a segment's three
// files; this test writes that segment through PartitionLog and compares
// every byte with the hex blocks in the document.

#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "log/partition_log.h"

namespace spool {
namespace {

// The bytes of the ``` block that follows "<!-- hex: name -->".
std::string DocHex(const std::string& doc, const std::string& name) {
  size_t at = doc.find("<!-- hex: " + name + " -->");
  EXPECT_NE(at, std::string::npos) << name;
  if (at == std::string::npos) return "";
  size_t open = doc.find("```", at);
  size_t body = doc.find('\n', open) + 1;
  size_t close = doc.find("```", body);
  std::istringstream in(doc.substr(body, close - body));
  std::string out, token;
  while (in >> token) out.push_back(static_cast<char>(std::stoi(token, 0, 16)));
  return out;
}

std::string Hex(const std::string& bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    absl::StrAppendFormat(&out, "%02x%s", static_cast<unsigned char>(bytes[i]),
                          i % 16 == 15 ? "\n" : " ");
  }
  return out;
}

TEST(SegmentsDocTest, WorkedExampleMatchesWhatTheLogWrites) {
  std::ifstream f(std::string(SPOOL_SOURCE_DIR) + "/docs/format/segments.md");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  ASSERT_FALSE(doc.empty());

  FaultInjectionFileSystem fs(1);
  PartitionLogOptions o;
  o.fs = &fs;
  o.dir = "/d/t-0";
  o.config.index_interval_bytes = 0;
  o.config.segment_index_bytes = 1200;
  auto log = PartitionLog::Open(o, nullptr);
  ASSERT_TRUE(log.ok()) << log.status();
  RecordBatchBuilder one;
  one.Add("k", "v", {}, 1700000000000);
  ASSERT_TRUE((*log)->Append(*one.Build()).ok());
  RecordBatchBuilder two;
  two.Add("a", "1", {}, 1700000000010);
  two.Add("b", "2", {}, 1700000000007);
  ASSERT_TRUE((*log)->Append(*two.Build()).ok());
  ASSERT_TRUE((*log)->Close().ok());

  const std::string base = "/d/t-0/00000000000000000000";
  std::string log_bytes = *fs.ReadFile(base + ".log");
  std::string index = *fs.ReadFile(base + ".index");
  std::string timeindex = *fs.ReadFile(base + ".timeindex");
  EXPECT_EQ(log_bytes, DocHex(doc, "segment-log")) << Hex(log_bytes);
  EXPECT_EQ(index, DocHex(doc, "segment-index")) << Hex(index);
  EXPECT_EQ(timeindex, DocHex(doc, "segment-timeindex")) << Hex(timeindex);
}

}  // namespace
}  // namespace spool
