// Idempotent producers through the engine: producer ids and epochs,
// fencing, message-id de-duplication on a topic, the IdempotentProducer
// helper under injected write errors, and a real-crash test: a producer
// (this process) retries every batch after SIGKILLing the engine process
// (a child) at random points; afterwards each batch is in the log once.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "log/log_test_util.h"
#include "spool/engine.h"
#include "spool/errors.h"
#include "spool/producer.h"

namespace spool {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class EngineIdempotenceTest : public ::testing::Test {
 protected:
  EngineIdempotenceTest() : fs_(11) {}
  std::unique_ptr<Engine> Open() {
    EngineOptions o;
    o.data_dirs = {"/d"};
    o.file_system = &fs_;
    o.clock = &clock_;
    o.shards = 1;
    auto e = Engine::Open(o);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? std::move(*e) : nullptr;
  }
  FaultInjectionFileSystem fs_;
  ManualClock clock_;
};

std::string Batch(ProducerId p, int32_t seq, int records, int tag) {
  RecordBatchBuilder b(
      {.producer_id = p.id, .producer_epoch = p.epoch, .base_sequence = seq});
  for (int i = 0; i < records; ++i) {
    b.Add(std::nullopt, absl::StrFormat("b%d-r%d", tag, i), {}, 1700000000000);
  }
  return *b.Build();
}

TEST_F(EngineIdempotenceTest, ProducerIdsAreUniqueAndNamedOnesBumpTheirEpoch) {
  auto engine = Open();
  auto a = engine->InitProducerId();
  auto b = engine->InitProducerId();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(a->epoch, 0);
  auto n1 = engine->InitProducerId("billing-bot");
  auto n2 = engine->InitProducerId("billing-bot");
  ASSERT_TRUE(n1.ok() && n2.ok());
  EXPECT_EQ(n1->id, n2->id);
  EXPECT_EQ(n2->epoch, n1->epoch + 1);
  ASSERT_TRUE(engine->Close().ok());
  engine = Open();
  auto n3 = engine->InitProducerId("billing-bot");
  ASSERT_TRUE(n3.ok());
  EXPECT_EQ(n3->id, n1->id);
  EXPECT_EQ(n3->epoch, n2->epoch + 1);
  auto c = engine->InitProducerId();
  ASSERT_TRUE(c.ok());
  EXPECT_GT(c->id, std::max(a->id, b->id));
}

TEST_F(EngineIdempotenceTest, ReinitialisedNamedProducerFencesTheOldOne) {
  auto engine = Open();
  ASSERT_TRUE(engine->CreateTopic("t", {.partitions = 2}).ok());
  auto old_id = engine->InitProducerId("bot");
  ASSERT_TRUE(old_id.ok());
  ASSERT_TRUE(engine->Append({"t", 0}, Batch(*old_id, 0, 1, 0)).ok());
  auto new_id = engine->InitProducerId("bot");
  ASSERT_TRUE(new_id.ok());
  // The zombie is refused even on a partition the new epoch never wrote.
  auto zombie = engine->Append({"t", 1}, Batch(*old_id, 0, 1, 1));
  EXPECT_EQ(zombie.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorKind(zombie.status()), ErrorKind::kProducerFenced);
  EXPECT_THAT(zombie.status().message(), HasSubstr("re-initialised"));
  EXPECT_TRUE(engine->Append({"t", 1}, Batch(*new_id, 0, 1, 2)).ok());
}

TEST_F(EngineIdempotenceTest, TopicMessageIdDeduplication) {
  auto engine = Open();
  TopicConfig c;
  c.partitions = 3;
  c.dedup_header = "Nats-Msg-Id";
  ASSERT_TRUE(engine->CreateTopic("orders", c).ok());
  Record r{.key = "customer-7", .value = "order 1"};
  r.headers.push_back({"Nats-Msg-Id", std::string("m-1")});
  auto first = engine->Produce("orders", r);
  ASSERT_TRUE(first.ok());
  auto again = engine->Produce("orders", r);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->appends[0].duplicate);
  EXPECT_EQ(again->records[0].offset, first->records[0].offset);
  auto o = engine->Offsets({"orders", first->records[0].partition});
  EXPECT_EQ(o->log_end_offset, 1);
  std::string m = engine->Metrics();
  EXPECT_THAT(m,
              HasSubstr("spool_partition_duplicates_total{topic=\"orders\""));
}

