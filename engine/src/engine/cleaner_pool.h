// The background compaction pool (docs/compaction.md, "Scheduling"): a
// fixed number of threads that repeatedly pick the compacted partition
// with the highest dirty ratio at or above its topic's threshold (or past
// its max compaction lag), never one another thread is cleaning, and clean
// it. All cleaning, background or requested, shares one I/O rate limit.
// Stop() cancels cleanings in progress (they leave nothing behind) and
// joins the threads.
//
// Thread-safe.

#ifndef SPOOL_ENGINE_CLEANER_POOL_H_
#define SPOOL_ENGINE_CLEANER_POOL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "log/partition_log.h"
#include "spool/clock.h"
#include "spool/topic_partition.h"
#include "util/mutex.h"

namespace spool {

class CleanerPool {
 public:
  struct Candidate {
    TopicPartition tp;
    std::shared_ptr<PartitionLog> log;
    CleanerRules rules;
  };
  // Lists the partitions of compacted topics (called on pool threads).
  using Source = std::function<std::vector<Candidate>()>;

  CleanerPool(int threads, absl::Duration check_interval,
              int64_t io_bytes_per_second, Clock* clock, Source source);
  ~CleanerPool();
  CleanerPool(const CleanerPool&) = delete;
  CleanerPool& operator=(const CleanerPool&) = delete;

  void Start();
  // Cancels running cleanings and joins the threads. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  // Wakes idle threads to look for work now.
  void Wake() ABSL_LOCKS_EXCLUDED(mu_);

  // Cleans `c` on the calling thread (waiting for a pool thread cleaning
  // the same partition to finish), under the shared rate limit.
  absl::StatusOr<CompactionStats> CompactNow(const Candidate& c)
      ABSL_LOCKS_EXCLUDED(mu_);

  int64_t runs() const { return runs_.load(); }
  int64_t errors() const { return errors_.load(); }
  int64_t bytes_read() const { return bytes_read_.load(); }
  int64_t bytes_reclaimed() const { return bytes_reclaimed_.load(); }

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // The most urgent due partition nobody is cleaning; marks it busy.
  std::optional<Candidate> Pick() ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<CompactionStats> Clean(const Candidate& c);

  const int threads_;
  const absl::Duration check_interval_;
  Clock* const clock_;
  const Source source_;
  RateLimiter limiter_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;

  Mutex mu_;
  CondVar cv_;  // signalled by Stop, Wake and when a partition goes idle
  absl::flat_hash_set<const PartitionLog*> busy_ ABSL_GUARDED_BY(mu_);
  bool woken_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<int64_t> runs_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> bytes_read_{0};
  std::atomic<int64_t> bytes_reclaimed_{0};
};

}  // namespace spool

#endif  // SPOOL_ENGINE_CLEANER_POOL_H_
