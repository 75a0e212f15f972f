#include "util/wake_epoch.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

TEST(WakeEpochTest, WaitReturnsAtOnceWhenTheEpochHasMoved) {
  WakeEpoch epoch;
  const uint32_t seen = epoch.Load();
  epoch.Bump();
  EXPECT_EQ(epoch.Load(), seen + 1);
  epoch.Wait(seen);  // would block forever if it slept on a moved epoch
}

TEST(WakeEpochTest, BumpWakesEveryWaiterAtOnce) {
  constexpr int kWaiters = 8;
  // Leaked on failure: hung waiters must not outlive what they point to.
  auto* epoch = new WakeEpoch;
  auto* woken = new std::atomic<int>{0};
  auto* started = new std::atomic<int>{0};
  const uint32_t seen = epoch->Load();
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([=] {
      started->fetch_add(1);
      while (epoch->Load() == seen) epoch->Wait(seen);
      woken->fetch_add(1);
    });
  }
  while (started->load() < kWaiters) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(50));  // let them reach the futex
  EXPECT_EQ(woken->load(), 0) << "a waiter returned before the Bump";
  epoch->Bump();  // one Bump, one wake-up call for all of them
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (woken->load() < kWaiters && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (woken->load() < kWaiters) {
    for (auto& t : threads) t.detach();
    FAIL() << kWaiters - woken->load() << " waiters left asleep by Bump";
  }
  for (auto& t : threads) t.join();
  delete started;
  delete woken;
  delete epoch;
}

}  // namespace
}  // namespace spool
