// spool demo's worker pool (demo_queue.h).

#include "demo_queue.h"

#include <atomic>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "spool/subscriptions.h"

namespace spool::cli {
namespace {

constexpr char kTasks[] = "bot-tasks";
constexpr char kDeadLetters[] = "bot-tasks.dlq";
constexpr char kSubscription[] = "workers";
constexpr int kPartitions = 4;
constexpr int kMaxDeliveries = 3;

absl::Status CreateIfMissing(Engine& engine, const char* topic) {
  absl::Status s = engine.CreateTopic(topic, {.partitions = kPartitions});
  return absl::IsAlreadyExists(s) ? absl::OkStatus() : s;
}

int64_t Backlog(Subscriptions& subs) {
  auto d = subs.DescribeSubscription(kTasks, kSubscription);
  if (!d.ok()) return -1;
  int64_t backlog = 0;
  for (const auto& p : d->partitions) backlog += p.backlog;
  return backlog;
}

int64_t Depth(Engine& engine) {
  int64_t depth = 0;
  for (int32_t p = 0; p < kPartitions; ++p) {
    auto o = engine.Offsets({kDeadLetters, p});
    if (o.ok()) depth += o->log_end_offset - o->log_start_offset;
  }
  return depth;
}

struct Tally {
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> failures{0};
  std::atomic<int64_t> retried_ok{0};
};

// One worker: "poison" tasks always fail; others fail transiently one time
// in eight (succeeding on a later attempt).
absl::Status Work(Subscriptions& subs, int id, Tally* tally) {
  std::mt19937 rng(id + 100);
  int idle = 0;
  while (idle < 3) {
    auto got =
        subs.Receive(kTasks, kSubscription,
                     {.max_records = 16, .max_wait = absl::Milliseconds(100)});
    if (!got.ok()) return got.status();
    if (got->empty()) {
      idle = Backlog(subs) == 0 ? idle + 1 : 0;
      continue;
    }
    idle = 0;
    std::vector<Delivery> acks;
    for (const ReceivedRecord& r : *got) {
      const std::string& task = r.value.value_or("");
      const bool poison = absl::StrContains(task, "poison");
      if (poison || rng() % 8 == 0) {
        tally->failures.fetch_add(1);
        absl::Status s =
            subs.Nack(kTasks, kSubscription, r.delivery, std::nullopt,
                      poison ? "unparseable task" : "upstream timeout");
        if (!s.ok() && !absl::IsFailedPrecondition(s)) return s;
        continue;
      }
      if (r.delivery.attempt > 1) tally->retried_ok.fetch_add(1);
      acks.push_back(r.delivery);
    }
    if (acks.empty()) continue;
    absl::Status s = subs.Ack(kTasks, kSubscription, acks);
    if (absl::IsFailedPrecondition(s)) {
      // A lease ran out under us: ack one by one, skipping the lost ones.
      for (const Delivery& d : acks) {
        s = subs.Ack(kTasks, kSubscription, {d});
        if (s.ok()) tally->done.fetch_add(1);
      }
      continue;
    }
    if (!s.ok()) return s;
    tally->done.fetch_add(static_cast<int64_t>(acks.size()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunWorkerPool(Engine& engine, int tasks, int workers) {
  if (absl::Status s = CreateIfMissing(engine, kTasks); !s.ok()) return s;
  if (absl::Status s = CreateIfMissing(engine, kDeadLetters); !s.ok()) {
    return s;
  }
  Subscriptions& subs = engine.subscriptions();
  SubscriptionConfig config;
  config.lease = absl::Seconds(5);
  config.max_deliveries = kMaxDeliveries;
  config.backoff = {.kind = BackoffPolicy::Kind::kExponential,
                    .initial = absl::Milliseconds(10),
                    .max = absl::Milliseconds(200),
                    .multiplier = 4};
  config.ordered_by_key = true;
  config.dead_letter_topic = kDeadLetters;
  absl::Status s = subs.CreateSubscription(kTasks, kSubscription, config);
  if (!s.ok() && !absl::IsAlreadyExists(s)) return s;
  const int64_t depth_before = Depth(engine);

  std::vector<Record> batch;
  int poison = 0;
  for (int i = 0; i < tasks; ++i) {
    const bool bad = i % 97 == 13;
    poison += bad;
    batch.push_back(
        {.key = absl::StrFormat("conv-%d", i % 50),
         .value = absl::StrFormat("task %d%s", i, bad ? " poison" : "")});
  }
  auto produced = engine.ProduceBatch(kTasks, batch);
  if (!produced.ok()) return produced.status();

  std::cout << absl::StrFormat(
      "\nwork queue: %d tasks (%d of them poison) for %d workers on "
      "subscription \"%s\" (ordered by conversation, max %d deliveries, "
      "exponential backoff)\n",
      tasks, poison, workers, kSubscription, kMaxDeliveries);
  Tally tally;
  std::vector<absl::Status> results(workers);
  std::vector<std::thread> threads;
  const absl::Time t0 = absl::Now();
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] { results[w] = Work(subs, w, &tally); });
  }
  for (auto& t : threads) t.join();
  for (const absl::Status& r : results) {
    if (!r.ok()) return r;
  }
  const int64_t dead = Depth(engine) - depth_before;
  std::cout << absl::StrFormat(
      "workers done in %.3f s: %d tasks acked (%d after a retry), %d "
      "failed attempts, %d dead-lettered to %s\n",
      absl::ToDoubleSeconds(absl::Now() - t0), tally.done.load(),
      tally.retried_ok.load(), tally.failures.load(), dead, kDeadLetters);
  // Show one dead letter's headers.
  for (int32_t p = 0; p < kPartitions && dead > 0; ++p) {
    auto o = engine.Offsets({kDeadLetters, p});
    if (!o.ok() || o->log_end_offset == o->log_start_offset) continue;
    auto f = engine.Fetch({kDeadLetters, p}, o->log_end_offset - 1);
    if (!f.ok()) break;
    f->ForEachRecord([](const RecordView& r) {
       std::cout << "  dead letter \"" << r.value.value_or("") << "\":";
       for (const HeaderView& h : r.headers) {
         std::cout << " " << h.key << "=" << h.value.value_or("");
       }
       std::cout << "\n";
       return false;
     }).IgnoreError();
    break;
  }
  if (tally.done.load() + dead != tasks) {
    return absl::InternalError(
        absl::StrFormat("work queue: %d acked + %d dead-lettered != %d tasks",
                        tally.done.load(), dead, tasks));
  }
  return absl::OkStatus();
}

}  // namespace spool::cli
