// A fixture for the consumer-group tests: an engine on the in-memory
// fault-injecting file system with a manual clock, and small helpers.

#ifndef SPOOL_TESTS_ENGINE_CONSUMER_GROUP_TEST_UTIL_H_
#define SPOOL_TESTS_ENGINE_CONSUMER_GROUP_TEST_UTIL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "spool/clock.h"
#include "spool/consumer_groups.h"
#include "spool/engine.h"

namespace spool::testing_util {

class GroupTestBase : public ::testing::Test {
 protected:
  GroupTestBase() : fs_(7) {}

  EngineOptions Options() {
    EngineOptions o;
    o.data_dirs = {"/disk0/spool"};
    o.file_system = &fs_;
    o.clock = &clock_;
    o.shards = 2;
    return o;
  }

  void SetUp() override { Open(); }

  void Open(EngineOptions o) {
    auto e = Engine::Open(std::move(o));
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  void Open() { Open(Options()); }

  // A clean restart.
  void Reopen() {
    ASSERT_TRUE(engine_->Close().ok());
    engine_.reset();
    Open();
  }

  // The process dies without any I/O from destructors, then power is lost
  // (unsynced data may go); the engine is opened again.
  void CrashAndReopen() {
    fs_.SimulateCrash({.mode = PowerLossMode::kKeepRandomSubset});
    engine_.reset();
    fs_.ClearFaults();
    Open();
  }

  ConsumerGroups& groups() { return engine_->groups(); }

  // Small segments (4 KiB), an index entry every 256 bytes, batches up
  // to 2 KiB.
  static TopicConfig SmallTopic(int partitions) {
    TopicConfig c;
    c.partitions = partitions;
    c.segment_bytes = 4096;
    c.segment_index_bytes = 4096;
    c.index_interval_bytes = 256;
    c.max_batch_bytes = 2048;
    return c;
  }

  void CreateTopic(const std::string& name, int partitions) {
    ASSERT_TRUE(engine_->CreateTopic(name, SmallTopic(partitions)).ok());
  }

  // Appends `n` records (one batch each) to a partition.
  void Produce(const std::string& topic, int32_t partition, int n,
               int value_bytes = 20) {
    for (int i = 0; i < n; ++i) {
      auto r = engine_->Produce(
          topic, {.value = std::string(static_cast<size_t>(value_bytes), 'v')},
          {.partition = partition});
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }

  int64_t LogEnd(const TopicPartition& tp) {
    auto o = engine_->Offsets(tp);
    EXPECT_TRUE(o.ok()) << o.status();
    return o.ok() ? o->log_end_offset : -1;
  }

  FaultInjectionFileSystem fs_;
  ManualClock clock_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace spool::testing_util

#endif  // SPOOL_TESTS_ENGINE_CONSUMER_GROUP_TEST_UTIL_H_