TEST_F(EngineIdempotenceTest, ProducerRetriesWriteErrorsWithoutDuplicates) {
  auto engine = Open();
  ASSERT_TRUE(engine->CreateTopic("t", {.partitions = 1}).ok());
  auto producer = IdempotentProducer::Create(engine.get(), {});
  ASSERT_TRUE(producer.ok()) << producer.status();
  int sent = 0;
  for (int i = 0; i < 40; ++i) {
    if (i % 5 == 2) {
      // The write fails after tearing part of the batch; the producer must
      // retry the same batch.
      fs_.InjectFault({.op = FaultOp::kWrite,
                       .nth = 1,
                       .path_substring = ".log",
                       .torn_write = true});
    }
    std::vector<Record> records = {{.value = absl::StrFormat("r%d", i)},
                                   {.value = absl::StrFormat("s%d", i)}};
    auto r = (*producer)->Send("t", records);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    sent += 2;
  }
  auto f = engine->Fetch({"t", 0}, 0, {.max_bytes = 1 << 20});
  ASSERT_TRUE(f.ok());
  std::vector<std::string> values;
  ASSERT_TRUE(f->ForEachRecord([&](const RecordView& r) {
                 values.emplace_back(*r.value);
                 return true;
               }).ok());
  ASSERT_EQ(static_cast<int>(values.size()), sent);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(values[2 * i], absl::StrFormat("r%d", i));
  }
}

// --- Real crashes ---------------------------------------------------------

// Child: an engine process serving appends over pipes. Request: u32 length
// + batch. Reply: i64 base offset, u8 duplicate.
[[noreturn]] void ServeAppends(const std::string& dir, int in, int out) {
  EngineOptions o;
  o.data_dirs = {dir};
  o.shards = 1;
  auto engine = Engine::Open(o);
  if (!engine.ok()) _exit(2);
  absl::Status s = (*engine)->CreateTopic("t", {.partitions = 1});
  if (!s.ok() && !absl::IsAlreadyExists(s)) _exit(3);
  while (true) {
    uint32_t len;
    if (read(in, &len, 4) != 4) _exit(0);
    std::string batch(len, '\0');
    size_t got = 0;
    while (got < len) {
      ssize_t n = read(in, batch.data() + got, len - got);
      if (n <= 0) _exit(4);
      got += static_cast<size_t>(n);
    }
    auto r = (*engine)->Append({"t", 0}, batch);
    if (!r.ok()) _exit(5);
    char reply[9];
    std::memcpy(reply, &r->base_offset, 8);
    reply[8] = r->duplicate ? 1 : 0;
    if (write(out, reply, 9) != 9) _exit(6);
  }
}

TEST(IdempotenceKillTest, EveryBatchIsInTheLogOnceDespiteSigkills) {
  testing_util::TempDir tmp;
  const ProducerId producer{42, 0};
  constexpr int kBatches = 120;
  std::mt19937_64 rng(7);
  int next = 0, kills = 0, duplicates = 0;
  while (next < kBatches) {
    int to_child[2], from_child[2];
    ASSERT_EQ(pipe(to_child), 0);
    ASSERT_EQ(pipe(from_child), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(to_child[1]);
      close(from_child[0]);
      ServeAppends(tmp.path(), to_child[0], from_child[1]);
    }
    close(to_child[0]);
    close(from_child[1]);
    const int kill_after = 1 + static_cast<int>(rng() % 25);
    for (int sent = 0; next < kBatches; ++sent) {
      std::string batch = Batch(producer, next * 3, 3, next);
      uint32_t len = static_cast<uint32_t>(batch.size());
      ASSERT_EQ(write(to_child[1], &len, 4), 4);
      ASSERT_EQ(write(to_child[1], batch.data(), len),
                static_cast<ssize_t>(len));
      if (sent == kill_after) {
        // Kill with the batch in flight: it may or may not be appended.
        usleep(static_cast<useconds_t>(rng() % 3000));
        break;
      }
      char reply[9];
      ASSERT_EQ(read(from_child[0], reply, 9), 9) << "child died early";
      duplicates += reply[8];
      ++next;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(to_child[1]);
    close(from_child[0]);
    ++kills;
  }
  EngineOptions o;
  o.data_dirs = {tmp.path()};
  auto engine = Engine::Open(o);
  ASSERT_TRUE(engine.ok()) << engine.status();
  std::vector<std::string> values;
  int64_t offset = 0;
  while (true) {
    auto f = (*engine)->Fetch({"t", 0}, offset, {.max_bytes = 1 << 20});
    ASSERT_TRUE(f.ok()) << f.status();
    if (f->batches.empty()) break;
    ASSERT_TRUE(f->ForEachRecord([&](const RecordView& r) {
                   values.emplace_back(*r.value);
                   return true;
                 }).ok());
    offset = f->next_offset;
  }
  ASSERT_EQ(values.size(), 3u * kBatches)
      << kills << " kills, " << duplicates << " duplicates answered";
  for (int i = 0; i < kBatches; ++i) {
    for (int j = 0; j < 3; ++j) {
      ASSERT_EQ(values[3 * i + j], absl::StrFormat("b%d-r%d", i, j));
    }
  }
  EXPECT_GT(kills, 3);
  std::cout << kills << " SIGKILLs, " << duplicates
            << " retries answered as duplicates\n";
}

}  // namespace
}  // namespace spool
