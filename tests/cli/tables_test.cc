// `spool offsets`, `spool groups` and the table sections of `spool stats`
// and `spool metrics` on a data directory written by a real engine (manual
// clock, fixed timestamps): golden text output, JSON parsed back and
// checked against the engine's own Lag(), reading while the engine runs,
// undecodable rows, and wrong paths.
//
// Regenerate the goldens after an intended change:
//   SPOOL_UPDATE_GOLDEN=1 build/cli/tests/spool_cli_tests
//       --gtest_filter='TablesTest.*'

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/cli_test_util.h"
#include "engine/consumer_groups_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/clock.h"
#include "spool/consumer_groups.h"
#include "spool/engine.h"
#include "spool/subscriptions.h"
#include "tables/table_store.h"

namespace spool::cli_test {
namespace {

using nlohmann::json;

constexpr int64_t kT0 = 1700000000000;  // 2023-11-14T22:13:20Z
// Where lag in seconds is measured (--now): 100 s after the first record.
constexpr int64_t kNow = kT0 + 100000;

class TablesTest : public ::testing::Test {
 protected:
  TablesTest() : clock_(absl::FromUnixMillis(kT0)) {}

  void SetUp() override {
    dir_ = tmp_.path() + "/data";
    Open();
    TopicConfig c;
    c.partitions = 2;
    c.segment_bytes = 1024;
    c.max_batch_bytes = 1024;
    c.segment_index_bytes = 1024;
    c.index_interval_bytes = 200;
    absl::Status created = engine_->CreateTopic("chat", c);
    ASSERT_TRUE(created.ok()) << created;
    // chat-0: 12 records, one per second; chat-1: 3 records.
    for (int i = 0; i < 12; ++i) Produce(0, i);
    for (int i = 0; i < 3; ++i) Produce(1, i);
    ConsumerGroups& g = engine_->groups();
    // "archiver": no members, commits from outside.
    ASSERT_TRUE(
        g.Commit("archiver", {{{"chat", 0}, 5, 0, "w1"}, {{"chat", 1}, 3}})
            .ok());
    // "bots": two members, sticky; one commit by the member of chat-0.
    Join("bot-1");
    Join("bot-2");
    Join("bot-1");  // learns generation 2
    auto d = g.DescribeGroup("bots");
    ASSERT_TRUE(d.ok()) << d.status();
    std::string owner;
    for (const MemberDescription& m : d->members) {
      for (const TopicPartition& tp : m.assignment) {
        if (tp.partition == 0) owner = m.member_id;
      }
    }
    ASSERT_TRUE(g.Commit("bots", {{{"chat", 0}, 10}},
                         {.member_id = owner, .generation = d->generation})
                    .ok());
    clock_.Set(absl::FromUnixMillis(kNow));
  }

  void Open() {
    EngineOptions o;
    o.data_dirs = {dir_};
    o.clock = &clock_;
    auto e = Engine::Open(std::move(o));
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = *std::move(e);
  }

  void Close() {
    ASSERT_TRUE(engine_->Close().ok());
    engine_.reset();
  }

  void Produce(int32_t partition, int i) {
    Record r{absl::StrCat("k", i),
             std::string(50, static_cast<char>('a' + i)),
             {},
             kT0 + int64_t{1000} * i};
    auto p = engine_->Produce("chat", std::move(r), {.partition = partition});
    ASSERT_TRUE(p.ok()) << p.status();
  }

  void Join(const std::string& member) {
    auto r = engine_->groups().JoinGroup(
        "bots", {.member_id = member,
                 .topics = {"chat"},
                 .strategy = AssignmentStrategy::kSticky,
                 .session_timeout = absl::Minutes(10)});
    ASSERT_TRUE(r.ok()) << r.status();
  }

  RunResult Run(std::vector<std::string> args) {
    return RunSpool(args, tmp_.path());
  }

  // Compares the transcript with golden/<name>.txt (or rewrites it).
  void ExpectGolden(const std::string& name,
                    const std::vector<std::string>& args, int exit_code) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, exit_code) << r.out << r.err;
    const std::string got =
        absl::StrCat("$ spool ", absl::StrJoin(args, " "), "\n", r.out,
                     r.err.empty() ? "" : absl::StrCat("[stderr]\n", r.err),
                     "[exit ", r.exit_code, "]\n");
    const std::string path =
        absl::StrCat(CliDataDir(), "/golden/", name, ".txt");
    if (std::getenv("SPOOL_UPDATE_GOLDEN") != nullptr) {
      WriteFileOrDie(path, got);
      return;
    }
    EXPECT_EQ(got, ReadFileOrDie(path))
        << "run with SPOOL_UPDATE_GOLDEN=1 to accept the new output";
  }

  TempDir tmp_;
  std::string dir_;
  ManualClock clock_;
  std::unique_ptr<Engine> engine_;
};

const std::string kNowFlag = absl::StrCat("--now=", kNow);

