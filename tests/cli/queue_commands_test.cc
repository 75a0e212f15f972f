// `spool redrive` and `spool parked`: dead letters and parked keys made
// through the engine's API, then handled by the built binary, then checked
// through the API again.

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/cli_test_util.h"
#include "gtest/gtest.h"
#include "spool/engine.h"
#include "spool/subscriptions.h"

namespace spool::cli_test {
namespace {

using nlohmann::json;

constexpr char kJobs[] = "jobs";
constexpr char kDlq[] = "jobs.dlq";
constexpr char kSub[] = "workers";
constexpr int64_t kT0 = 1700000000000;

// A record as compared after the round trip: partition, key, value,
// headers (sorted by key), timestamp.
using Headers = std::vector<std::pair<std::string, std::optional<std::string>>>;
using Row = std::tuple<int32_t, std::optional<std::string>,
                       std::optional<std::string>, Headers, int64_t>;

Headers SortedHeaders(const std::vector<Header>& h) {
  Headers out;
  for (const Header& x : h) out.emplace_back(x.key, x.value);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.first < b.first;
  });
  return out;
}

// The records of tp in [from, log end) as rows.
std::vector<Row> ReadRows(Engine& engine, const TopicPartition& tp,
                          int64_t from) {
  std::vector<Row> rows;
  int64_t pos = from;
  while (true) {
    absl::StatusOr<FetchResult> f = engine.Fetch(tp, pos);
    EXPECT_TRUE(f.ok()) << f.status();
    if (!f.ok() || f->batches.empty()) break;
    EXPECT_TRUE(f->ForEachRecord([&](const RecordView& r) {
                   std::vector<Header> headers;
                   for (const HeaderView& h : r.headers) {
                     headers.push_back(
                         {std::string(h.key),
                          h.value ? std::optional<std::string>(*h.value)
                                  : std::nullopt});
                   }
                   auto s = [](std::optional<std::string_view> v) {
                     return v ? std::optional<std::string>(*v) : std::nullopt;
                   };
                   rows.emplace_back(tp.partition, s(r.key), s(r.value),
                                     SortedHeaders(headers), r.timestamp);
                   return true;
                 }).ok());
    pos = f->next_offset;
  }
  return rows;
}

class QueueCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = tmp_.path() + "/data"; }

  // Topic "jobs" (2 partitions), its dead-letter topic and a subscription
  // that dead-letters on the first failed delivery; `n` records produced
  // and all rejected, so they sit in the dead-letter topic. Returns the
  // produced records as rows (partition, key, value, headers, timestamp).
  std::vector<Row> MakeDeadLetters(Engine& engine, int n, int dlq_parts = 2) {
    EXPECT_TRUE(engine.CreateTopic(kJobs, {.partitions = 2}).ok());
    EXPECT_TRUE(engine.CreateTopic(kDlq, {.partitions = dlq_parts}).ok());
    EXPECT_TRUE(
        engine.subscriptions()
            .CreateSubscription(
                kJobs, kSub, {.max_deliveries = 1, .dead_letter_topic = kDlq})
            .ok());
    std::vector<Row> produced;
    for (int i = 0; i < n; ++i) {
      Record r;
      r.key = absl::StrCat("task-", i);
      r.value = absl::StrCat("payload ", i);
      if (i == 3) r.value = std::nullopt;
      r.headers = {{"trace-id", absl::StrCat("t", i)}, {"retry", std::nullopt}};
      r.timestamp = kT0 + i;
      absl::StatusOr<ProduceResult> p = engine.Produce(kJobs, r);
      EXPECT_TRUE(p.ok()) << p.status();
      if (!p.ok()) continue;
      produced.emplace_back(p->records[0].partition, r.key, r.value,
                            SortedHeaders(r.headers), r.timestamp);
    }
    Subscriptions& subs = engine.subscriptions();
    int rejected = 0;
    while (rejected < n) {
      absl::StatusOr<std::vector<ReceivedRecord>> got =
          subs.Receive(kJobs, kSub, {.max_records = 100});
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok() || got->empty()) break;
      for (const ReceivedRecord& r : *got) {
        EXPECT_TRUE(subs.Reject(kJobs, kSub, r.delivery, "bad payload").ok());
        ++rejected;
      }
    }
    EXPECT_EQ(rejected, n);
    EXPECT_EQ(Depth(engine, kDlq), n);
    std::sort(produced.begin(), produced.end());
    return produced;
  }

  TempDir tmp_;
  std::string dir_;
};

