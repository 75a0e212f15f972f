#include "engine/shard.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace spool {
namespace {

// How often the thread looks for partitions due for an interval flush.
constexpr absl::Duration kTick = absl::Milliseconds(50);
// How often idle idempotent producers and old message ids are forgotten.
constexpr absl::Duration kExpiryEvery = absl::Seconds(10);

}  // namespace

Shard::Shard(int index, FileSystem* fs, Clock* clock, size_t max_open_files)
    : index_(index), clock_(clock), files_(fs, max_open_files) {}

Shard::~Shard() { Stop(); }

void Shard::AddPartition(std::shared_ptr<PartitionLog> log) {
  MutexLock lock(&mu_);
  partitions_.push_back(std::move(log));
}

void Shard::RemovePartition(const PartitionLog* log) {
  MutexLock lock(&mu_);
  partitions_.erase(
      std::remove_if(partitions_.begin(), partitions_.end(),
                     [&](const auto& p) { return p.get() == log; }),
      partitions_.end());
}

void Shard::AddPeriodicTask(absl::Duration every, std::function<void()> task) {
  periodic_.push_back({every, std::move(task), absl::Now() + every});
}

void Shard::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Shard::Stop() {
  {
    MutexLock lock(&mu_);
    stop_.store(true);
    wake_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Shard::last_background_error() const {
  MutexLock lock(&mu_);
  return last_error_;
}

void Shard::FlushDue() {
  std::vector<std::shared_ptr<PartitionLog>> due;
  const absl::Time now = clock_->Now();
  {
    MutexLock lock(&mu_);
    for (const auto& p : partitions_) {
      if (p->NeedsFlush(now)) due.push_back(p);
    }
  }
  for (const auto& p : due) {
    if (stop_.load()) return;
    absl::Status s = p->Flush();
    if (!s.ok()) {
      background_errors_.fetch_add(1);
      MutexLock lock(&mu_);
      last_error_ = s;
    }
  }
}

void Shard::ExpireProducers() {
  std::vector<std::shared_ptr<PartitionLog>> logs;
  {
    MutexLock lock(&mu_);
    logs = partitions_;
  }
  const absl::Time now = clock_->Now();
  for (const auto& p : logs) {
    if (stop_.load()) return;
    p->ExpireProducers(now);
  }
}

void Shard::Run() {
  absl::Time next_expiry = absl::Now() + kExpiryEvery;
  while (!stop_.load()) {
    FlushDue();
    if (absl::Now() >= next_expiry) {
      ExpireProducers();
      next_expiry = absl::Now() + kExpiryEvery;
    }
    const absl::Time now = absl::Now();
    for (Periodic& p : periodic_) {
      if (stop_.load()) break;
      if (now >= p.next) {
        p.task();
        p.next = now + p.every;
      }
    }
    MutexLock lock(&mu_);
    if (!stop_.load()) wake_.WaitWithTimeout(&mu_, kTick);
  }
}

}  // namespace spool