TEST_F(TablesTest, GoldenOutput) {
  Close();
  ExpectGolden("offsets", {"offsets", kNowFlag, "data"}, 0);
  ExpectGolden("groups", {"groups", kNowFlag, "data"}, 0);
  ExpectGolden("stats-groups", {"stats", kNowFlag, "data"}, 0);
}

// The offline lag, computed from the files, equals what the engine reports
// through ConsumerGroups::Lag at the same clock time.
TEST_F(TablesTest, LagMatchesTheEngine) {
  std::map<std::pair<std::string, TopicPartition>, PartitionLag> want;
  for (const char* group : {"archiver", "bots"}) {
    auto lag = engine_->groups().Lag(group);
    ASSERT_TRUE(lag.ok()) << lag.status();
    for (const PartitionLag& l : *lag) want[{group, l.tp}] = l;
  }
  ASSERT_EQ(want.size(), 4u);  // archiver: 2 commits; bots: 2 assigned
  Close();
  RunResult r = Run({"groups", "--json", kNowFlag, "data"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t checked = 0;
  for (const json& g : ParseJsonLines(r.out)) {
    ASSERT_EQ(g["type"], "group");
    for (const json& p : g["partitions"]) {
      const auto key =
          std::make_pair(g["group"].get<std::string>(),
                         TopicPartition{p["topic"].get<std::string>(),
                                        p["partition"].get<int32_t>()});
      ASSERT_TRUE(want.contains(key)) << p;
      const PartitionLag& l = want[key];
      EXPECT_EQ(p["lagRecords"], l.lag_records) << p;
      EXPECT_EQ(p["backlogBytes"], l.backlog_bytes) << p;
      EXPECT_DOUBLE_EQ(p["lagSeconds"].get<double>(), l.lag_seconds) << p;
      EXPECT_EQ(p["logEndOffset"], l.log_end_offset) << p;
      EXPECT_EQ(p["committed"].is_null() ? -1 : p["committed"].get<int64_t>(),
                l.committed)
          << p;
      ++checked;
    }
  }
  EXPECT_EQ(checked, want.size());
}

TEST_F(TablesTest, OffsetsJsonParsesBack) {
  Close();
  RunResult r =
      Run({"offsets", "--json", "--group", "archiver", kNowFlag, "data"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> rows = ParseJsonLines(r.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["type"], "offset");
  EXPECT_EQ(rows[0]["group"], "archiver");
  EXPECT_EQ(rows[0]["partition"], 0);
  EXPECT_EQ(rows[0]["committed"], 5);
  EXPECT_EQ(rows[0]["leaderEpoch"], 0);
  EXPECT_EQ(rows[0]["metadata"], "w1");
  EXPECT_EQ(rows[0]["commitTime"], kT0);
  EXPECT_EQ(rows[0]["logEndOffset"], 12);
  EXPECT_EQ(rows[0]["lagRecords"], 7);
  // Record 5 was written at kT0 + 5 s; now is kT0 + 100 s.
  EXPECT_EQ(rows[0]["oldestUnconsumedTimestamp"], kT0 + 5000);
  EXPECT_DOUBLE_EQ(rows[0]["lagSeconds"].get<double>(), 95.0);
  EXPECT_EQ(rows[1]["partition"], 1);
  EXPECT_EQ(rows[1]["lagRecords"], 0);
  EXPECT_EQ(rows[1]["backlogBytes"], 0);
}

TEST_F(TablesTest, WorksWhileTheEngineRunsAndSaysSo) {
  for (const char* command : {"offsets", "groups"}) {
    RunResult r = Run({command, "data"});
    EXPECT_EQ(r.exit_code, 0) << command << r.err;
    EXPECT_NE(r.err.find("engine running"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("archiver"), std::string::npos) << r.out;
  }
  // A commit made after the tool ran shows up the next time.
  ASSERT_TRUE(engine_->groups().Commit("late", {{{"chat", 1}, 1}}).ok());
  RunResult r = Run({"offsets", "--json", "--group", "late", "data"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(ParseJsonLines(r.out).size(), 1u);
}

TEST_F(TablesTest, MetricsIncludeGroupGauges) {
  Close();
  RunResult r = Run({"metrics", "data"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> samples;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> kv = absl::StrSplit(line, ' ');
    ASSERT_EQ(kv.size(), 2u) << line;
    samples[kv[0]] = kv[1];
  }
  const std::string l = R"({group="archiver",topic="chat",partition="0"})";
  EXPECT_EQ(samples["spool_consumer_committed_offset" + l], "5");
  EXPECT_EQ(samples["spool_consumer_lag_records" + l], "7");
  EXPECT_EQ(samples[R"(spool_consumer_group_members{group="bots"})"], "2");
  EXPECT_EQ(samples[R"(spool_consumer_group_generation{group="bots"})"], "2");
  EXPECT_EQ(samples["spool_consumer_groups"], "2");
}

TEST_F(TablesTest, UndecodableRowIsAProblemAndTheRestIsShown) {
  Close();
  {
    auto tables = TableStore::Open({.path = dir_ + "/spool-tables"});
    ASSERT_TRUE(tables.ok()) << tables.status();
    ASSERT_TRUE((*tables)
                    ->Put(Table::kOffsets, OffsetKey("archiver", {"chat", 1}),
                          std::string("\x07garbage", 8))
                    .ok());
  }
  RunResult r = Run({"offsets", "data"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("offsets key \"archiver\\x00chat\\x00\\x00\\x00\\x00"
                       "\\x01\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("version"), std::string::npos) << r.out;
  // The readable row is still shown.
  EXPECT_THAT(r.out, ::testing::ContainsRegex("archiver +chat-0 +5 "));
}

TEST_F(TablesTest, WrongPathsHaveClearMessages) {
  Close();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"offsets", "nope"}, "nope: no such file or directory"},
      {{"groups", "data/chat-0"},
       "data/chat-0 is a partition directory; groups reads the tables in the "
       "engine's first data directory (e.g. data/spool-tables)"},
      {{"offsets", "data/chat-0/00000000000000000000.log"}, "is a file"},
      {{"groups", CliDataDir() + "/datadir"}, "holds no Spool tables"},
  };
  for (const Case& c : cases) {
    RunResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[1];
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  // The spool-tables directory itself is accepted too.
  EXPECT_EQ(Run({"groups", "data/spool-tables"}).exit_code, 0);
  RunResult unknown = Run({"groups", "--group", "nobody", "data"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no group 'nobody'"), std::string::npos);
}

// The gauges of Engine::Metrics(), by sample name.
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> kv = absl::StrSplit(line, ' ');
    if (kv.size() == 2) out[kv[0]] = kv[1];
  }
  return out;
}

// A work queue in several states: the offline counts equal the engine's
// own gauges, and the text output is pinned.
TEST_F(TablesTest, SubscriptionsMatchTheEngine) {
  TopicConfig dlq;
  dlq.partitions = 1;
  ASSERT_TRUE(engine_->CreateTopic("chat-dlq", dlq).ok());
  Subscriptions& subs = engine_->subscriptions();
  SubscriptionConfig c;
  c.lease = absl::Minutes(1);
  c.dead_letter_topic = "chat-dlq";
  ASSERT_TRUE(subs.CreateSubscription("chat", "work", c).ok());
  auto got = subs.Receive("chat", "work", {.max_records = 8});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 8u);
  std::vector<Delivery> d;
  for (const ReceivedRecord& r : *got) d.push_back(r.delivery);
  ASSERT_TRUE(subs.Ack("chat", "work", {d[0], d[1], d[3]}).ok());
  ASSERT_TRUE(subs.Nack("chat", "work", d[2], absl::Hours(1), "later").ok());
  ASSERT_TRUE(subs.Reject("chat", "work", d[4], "poison").ok());
  // d[5..7] stay leased; one of them gets a longer lease (a delivery row).
  ASSERT_TRUE(subs.ExtendLease("chat", "work", d[6], absl::Minutes(5)).ok());
  const auto engine = Samples(engine_->Metrics());
  const std::string l = R"({topic="chat",subscription="work"})";
  Close();
  RunResult r = Run({"subscriptions", "--json", kNowFlag, "data"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = ParseJsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  const json& s = lines[0];
  EXPECT_EQ(s["subscription"], "work");
  EXPECT_EQ(s["deadLetterTopic"], "chat-dlq");
  EXPECT_EQ(std::to_string(s["backlog"].get<int64_t>()),
            engine.at("spool_subscription_backlog" + l));
  EXPECT_EQ(std::to_string(s["inFlight"].get<int64_t>()),
            engine.at("spool_subscription_in_flight" + l));
  EXPECT_EQ(std::to_string(s["waiting"].get<int64_t>()),
            engine.at("spool_subscription_waiting" + l));
  EXPECT_EQ(std::to_string(s["dlqDepth"].get<int64_t>()),
            engine.at("spool_subscription_dlq_depth" + l));
  EXPECT_EQ(s["backlog"], 15 - 4);  // 3 acked, 1 dead-lettered
  EXPECT_EQ(s["inFlight"], 3);
  EXPECT_EQ(s["waiting"], 1);
  EXPECT_EQ(s["dlqDepth"], 1);
  // Two minutes later the 1-minute leases have run out; the extended one
  // has not.
  RunResult later = Run({"subscriptions", "--json",
                         absl::StrCat("--now=", kNow + 120000), "data"});
  const json s2 = ParseJsonLines(later.out).at(0);
  EXPECT_EQ(s2["inFlight"], 1);
  EXPECT_EQ(s2["expiredLeases"], 2);
  ExpectGolden("subscriptions", {"subscriptions", kNowFlag, "data"}, 0);
  ExpectGolden("stats-subscriptions", {"stats", kNowFlag, "data"}, 0);
}

}  // namespace
}  // namespace spool::cli_test