TEST_F(QueueCommandsTest, RedriveMovesDeadLettersBackWithKeyValueHeaders) {
  constexpr int kRecords = 12;
  std::vector<Row> produced;
  int64_t ends[2] = {0, 0};
  {
    std::unique_ptr<Engine> engine = OpenEngine(dir_);
    ASSERT_NE(engine, nullptr);
    produced = MakeDeadLetters(*engine, kRecords);
    for (int p = 0; p < 2; ++p)
      ends[p] = engine->Offsets({kJobs, p})->log_end_offset;
    ASSERT_TRUE(engine->Close().ok());
  }

  // A dry run says what would move and changes nothing.
  RunResult dry = RunSpool({"redrive", "--dry-run", "--json", dir_, kDlq});
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  int64_t planned = 0;
  std::vector<json> lines = ParseJsonLines(dry.out);
  ASSERT_FALSE(lines.empty());
  for (const json& j : lines) {
    if (j["type"] == "move") {
      EXPECT_EQ(j["topic"], kJobs);
      EXPECT_TRUE(j["destinationExists"].get<bool>());
      planned += j["records"].get<int64_t>();
    }
  }
  EXPECT_EQ(planned, kRecords);
  EXPECT_EQ(lines.back()["type"], "summary");
  EXPECT_EQ(lines.back()["dryRun"], true);
  EXPECT_EQ(lines.back()["moved"], kRecords);
  {
    std::unique_ptr<Engine> engine = OpenEngine(dir_);
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(Depth(*engine, kDlq), kRecords);
    for (int p = 0; p < 2; ++p) {
      EXPECT_EQ(engine->Offsets({kJobs, p})->log_end_offset, ends[p]);
    }
    ASSERT_TRUE(engine->Close().ok());
  }

  RunResult r = RunSpool({"redrive", dir_, kDlq});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(absl::StrCat("moved ", kRecords, " records from ", kDlq,
                                    " back to their topics; 0 records "
                                    "stay")),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("jobs.dlq-"), std::string::npos) << r.out;

  std::unique_ptr<Engine> engine = OpenEngine(dir_);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(Depth(*engine, kDlq), 0);
  std::vector<Row> back;
  for (int p = 0; p < 2; ++p) {
    for (Row row : ReadRows(*engine, {kJobs, p}, ends[p])) {
      back.push_back(std::move(row));
    }
  }
  std::sort(back.begin(), back.end());
  EXPECT_EQ(back, produced);  // same partition, key, value, headers, time

  // Redriven records are new work for the subscription.
  absl::StatusOr<std::vector<ReceivedRecord>> again =
      engine->subscriptions().Receive(kJobs, kSub, {.max_records = 100});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->size(), static_cast<size_t>(kRecords));
  ASSERT_TRUE(engine->Close().ok());

  // Nothing left: a second run moves nothing and succeeds.
  RunResult empty = RunSpool({"redrive", dir_, kDlq});
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_NE(empty.out.find("moved 0 records"), std::string::npos) << empty.out;
}

