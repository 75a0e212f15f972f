// `spool demo` (what README's first command runs): the built binary runs
// the demo on a fresh directory and again on the same one; what it
// reports is checked against the data directory it leaves behind.

#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "cli/cli_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/engine.h"

namespace spool::cli_test {
namespace {

using ::testing::HasSubstr;

constexpr char kEvents[] = "chat-events";
constexpr char kTasks[] = "bot-tasks";
constexpr char kDeadLetters[] = "bot-tasks.dlq";
constexpr int kTaskCount = 2000;  // the demo's worker pool

// The counts of the worker-pool line: acked and dead-lettered tasks.
struct WorkerCounts {
  int acked = -1;
  int dead_lettered = -1;
};

// "workers done in 0.6 s: 1975 tasks acked (221 after a retry), 332 failed
// attempts, 25 dead-lettered to bot-tasks.dlq" (std::regex would do, but
// GCC 12 warns inside it under the CI flags).
WorkerCounts ParseWorkers(const std::string& out) {
  WorkerCounts c;
  const size_t at = out.find("workers done in ");
  if (at == std::string::npos) return c;
  const std::string_view line =
      std::string_view(out).substr(at, out.find('\n', at) - at);
  // The number that ends right before `suffix` in the line; -1 if none.
  auto number_before = [&](std::string_view suffix) {
    const size_t end = line.find(suffix);
    if (end == std::string_view::npos) return -1;
    size_t begin = end;
    while (begin > 0 && absl::ascii_isdigit(line[begin - 1])) --begin;
    int n = -1;
    const auto [ptr, ec] =
        std::from_chars(line.data() + begin, line.data() + end, n);
    return ec == std::errc() && ptr == line.data() + end && begin < end ? n
                                                                        : -1;
  };
  c.acked = number_before(" tasks acked (");
  c.dead_lettered = number_before(" dead-lettered to bot-tasks.dlq");
  return c;
}

TEST(DemoTest, RunsTwiceOnOneDirectoryAndLeavesWhatItReports) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/demo";
  int dead_lettered = 0;
  for (int run = 1; run <= 2; ++run) {
    SCOPED_TRACE(run);
    RunResult r = RunSpool({"demo", "--data-dir", dir, "--events", "4000"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("produced 4000 events"));
    EXPECT_THAT(r.out, HasSubstr("every conversation's events arrived in "
                                 "order"));
    EXPECT_THAT(r.out, HasSubstr("a power loss now loses nothing"));
    EXPECT_THAT(r.out, HasSubstr("Compact():"));
    const WorkerCounts w = ParseWorkers(r.out);
    ASSERT_GE(w.acked, 0) << "no worker-pool line in:\n" << r.out;
    // Every task is acked or dead-lettered, and some are dead-lettered.
    EXPECT_EQ(w.acked + w.dead_lettered, kTaskCount);
    EXPECT_GT(w.dead_lettered, 0);
    dead_lettered += w.dead_lettered;

    std::unique_ptr<Engine> engine = OpenEngine(dir);
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(Depth(*engine, kEvents), 4000 * run);
    EXPECT_EQ(Depth(*engine, kTasks), kTaskCount * run);
    EXPECT_EQ(Depth(*engine, kDeadLetters), dead_lettered);
    // Every dead letter names where it came from.
    int64_t named = 0;
    absl::StatusOr<int32_t> parts = engine->PartitionCount(kDeadLetters);
    ASSERT_TRUE(parts.ok()) << parts.status();
    for (int32_t p = 0; p < *parts; ++p) {
      for (int64_t pos = 0;;) {
        absl::StatusOr<FetchResult> f = engine->Fetch({kDeadLetters, p}, pos);
        ASSERT_TRUE(f.ok()) << f.status();
        if (f->batches.empty()) break;
        ASSERT_TRUE(f->ForEachRecord([&](const RecordView& rec) {
                       for (const HeaderView& h : rec.headers) {
                         if (h.key == "spool.dlq.topic" && h.value == kTasks) {
                           ++named;
                         }
                       }
                       return true;
                     }).ok());
        pos = f->next_offset;
      }
    }
    EXPECT_EQ(named, dead_lettered);
    ASSERT_TRUE(engine->Close().ok());
  }
}

}  // namespace
}  // namespace spool::cli_test
