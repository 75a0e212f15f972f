// A shard: a group of partitions with its own background thread and its own
// cache of open segment files. Partitions are assigned to shards by hash;
// appends and fetches run on the caller's thread (no hand-off), so shards
// only separate the background work (interval flushes, periodic tasks) and
// the file-descriptor budget.
//
// Thread-safe.

#ifndef SPOOL_ENGINE_SHARD_H_
#define SPOOL_ENGINE_SHARD_H_

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "io/file_cache.h"
#include "log/partition_log.h"
#include "spool/clock.h"
#include "util/mutex.h"

namespace spool {

class Shard {
 public:
  Shard(int index, FileSystem* fs, Clock* clock, size_t max_open_files);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  int index() const { return index_; }
  FileCache* files() { return &files_; }

  void AddPartition(std::shared_ptr<PartitionLog> log) ABSL_LOCKS_EXCLUDED(mu_);
  void RemovePartition(const PartitionLog* log) ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `task` on the shard's thread every `every` (real time). Call
  // before Start().
  void AddPeriodicTask(absl::Duration every, std::function<void()> task);

  // Starts / stops the background thread. Stop() returns once the thread
  // has finished its current step; idempotent.
  void Start();
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Background errors (a failed flush): counted, the last one kept.
  int64_t background_errors() const { return background_errors_.load(); }
  absl::Status last_background_error() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Periodic {
    absl::Duration every;
    std::function<void()> task;
    absl::Time next;
  };
  void Run();
  void FlushDue() ABSL_LOCKS_EXCLUDED(mu_);
  void ExpireProducers() ABSL_LOCKS_EXCLUDED(mu_);

  const int index_;
  Clock* const clock_;
  FileCache files_;
  std::vector<Periodic> periodic_;  // set before Start, then thread-only
  std::thread thread_;

  mutable Mutex mu_;
  std::vector<std::shared_ptr<PartitionLog>> partitions_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  CondVar wake_;  // signalled by Stop()
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> background_errors_{0};
};

}  // namespace spool

#endif  // SPOOL_ENGINE_SHARD_H_