TEST_F(QueueCommandsTest, RedriveStopsAtARecordWithoutOriginHeaders) {
  {
    std::unique_ptr<Engine> engine = OpenEngine(dir_);
    ASSERT_NE(engine, nullptr);
    MakeDeadLetters(*engine, 2, /*dlq_parts=*/1);
    // Written to the dead-letter topic by hand: no spool.dlq.* headers.
    ASSERT_TRUE(engine->Produce(kDlq, {.key = "stray", .value = "x"}).ok());
    ASSERT_TRUE(engine->Produce(kDlq, {.key = "after", .value = "y"}).ok());
    ASSERT_TRUE(engine->Close().ok());
  }
  RunResult r = RunSpool({"redrive", dir_, kDlq});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("jobs.dlq-0: offset 2 has no spool.dlq.topic/"
                       "spool.dlq.partition headers: it and the 1 records "
                       "after it stay"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("moved 2 records"), std::string::npos) << r.out;
  std::unique_ptr<Engine> engine = OpenEngine(dir_);
  ASSERT_NE(engine, nullptr);
  absl::StatusOr<PartitionOffsets> o = engine->Offsets({kDlq, 0});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->log_start_offset, 2);
  EXPECT_EQ(o->log_end_offset, 4);
}

TEST_F(QueueCommandsTest, RedriveLimitsAndRefusesMissingDestinations) {
  {
    std::unique_ptr<Engine> engine = OpenEngine(dir_);
    ASSERT_NE(engine, nullptr);
    MakeDeadLetters(*engine, 5, /*dlq_parts=*/1);
    ASSERT_TRUE(engine->Close().ok());
  }
  RunResult some = RunSpool({"redrive", "--max-records", "2", dir_, kDlq});
  EXPECT_EQ(some.exit_code, 0) << some.err;
  EXPECT_NE(some.out.find("moved 2 records from jobs.dlq back to their "
                          "topics; 3 records stay"),
            std::string::npos)
      << some.out;
  {
    std::unique_ptr<Engine> engine = OpenEngine(dir_);
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->DeleteTopic(kJobs).ok());
    ASSERT_TRUE(engine->Close().ok());
  }
  RunResult gone = RunSpool({"redrive", dir_, kDlq});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.out.find("(no such topic or partition)"), std::string::npos)
      << gone.out;
  EXPECT_NE(gone.err.find("nothing was moved"), std::string::npos) << gone.err;
  std::unique_ptr<Engine> engine = OpenEngine(dir_);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(Depth(*engine, kDlq), 3);
}

TEST_F(QueueCommandsTest, WritingCommandsRefuseWhileAnEngineRuns) {
  std::unique_ptr<Engine> engine = OpenEngine(dir_);
  ASSERT_NE(engine, nullptr);
  MakeDeadLetters(*engine, 2);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"redrive", dir_, kDlq},
           {"redrive", "--dry-run", dir_, kDlq},
           {"parked", "list", dir_, kJobs, kSub},
           {"parked", "skip", dir_, kJobs, kSub, "0", "0"}}) {
    RunResult r = RunSpool(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << r.out << r.err;
    EXPECT_NE(r.err.find("an engine holds " + dir_ + "/.lock (stop it first"),
              std::string::npos)
        << r.err;
  }
  EXPECT_EQ(Depth(*engine, kDlq), 2);  // and the engine goes on
}

