// Unit tests of the CLI's output helpers (tools/output.h, tools/findings.h).

#include "tools/output.h"

#include <string>

#include "gtest/gtest.h"
#include "tools/findings.h"

namespace spool::cli {
namespace {

std::string Render(std::string_view bytes, DataFormat f) {
  std::string out;
  AppendData(&out, bytes, f);
  return out;
}

TEST(OutputTest, Utf8KeepsTextAndEscapesTheRest) {
  EXPECT_EQ(Render("plain text", DataFormat::kUtf8), "plain text");
  EXPECT_EQ(
      Render("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82", DataFormat::kUtf8),
      "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82");
  EXPECT_EQ(Render(std::string_view("a\nb\tc\\d\0\x7f", 9), DataFormat::kUtf8),
            "a\\nb\\tc\\\\d\\x00\\x7f");
  // Invalid: a lone continuation byte, a truncated sequence, an overlong
  // encoding, a surrogate.
  EXPECT_EQ(Render("\x80", DataFormat::kUtf8), "\\x80");
  EXPECT_EQ(Render("\xc3", DataFormat::kUtf8), "\\xc3");
  EXPECT_EQ(Render("\xc0\xaf", DataFormat::kUtf8), "\\xc0\\xaf");
  EXPECT_EQ(Render("\xed\xa0\x80", DataFormat::kUtf8), "\\xed\\xa0\\x80");
}

TEST(OutputTest, HexAndBase64) {
  EXPECT_EQ(Render(std::string_view("\x00\xff k", 4), DataFormat::kHex),
            "00ff206b");
  EXPECT_EQ(Render("hdr", DataFormat::kBase64), "aGRy");
  EXPECT_EQ(Render("anything", DataFormat::kNone), "");
}

TEST(OutputTest, DataJson) {
  EXPECT_TRUE(DataJson(std::nullopt, DataFormat::kUtf8).is_null());
  EXPECT_TRUE(DataJson("x", DataFormat::kNone).is_null());
  EXPECT_EQ(DataJson("hval", DataFormat::kBase64), "aHZhbA==");
  EXPECT_EQ(DataJson("", DataFormat::kHex), "");
}

TEST(OutputTest, ParseDataFormat) {
  EXPECT_EQ(ParseDataFormat("utf8"), DataFormat::kUtf8);
  EXPECT_EQ(ParseDataFormat("hex"), DataFormat::kHex);
  EXPECT_EQ(ParseDataFormat("base64"), DataFormat::kBase64);
  EXPECT_EQ(ParseDataFormat("none"), DataFormat::kNone);
  EXPECT_EQ(ParseDataFormat("ascii"), std::nullopt);
}

TEST(OutputTest, TableAlignsColumns) {
  Table t({"name", "n"});
  t.AddRow({"a", "10"});
  t.AddRow({"longer", "2"});
  EXPECT_EQ(t.ToString(),
            "name     n\n"
            "a       10\n"
            "longer   2\n");
}

TEST(OutputTest, FormatTimestamp) {
  EXPECT_EQ(FormatTimestamp(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatTimestamp(-1), "-");
}

TEST(FindingsTest, TextAndJsonForms) {
  Finding f{Severity::kProblem, "d/x.log", 75, "crc", "bad", "1", "2"};
  EXPECT_EQ(FormatFinding(f),
            "d/x.log:75: problem: bad (expected 1, found 2) [crc]");
  EXPECT_EQ(FindingJson(f).dump(),
            R"({"type":"finding","severity":"problem","file":"d/x.log",)"
            R"("position":75,"check":"crc","message":"bad","expected":"1",)"
            R"("found":"2"})");
  f.position = -1;
  f.severity = Severity::kNote;
  f.expected = f.found = "";
  EXPECT_EQ(FormatFinding(f), "d/x.log: note: bad [crc]");
}

TEST(FindingsTest, DowngradingSinkTurnsProblemsIntoNotes) {
  FindingSink sink(nullptr, false);
  DowngradingSink tail(&sink);
  tail.Problem("f", 1, "torn-tail", "cut");
  tail.set_downgrade("engine running");
  tail.Problem("f", 2, "torn-tail", "cut");
  EXPECT_EQ(sink.problems(), 1);
  EXPECT_EQ(sink.notes(), 1);
}

}  // namespace
}  // namespace spool::cli
