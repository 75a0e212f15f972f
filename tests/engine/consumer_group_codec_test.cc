// The offsets and groups table encodings: the worked examples in
// docs/tables.md byte for byte, round trips, the decoders' errors and the
// name rules.

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_format.h"
#include "engine/consumer_groups_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using ::testing::HasSubstr;

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

std::string TablesDoc() {
  std::ifstream f(std::string(SPOOL_SOURCE_DIR) + "/docs/tables.md");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

StoredGroup ExampleGroup() {
  StoredGroup g;
  g.generation = 2;
  g.strategy = AssignmentStrategy::kSticky;
  g.topics = {{"chat", 2}};
  g.members = {{"bot-1", {"chat"}, {{"chat", 0}}, 2, absl::Seconds(45)},
               {"bot-2", {"chat"}, {{"chat", 1}}, 2, absl::Seconds(45)}};
  return g;
}

TEST(ConsumerGroupCodecTest, DocumentedExamplesMatch) {
  const std::string doc = TablesDoc();
  ASSERT_FALSE(doc.empty());
  EXPECT_EQ(OffsetKey("bots", {"chat", 3}), DocHex(doc, "offset-key"));
  const CommittedOffset offset{42, 5, "w1",
                               absl::FromUnixMillis(1700000000000)};
  EXPECT_EQ(EncodeOffsetValue(offset), DocHex(doc, "offset-value"));
  EXPECT_EQ(EncodeGroup(ExampleGroup()), DocHex(doc, "group-value"));
}

TEST(ConsumerGroupCodecTest, RoundTrips) {
  auto key = DecodeOffsetKey(OffsetKey("g\xc3\xa9", {"a.b-c", 70000}));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->group, "g\xc3\xa9");
  EXPECT_EQ(key->tp, (TopicPartition{"a.b-c", 70000}));
  EXPECT_EQ(OffsetKey("g", {"t", 1}).substr(0, 4),
            TopicOffsetsPrefix("g", "t"));
  EXPECT_EQ(TopicOffsetsPrefix("g", "t").substr(0, 2), GroupOffsetsPrefix("g"));

  const CommittedOffset offset{1234567890123, -1, std::string("a\0b", 3),
                               absl::FromUnixMillis(42)};
  auto o = DecodeOffsetValue(EncodeOffsetValue(offset));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->offset, offset.offset);
  EXPECT_EQ(o->leader_epoch, -1);
  EXPECT_EQ(o->metadata, offset.metadata);
  EXPECT_EQ(o->commit_time, offset.commit_time);

  StoredGroup empty;
  empty.empty_since_ms = 99;
  for (const StoredGroup& g : {ExampleGroup(), empty}) {
    auto d = DecodeGroup(EncodeGroup(g));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(EncodeGroup(*d), EncodeGroup(g));
    EXPECT_EQ(d->strategy, g.strategy);
    EXPECT_EQ(d->members.size(), g.members.size());
  }
  // Bytes after the known fields are ignored.
  auto longer = DecodeGroup(EncodeGroup(ExampleGroup()) + "future");
  EXPECT_TRUE(longer.ok()) << longer.status();
}

TEST(ConsumerGroupCodecTest, CorruptValuesAreDataLossNamingTheField) {
  const std::string group = EncodeGroup(ExampleGroup());
  const std::string offset = EncodeOffsetValue({7, 1, "m", absl::UnixEpoch()});
  struct Case {
    absl::Status status;
    std::string fragment;
  };
  std::string bad_version = offset;
  bad_version[0] = 2;
  std::string negative = offset;
  negative[1] = static_cast<char>(0x80);
  std::string bad_strategy = group;
  bad_strategy[5] = 9;
  std::string bad_index = group;
  bad_index[68] = 7;  // bot-1's assignment topic index
  std::string bad_partition = group;
  bad_partition[72] = 2;  // bot-1's assigned partition: chat has 2
  const Case cases[] = {
      {DecodeOffsetValue("").status(),
       "field version at byte 0: the value is cut off"},
      {DecodeOffsetValue(bad_version).status(), "unknown version 2"},
      {DecodeOffsetValue(negative).status(), "field offset"},
      {DecodeOffsetValue(offset.substr(0, offset.size() - 1)).status(),
       "field metadata"},
      {DecodeGroup(group.substr(0, 20)).status(), "groups value: field"},
      {DecodeGroup(bad_strategy).status(), "unknown code 9"},
      {DecodeGroup(bad_index).status(), "topic index 7 of 1"},
      {DecodeGroup(bad_partition).status(), "partition 2 of 2"},
      {DecodeOffsetKey(std::string_view("g\0t", 3)).status(), "offsets key"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.code(), absl::StatusCode::kDataLoss) << c.status;
    EXPECT_THAT(c.status.message(), HasSubstr(c.fragment));
  }
}

TEST(ConsumerGroupCodecTest, GroupNameRules) {
  EXPECT_TRUE(ValidateGroupName("chat-bots").ok());
  EXPECT_TRUE(ValidateGroupName("groupe \xc3\xa9t\xc3\xa9 / 2").ok());
  EXPECT_TRUE(ValidateGroupName(std::string(249, 'x')).ok());
  EXPECT_FALSE(ValidateGroupName(std::string(250, 'x')).ok());
  EXPECT_FALSE(ValidateGroupName("").ok());
  EXPECT_FALSE(ValidateGroupName(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateGroupName("del\x7f").ok());
  EXPECT_FALSE(ValidateGroupName("\xc0\xaf").ok());          // overlong
  EXPECT_FALSE(ValidateGroupName("\xed\xa0\x80").ok());      // surrogate
  EXPECT_FALSE(ValidateGroupName("\xf4\x90\x80\x80").ok());  // > U+10FFFF
  absl::Status s = ValidateGroupName("", "member id");
  EXPECT_THAT(s.message(), HasSubstr("invalid member id"));
}

}  // namespace
}  // namespace spool