TEST_F(QueueCommandsTest, UsageAndPathErrors) {
  const std::string plain = tmp_.path() + "/plain";
  std::filesystem::create_directories(plain);
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"redrive"}, 2, "expected <data dir> <dead-letter topic>"},
      {{"redrive", "--max-records", "0", plain, kDlq}, 2, "--max-records"},
      {{"redrive", tmp_.path() + "/nope", kDlq}, 2, "no such file"},
      {{"redrive", plain, kDlq}, 2, "holds no Spool tables"},
      {{"parked"}, 2, "missing action"},
      {{"parked", "drop", plain, kJobs, kSub}, 2, "unknown action 'drop'"},
      {{"parked", "skip", plain, kJobs, kSub}, 2, "<partition> <offset>"},
      {{"parked", "retry", plain, kJobs, kSub, "x", "1"}, 2, "non-negative"},
      {{"parked", "list", plain, kJobs, kSub}, 2, "holds no Spool tables"},
  };
  for (const Case& c : cases) {
    RunResult r = RunSpool(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  // Pointed at a plain directory, nothing was created there.
  EXPECT_TRUE(std::filesystem::is_empty(plain));
  for (const char* command : {"redrive", "parked"}) {
    RunResult help = RunSpool({command, "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find(absl::StrCat("usage: spool ", command)),
              std::string::npos);
  }
  {
    std::unique_ptr<Engine> engine = OpenEngine(dir_);
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->Close().ok());
  }
  RunResult unknown = RunSpool({"redrive", dir_, "no-such-topic"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no-such-topic"), std::string::npos)
      << unknown.err;
}

TEST_F(QueueCommandsTest, ParkedListSkipAndRetry) {
  constexpr char kChats[] = "chats";
  {
    std::unique_ptr<Engine> engine = OpenEngine(dir_);
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->CreateTopic(kChats, {.partitions = 1}).ok());
    Subscriptions& subs = engine->subscriptions();
    ASSERT_TRUE(subs.CreateSubscription(kChats, "bots",
                                        {.max_deliveries = 1,
                                         .ordered_by_key = true,
                                         .poison_policy = PoisonPolicy::kPark})
                    .ok());
    for (const char* v : {"a", "b", "c"}) {
      ASSERT_TRUE(engine->Produce(kChats, {.key = "conv-1", .value = v}).ok());
    }
    auto got = subs.Receive(kChats, "bots", {.max_records = 10});
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u);  // one per key in flight
    ASSERT_TRUE(subs.Nack(kChats, "bots", (*got)[0].delivery, std::nullopt,
                          "handler crashed")
                    .ok());
    ASSERT_TRUE(engine->Close().ok());
  }
  RunResult list = RunSpool({"parked", "list", "--json", dir_, kChats, "bots"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::vector<json> parked = ParseJsonLines(list.out);
  ASSERT_EQ(parked.size(), 1u) << list.out;
  EXPECT_EQ(parked[0]["partition"], 0);
  EXPECT_EQ(parked[0]["offset"], 0);
  EXPECT_EQ(parked[0]["key"], "conv-1");
  EXPECT_EQ(parked[0]["attempts"], 1);
  EXPECT_EQ(parked[0]["reason"], "handler crashed");
  RunResult text = RunSpool({"parked", "list", dir_, kChats, "bots"});
  EXPECT_NE(text.out.find("conv-1"), std::string::npos) << text.out;

  RunResult none = RunSpool({"parked", "skip", dir_, kChats, "bots", "0", "2"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("offset 2"), std::string::npos) << none.err;

  RunResult skip = RunSpool({"parked", "skip", dir_, kChats, "bots", "0", "0"});
  ASSERT_EQ(skip.exit_code, 0) << skip.err;
  EXPECT_NE(skip.out.find("chats-0 offset 0 (subscription bots): "
                          "acknowledged without processing"),
            std::string::npos)
      << skip.out;
  {
    std::unique_ptr<Engine> engine = OpenEngine(dir_);
    ASSERT_NE(engine, nullptr);
    Subscriptions& subs = engine->subscriptions();
    EXPECT_TRUE(subs.ListParked(kChats, "bots")->empty());
    auto got = subs.Receive(kChats, "bots", {.max_records = 10});
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].delivery.offset, 1);  // the key goes on
    ASSERT_TRUE(subs.Nack(kChats, "bots", (*got)[0].delivery).ok());
    ASSERT_EQ(subs.ListParked(kChats, "bots")->size(), 1u);
    ASSERT_TRUE(engine->Close().ok());
  }
  RunResult retry =
      RunSpool({"parked", "retry", dir_, kChats, "bots", "0", "1"});
  ASSERT_EQ(retry.exit_code, 0) << retry.err;
  std::unique_ptr<Engine> engine = OpenEngine(dir_);
  ASSERT_NE(engine, nullptr);
  Subscriptions& subs = engine->subscriptions();
  EXPECT_TRUE(subs.ListParked(kChats, "bots")->empty());
  auto got = subs.Receive(kChats, "bots", {.max_records = 10});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].delivery.offset, 1);   // the same record again
  EXPECT_EQ((*got)[0].delivery.attempt, 1);  // with a fresh attempt count
  EXPECT_EQ(*(*got)[0].value, "b");
}

}  // namespace
}  // namespace spool::cli_test
