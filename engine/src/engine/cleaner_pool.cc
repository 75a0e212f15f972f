#include "engine/cleaner_pool.h"

#include <utility>

#include "absl/time/clock.h"

namespace spool {

CleanerPool::CleanerPool(int threads, absl::Duration check_interval,
                         int64_t io_bytes_per_second, Clock* clock,
                         Source source)
    : threads_(threads),
      check_interval_(check_interval),
      clock_(clock),
      source_(std::move(source)),
      limiter_(io_bytes_per_second) {}

CleanerPool::~CleanerPool() { Stop(); }

void CleanerPool::Start() {
  for (int i = 0; i < threads_; ++i) {
    workers_.emplace_back([this] { Run(); });
  }
}

void CleanerPool::Stop() {
  {
    MutexLock lock(&mu_);
    stop_.store(true);
    cv_.SignalAll();
  }
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void CleanerPool::Wake() {
  MutexLock lock(&mu_);
  woken_ = true;
  cv_.SignalAll();
}

std::optional<CleanerPool::Candidate> CleanerPool::Pick() {
  std::vector<Candidate> all = source_();
  const absl::Time now = clock_->Now();
  std::optional<Candidate> best;
  double best_score = -1;
  for (Candidate& c : all) {
    const CleanablePart p = c.log->Cleanable(now, c.rules);
    if (p.end_index == 0 || p.dirty_bytes == 0) continue;
    const bool due = p.max_lag_exceeded ||
                     p.dirty_ratio >= c.rules.min_cleanable_dirty_ratio;
    if (!due) continue;
    // Max-lag partitions first, then by dirty ratio.
    const double score = p.dirty_ratio + (p.max_lag_exceeded ? 2.0 : 0.0);
    if (score <= best_score) continue;
    MutexLock lock(&mu_);
    if (busy_.contains(c.log.get())) continue;
    best_score = score;
    best = std::move(c);
  }
  if (best.has_value()) {
    MutexLock lock(&mu_);
    if (!busy_.insert(best->log.get()).second) return std::nullopt;
  }
  return best;
}

absl::StatusOr<CompactionStats> CleanerPool::Clean(const Candidate& c) {
  CleanerControl control{&limiter_, &stop_};
  absl::StatusOr<CompactionStats> r =
      c.log->Compact(clock_->Now(), c.rules, control);
  if (r.ok() && r->cleaned && !r->dry_run) {
    runs_.fetch_add(1);
    bytes_read_.fetch_add(r->bytes_before);
    bytes_reclaimed_.fetch_add(r->bytes_reclaimed());
  } else if (!r.ok() && !absl::IsCancelled(r.status()) &&
             !absl::IsAborted(r.status())) {
    errors_.fetch_add(1);
  }
  return r;
}

absl::StatusOr<CompactionStats> CleanerPool::CompactNow(const Candidate& c) {
  // PartitionLog::Compact serializes cleanings of one log, so a pool
  // thread busy with the same partition simply finishes first.
  return Clean(c);
}

void CleanerPool::Run() {
  while (!stop_.load()) {
    std::optional<Candidate> c = Pick();
    bool failed = false;
    if (c.has_value()) {
      // Errors are counted; the partition is retried after a pause.
      failed = !Clean(*c).ok();
      MutexLock lock(&mu_);
      busy_.erase(c->log.get());
      if (!failed) continue;
    }
    MutexLock lock(&mu_);
    if (!stop_.load() && !woken_) cv_.WaitWithTimeout(&mu_, check_interval_);
    woken_ = false;
  }
}

}  // namespace spool
