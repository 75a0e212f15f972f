// One data directory (Kafka's log.dir): its lock, its checkpoint files, the
// clean-shutdown marker, and the partition logs stored in it.
//
//   <dir>/.lock                              held while open
//   <dir>/.kafka_cleanshutdown               present only after Close()
//   <dir>/recovery-point-offset-checkpoint   per partition: durable offset
//   <dir>/log-start-offset-checkpoint        per partition: log start
//   <dir>/<topic>-<partition>/               a PartitionLog
//
// The marker and checkpoint names and layouts are Kafka's, so a Kafka broker
// trusts a cleanly closed directory the same way Spool does
// (docs/format/checkpoints.md).
//
// Thread-safe.

#ifndef SPOOL_LOG_LOG_DIRECTORY_H_
#define SPOOL_LOG_LOG_DIRECTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "io/file_cache.h"
#include "log/checkpoint_file.h"
#include "log/partition_log.h"
#include "spool/clock.h"
#include "spool/file_system.h"
#include "spool/topic_partition.h"
#include "util/mutex.h"

namespace spool {

inline constexpr std::string_view kCleanShutdownFile = ".kafka_cleanshutdown";
inline constexpr std::string_view kLockFile = ".lock";

class LogDirectory {
 public:
  struct Options {
    FileSystem* fs = nullptr;    // default: POSIX
    Clock* clock = nullptr;      // default: real
    FileCache* files = nullptr;  // default: one of its own
    std::string path;
  };

  // Creates the directory if needed and locks it: a second opener (in this
  // or another process) gets kFailedPrecondition naming the directory.
  // Reads the checkpoints and consumes the clean-shutdown marker (removing
  // it at once, so a crash while open counts as unclean).
  static absl::StatusOr<std::unique_ptr<LogDirectory>> Open(Options options);

  LogDirectory(const LogDirectory&) = delete;
  LogDirectory& operator=(const LogDirectory&) = delete;
  ~LogDirectory();

  const std::string& path() const { return path_; }
  bool clean_shutdown() const { return clean_shutdown_; }

  // Opens (creating if needed, recovering if the last shutdown was
  // unclean) the log of `tp`. Returns the open log if it is open already.
  // Shared: a caller holding the log may keep using it after
  // DeletePartition or Close (it is closed then, so appends fail, but reads
  // of what it had keep working).
  // `files` (may be null: the directory's own cache) holds the log's open
  // segment files; `fsync_seconds` (may be null) records fsync latencies.
  absl::StatusOr<std::shared_ptr<PartitionLog>> OpenPartition(
      const TopicPartition& tp, const LogConfig& config, RecoveryReport* report,
      FileCache* files = nullptr, BucketHistogram* fsync_seconds = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<PartitionLog> FindPartition(const TopicPartition& tp) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Closes the log of `tp` if open and deletes its directory: renamed to
  // "<topic>-<partition>.<hex>-delete" first (durably), then removed, so a
  // crash never leaves half a partition under its real name.
  absl::Status DeletePartition(const TopicPartition& tp)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Partition directories present on disk, opened or not.
  absl::StatusOr<std::vector<TopicPartition>> ListPartitionsOnDisk() const;

  // Writes the recovery-point and log-start checkpoints of every partition
  // (entries of partitions not opened in this session are kept).
  absl::Status WriteCheckpoints() ABSL_LOCKS_EXCLUDED(mu_);

  // Closes every partition log, writes the checkpoints and then the
  // clean-shutdown marker. Idempotent; later calls on the directory fail.
  absl::Status Close() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit LogDirectory(Options options);
  absl::Status RemoveDeletedPartitionDirs();
  absl::Status RemoveTree(const std::string& dir);

  FileSystem* const fs_;
  Clock* const clock_;
  const std::string path_;
  std::unique_ptr<FileCache> owned_files_;
  FileCache* files_;
  std::unique_ptr<FileLock> lock_;
  bool clean_shutdown_ = false;

  mutable Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // A partition failed to open: it may have left directory entries
  // unsynced, so Close does not mark the shutdown clean (the next open
  // syncs them in recovery).
  bool open_failed_ ABSL_GUARDED_BY(mu_) = false;
  absl::btree_map<TopicPartition, std::shared_ptr<PartitionLog>> logs_
      ABSL_GUARDED_BY(mu_);
  // Partitions being opened (outside mu_), and a wake-up when one is done.
  absl::btree_set<TopicPartition> opening_ ABSL_GUARDED_BY(mu_);
  CondVar opened_;
  // As read at Open, for partitions not (yet) opened.
  OffsetCheckpoint recovery_points_ ABSL_GUARDED_BY(mu_);
  OffsetCheckpoint log_starts_ ABSL_GUARDED_BY(mu_);
  Mutex checkpoint_mu_ ABSL_ACQUIRED_AFTER(mu_);
};

}  // namespace spool

#endif  // SPOOL_LOG_LOG_DIRECTORY_H_
