// spool demo: a chat-bot style workload on an embedded data directory.
//
// Producers append events keyed by conversation id to a multi-partition
// topic (each conversation's events in order), consumers read every
// partition back and check that each conversation's events arrive in the
// order they were produced. Then a consumer group of two bots shares the
// partitions (sticky assignment), consumes from its committed offsets,
// committing as it goes, and its lag is printed before and after; then a
// worker pool on a shared subscription where some tasks fail, are retried
// and land in the dead-letter topic (demo_queue.cc); then a compacted
// conversation-state topic (demo_state.cc); finally the per-partition
// statistics.

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli.h"
#include "demo_queue.h"
#include "spool/consumer_groups.h"
#include "spool/engine.h"
#include "tools/demo_state.h"

namespace spool::cli {
namespace {

constexpr char kTopic[] = "chat-events";
constexpr int kPartitions = 4;
constexpr char kGroup[] = "chat-bots";

struct DemoConfig {
  std::string data_dir;
  int producers = 4;
  int conversations = 200;
  int events = 20000;
  Durability durability = Durability::kInterval;
};

// Event value: "<conversation>|<sequence>|<text>".
std::string EventValue(int conversation, int seq, std::mt19937& rng) {
  static const char* kTexts[] = {
      "hi there", "what's the weather tomorrow?",   "book a table for two",
      "thanks!",  "can you summarise this thread?", "remind me at 5pm"};
  return absl::StrFormat("conv-%d|%d|%s", conversation, seq,
                         kTexts[rng() % (sizeof(kTexts) / sizeof(kTexts[0]))]);
}

absl::Status Produce(Engine& engine, const DemoConfig& cfg,
                     std::atomic<int64_t>* produced) {
  std::vector<std::thread> threads;
  std::vector<absl::Status> errors(cfg.producers);
  for (int t = 0; t < cfg.producers; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t + 1);
      // Each producer owns the conversations with id % producers == t, so
      // each conversation's events are produced in sequence.
      std::map<int, int> next_seq;
      for (int i = t; i < cfg.events; i += cfg.producers) {
        int conv =
            static_cast<int>(rng() % (cfg.conversations / cfg.producers)) *
                cfg.producers +
            t;
        int seq = next_seq[conv]++;
        Record r;
        r.key = absl::StrFormat("conv-%d", conv);
        r.value = EventValue(conv, seq, rng);
        r.headers.push_back({"event-type", std::string("message")});
        auto res = engine.Produce(kTopic, std::move(r),
                                  {.durability = cfg.durability});
        if (!res.ok()) {
          errors[t] = res.status();
          return;
        }
        produced->fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const absl::Status& s : errors) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Reads every partition from `start` and checks per-conversation order.
absl::StatusOr<int64_t> Consume(Engine& engine,
                                const std::vector<int64_t>& start) {
  int64_t consumed = 0;
  for (int p = 0; p < kPartitions; ++p) {
    std::map<std::string, int64_t> last_seq;
    int64_t offset = start[p];
    while (true) {
      auto f = engine.Fetch({kTopic, p}, offset, {.max_bytes = 1 << 20});
      if (!f.ok()) return f.status();
      if (f->batches.empty()) break;
      absl::Status order = absl::OkStatus();
      absl::Status s = f->ForEachRecord([&](const RecordView& r) {
        std::vector<std::string> parts =
            absl::StrSplit(std::string(r.value.value_or("")), '|');
        int64_t seq = -1;
        if (parts.size() < 3 || !absl::SimpleAtoi(parts[1], &seq)) {
          order = absl::DataLossError(absl::StrFormat(
              "partition %d offset %d: bad event", p, r.offset));
          return false;
        }
        std::string key(r.key.value_or(""));
        auto it = last_seq.find(key);
        if (it != last_seq.end() && seq <= it->second) {
          order = absl::InternalError(absl::StrFormat(
              "%s: event %d arrived after %d", key, seq, it->second));
          return false;
        }
        last_seq[key] = seq;
        ++consumed;
        return true;
      });
      if (!s.ok()) return s;
      if (!order.ok()) return order;
      offset = f->next_offset;
    }
  }
  return consumed;
}

void PrintLag(Engine& engine, std::string_view when) {
  auto lag = engine.groups().Lag(kGroup);
  if (!lag.ok()) {
    std::cout << "lag of " << kGroup << ": " << lag.status() << "\n";
    return;
  }
  std::cout << absl::StrFormat("\nconsumer group %s, lag %s:\n", kGroup, when)
            << absl::StrFormat("%-10s %10s %10s %12s %14s %12s\n", "partition",
                               "committed", "log end", "lag records",
                               "backlog bytes", "lag seconds");
  for (const PartitionLag& l : *lag) {
    std::cout << absl::StrFormat(
        "%-10d %10s %10d %12d %14d %12.3f\n", l.tp.partition,
        l.committed == kNoCommittedOffset ? std::string("-")
                                          : absl::StrFormat("%d", l.committed),
        l.log_end_offset, l.lag_records, l.backlog_bytes, l.lag_seconds);
  }
}

std::string Partitions(const std::vector<TopicPartition>& tps) {
  std::string out;
  for (const TopicPartition& tp : tps) {
    out += absl::StrFormat("%s%d", out.empty() ? "" : ",", tp.partition);
  }
  return out.empty() ? "none" : out;
}

// Two bots join the group. bot-1 first gets every partition; bot-2's join
// starts a new generation, which bot-1 learns from its heartbeat, and its
// rejoin returns its share.
absl::StatusOr<std::vector<JoinGroupResult>> JoinBots(ConsumerGroups& groups) {
  JoinGroupRequest request{.topics = {kTopic},
                           .strategy = AssignmentStrategy::kSticky};
  std::vector<JoinGroupResult> bots;
  for (const char* id : {"bot-1", "bot-2"}) {
    request.member_id = id;
    absl::StatusOr<JoinGroupResult> joined = groups.JoinGroup(kGroup, request);
    if (!joined.ok()) return joined.status();
    std::cout << absl::StrFormat("%s joined %s: generation %d, partitions %s\n",
                                 id, kGroup, joined->generation,
                                 Partitions(joined->assignment));
    bots.push_back(*std::move(joined));
  }
  absl::Status hb =
      groups.Heartbeat(kGroup, bots[0].member_id, bots[0].generation);
  if (!hb.ok()) {
    std::cout << "bot-1 heartbeat: " << hb.message() << "\n";
    request.member_id = bots[0].member_id;
    absl::StatusOr<JoinGroupResult> again = groups.JoinGroup(kGroup, request);
    if (!again.ok()) return again.status();
    bots[0] = *std::move(again);
    std::cout << absl::StrFormat(
        "bot-1 rejoined: generation %d, partitions %s\n", bots[0].generation,
        Partitions(bots[0].assignment));
  }
  return bots;
}

// One bot: reads each of its partitions from the group's committed offset
// to the end, committing (synced) after every fetch.
absl::StatusOr<int64_t> RunBot(Engine& engine, const JoinGroupResult& bot) {
  ConsumerGroups& groups = engine.groups();
  auto committed = groups.FetchCommitted(kGroup, bot.assignment);
  if (!committed.ok()) return committed.status();
  int64_t consumed = 0;
  for (const TopicPartition& tp : bot.assignment) {
    auto log = engine.Offsets(tp);
    if (!log.ok()) return log.status();
    int64_t offset = std::max(committed->at(tp).offset, log->log_start_offset);
    while (true) {
      auto f = engine.Fetch(tp, offset, {.max_bytes = 256 << 10});
      if (!f.ok()) return f.status();
      if (f->batches.empty()) break;
      absl::Status s = f->ForEachRecord([&](const RecordView&) {
        ++consumed;  // a real bot would answer the message here
        return true;
      });
      if (!s.ok()) return s;
      offset = f->next_offset;
      s = groups.Commit(kGroup, {{.tp = tp, .offset = offset}},
                        {.sync = true,
                         .member_id = bot.member_id,
                         .generation = bot.generation});
      if (!s.ok()) return s;
    }
  }
  return consumed;
}

absl::Status RunConsumerGroup(Engine& engine) {
  std::cout << "\n";
  absl::StatusOr<std::vector<JoinGroupResult>> bots = JoinBots(engine.groups());
  if (!bots.ok()) return bots.status();
  PrintLag(engine, "before the bots consume");
  std::vector<absl::StatusOr<int64_t>> results(bots->size(), int64_t{0});
  std::vector<std::thread> threads;
  absl::Time t0 = absl::Now();
  for (size_t i = 0; i < bots->size(); ++i) {
    threads.emplace_back([&, i] { results[i] = RunBot(engine, (*bots)[i]); });
  }
  for (auto& th : threads) th.join();
  int64_t consumed = 0;
  for (const auto& r : results) {
    if (!r.ok()) return r.status();
    consumed += *r;
  }
  std::cout << absl::StrFormat(
      "\nthe bots consumed %d events in %.3f s, committing (synced) after "
      "every fetch\n",
      consumed, absl::ToDoubleSeconds(absl::Now() - t0));
  PrintLag(engine, "after");
  for (const JoinGroupResult& bot : *bots) {
    absl::Status s = engine.groups().LeaveGroup(kGroup, bot.member_id);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void PrintStats(Engine& engine) {
  auto d = engine.DescribeTopic(kTopic);
  if (!d.ok()) return;
  std::cout << absl::StrFormat("\n%-10s %12s %12s %12s %10s %12s\n",
                               "partition", "log start", "log end", "durable",
                               "segments", "bytes");
  for (const PartitionInfo& p : d->partitions) {
    std::cout << absl::StrFormat(
        "%-10d %12d %12d %12d %10d %12d\n", p.partition, p.log_start_offset,
        p.log_end_offset, p.durable_offset, p.segments, p.size_bytes);
  }
}

// The durable column lags with durability "interval" (a flush every
// second or 10,000 records): flushes now and shows what a power loss
// would keep from here on.
absl::Status FlushAndPrintDurable(Engine& engine) {
  absl::Status s = engine.Flush();
  if (!s.ok()) return s;
  auto d = engine.DescribeTopic(kTopic);
  if (!d.ok()) return d.status();
  std::vector<int64_t> durable;
  bool all = true;
  for (const PartitionInfo& p : d->partitions) {
    durable.push_back(p.durable_offset);
    all = all && p.durable_offset == p.log_end_offset;
  }
  std::cout << "after Flush(): durable " << absl::StrJoin(durable, ", ")
            << (all ? " (the log end of every partition: a power loss now "
                      "loses nothing)\n"
                    : " (NOT the log end of every partition)\n");
  return all ? absl::OkStatus()
             : absl::InternalError("Flush() left a partition not durable");
}

int RunDemo(int argc, char** argv) {
  Args args("demo", "[--data-dir DIR] [--reset]",
            "Runs a chat-bot style workload on an embedded data directory:\n"
            "producers append events keyed by conversation id, consumers read\n"
            "them back checking per-conversation order, a consumer group of\n"
            "two bots consumes them committing as it goes (its lag printed\n"
            "before and after), a worker pool on a shared subscription\n"
            "retries failing tasks and dead-letters some, a compacted\n"
            "conversation-state topic keeps the latest state per\n"
            "conversation, then per-partition statistics are printed.");
  args.AddFlag({"data-dir", "DIR", "data directory to use (reused if present)",
                "./spool-demo-data"})
      .AddFlag({"reset", "", "delete the data directory first"})
      .AddFlag({"events", "N", "events to produce", "20000"})
      .AddFlag({"producers", "N", "producer threads", "4"})
      .AddFlag({"durability", "MODE", "none, interval or sync", "interval"});
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  DemoConfig cfg;
  cfg.data_dir = args.Get("data-dir");
  cfg.events = static_cast<int>(args.GetInt("events"));
  cfg.producers = static_cast<int>(args.GetInt("producers"));
  std::optional<Durability> durability =
      ParseDurability(args.Get("durability"));
  if (!durability) {
    return args.UsageError("--durability must be none, interval or sync");
  }
  if (cfg.events <= 0 || cfg.producers <= 0 || cfg.producers > 64) {
    return args.UsageError("--events must be > 0, --producers in 1..64");
  }
  cfg.durability = *durability;
  if (args.Has("reset")) {
    std::error_code ec;
    std::filesystem::remove_all(cfg.data_dir, ec);
    if (ec) return Fail("demo", absl::UnknownError(ec.message()));
  }

  EngineOptions options;
  options.data_dirs = {cfg.data_dir};
  auto engine = Engine::Open(options);
  if (!engine.ok()) return Fail("demo", engine.status());
  for (const PartitionRecovery& r : (*engine)->RecoveryReports()) {
    if (!r.clean_shutdown) std::cout << "recovered " << r.summary << "\n";
  }
  std::cout << "spool demo: data directory " << cfg.data_dir << "\n";
  absl::Status s = (*engine)->CreateTopic(
      kTopic, {.partitions = kPartitions, .durability = cfg.durability});
  if (!s.ok() && !absl::IsAlreadyExists(s)) return Fail("demo", s);

  std::vector<int64_t> start(kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    auto o = (*engine)->Offsets({kTopic, p});
    if (!o.ok()) return Fail("demo", o.status());
    start[p] = o->log_end_offset;
  }
  std::atomic<int64_t> produced{0};
  absl::Time t0 = absl::Now();
  s = Produce(**engine, cfg, &produced);
  if (!s.ok()) return Fail("demo", s);
  double produce_s = absl::ToDoubleSeconds(absl::Now() - t0);
  std::cout << absl::StrFormat(
      "produced %d events for %d conversations with %d producers in %.3f s "
      "(%.0f events/s, durability %s)\n",
      produced.load(), cfg.conversations, cfg.producers, produce_s,
      produced.load() / std::max(produce_s, 1e-9),
      DurabilityName(cfg.durability));

  t0 = absl::Now();
  absl::StatusOr<int64_t> consumed = Consume(**engine, start);
  if (!consumed.ok()) return Fail("demo", consumed.status());
  double consume_s = absl::ToDoubleSeconds(absl::Now() - t0);
  std::cout << absl::StrFormat(
      "consumed %d events in %.3f s (%.0f events/s); every conversation's "
      "events arrived in order\n",
      *consumed, consume_s, *consumed / std::max(consume_s, 1e-9));
  s = RunConsumerGroup(**engine);
  if (!s.ok()) return Fail("demo", s);
  s = RunWorkerPool(**engine, /*tasks=*/2000, /*workers=*/4);
  if (!s.ok()) return Fail("demo", s);
  s = RunConversationState(**engine);
  if (!s.ok()) return Fail("demo", s);
  PrintStats(**engine);
  s = FlushAndPrintDurable(**engine);
  if (!s.ok()) return Fail("demo", s);
  s = (*engine)->Close();
  if (!s.ok()) return Fail("demo", s);
  if (*consumed != produced.load()) {
    std::cerr << "spool demo: consumed " << *consumed << " of "
              << produced.load() << " events\n";
    return kExitProblems;
  }
  return kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"demo", "run a chat-bot style workload on an embedded data directory",
     RunDemo});

}  // namespace
}  // namespace spool::cli
