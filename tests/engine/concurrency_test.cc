// Many threads producing and fetching across partitions at once: per
// producer and partition, records come back in the order they were
// produced, nothing is lost or duplicated, and fetchers never see a
// partial batch. Run under TSan too (scripts/tsan.sh).

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "log/log_test_util.h"
#include "spool/engine.h"

namespace spool {
namespace {

TEST(EngineConcurrencyTest, ParallelProducersAndFetchersKeepPerPartitionOrder) {
  testing_util::TempDir tmp;
  EngineOptions o;
  o.data_dirs = {tmp.path() + "/a", tmp.path() + "/b"};
  o.shards = 3;
  auto engine = Engine::Open(o);
  ASSERT_TRUE(engine.ok()) << engine.status();
  TopicConfig c;
  c.partitions = 6;
  c.segment_bytes = 32 * 1024;
  c.max_batch_bytes = 16 * 1024;
  c.index_interval_bytes = 512;
  ASSERT_TRUE((*engine)->CreateTopic("t", c).ok());

  constexpr int kProducers = 6, kPerProducer = 400;
  std::atomic<int> producers_done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kProducers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerProducer; ++i) {
        // Every producer writes every partition; value "<producer>:<seq>".
        int32_t p = (t + i) % 6;
        auto r = (*engine)->Produce(
            "t", {.value = absl::StrFormat("%d:%d", t, i)},
            {.durability = i % 50 == 0 ? Durability::kSync : Durability::kNone,
             .partition = p});
        ASSERT_TRUE(r.ok()) << r.status();
      }
      producers_done.fetch_add(1);
    });
  }
  std::atomic<int64_t> fetched{0};
  for (int p = 0; p < 6; ++p) {
    threads.emplace_back([&, p] {
      std::map<int, int> last;  // producer -> last sequence seen
      int64_t offset = 0;
      while (true) {
        bool done = producers_done.load() == kProducers;
        auto f = (*engine)->Fetch(
            {"t", p}, offset,
            {.max_bytes = 4096, .max_wait = absl::Milliseconds(5)});
        ASSERT_TRUE(f.ok()) << f.status();
        absl::Status s = f->ForEachRecord([&](const RecordView& r) {
          std::vector<std::string> parts =
              absl::StrSplit(std::string(*r.value), ':');
          int producer = 0, seq = 0;
          EXPECT_TRUE(absl::SimpleAtoi(parts[0], &producer));
          EXPECT_TRUE(absl::SimpleAtoi(parts[1], &seq));
          auto it = last.find(producer);
          EXPECT_TRUE(it == last.end() || seq > it->second)
              << "partition " << p << " producer " << producer << " seq " << seq
              << " after " << it->second;
          last[producer] = seq;
          fetched.fetch_add(1);
          return true;
        });
        ASSERT_TRUE(s.ok()) << s;
        offset = f->next_offset;
        if (done && offset == f->log_end_offset) break;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fetched.load(), kProducers * kPerProducer);
  ASSERT_TRUE((*engine)->Close().ok());
}

}  // namespace
}  // namespace spool
