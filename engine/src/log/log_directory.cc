#include "log/log_directory.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "util/status_macros.h"

namespace spool {
namespace {

constexpr size_t kDefaultOpenFiles = 1024;
constexpr char kDeleteDirSuffix[] = "-delete";

}  // namespace

LogDirectory::LogDirectory(Options options)
    : fs_(options.fs != nullptr ? options.fs : FileSystem::Default()),
      clock_(options.clock != nullptr ? options.clock : Clock::Real()),
      path_(options.path),
      files_(options.files) {
  if (files_ == nullptr) {
    owned_files_ = std::make_unique<FileCache>(fs_, kDefaultOpenFiles);
    files_ = owned_files_.get();
  }
}

LogDirectory::~LogDirectory() { Close().IgnoreError(); }

absl::StatusOr<std::unique_ptr<LogDirectory>> LogDirectory::Open(
    Options options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("data directory path is empty");
  }
  std::unique_ptr<LogDirectory> dir(new LogDirectory(std::move(options)));
  FileSystem* fs = dir->fs_;
  const std::string& path = dir->path_;
  absl::StatusOr<FileInfo> info = fs->Stat(path);
  if (info.ok() && !info->is_directory) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "data directory %s exists and is not a directory", path));
  }
  if (absl::IsNotFound(info.status())) {
    SPOOL_RETURN_IF_ERROR(fs->CreateDirs(path));
  } else if (!info.ok()) {
    return info.status();
  }
  absl::StatusOr<std::unique_ptr<FileLock>> lock =
      fs->Lock(JoinPath(path, kLockFile));
  if (!lock.ok()) {
    return absl::Status(
        lock.status().code(),
        absl::StrFormat("data directory %s is in use by another Spool engine "
                        "(could not lock %s): %s",
                        path, kLockFile, lock.status().message()));
  }
  dir->lock_ = std::move(*lock);
  const std::string marker = JoinPath(path, kCleanShutdownFile);
  SPOOL_ASSIGN_OR_RETURN(dir->clean_shutdown_, fs->Exists(marker));
  if (dir->clean_shutdown_) {
    // From here on a crash must count as unclean (Kafka: KAFKA-10471).
    SPOOL_RETURN_IF_ERROR(fs->Remove(marker));
    SPOOL_RETURN_IF_ERROR(fs->SyncDir(path));
  }
  MutexLock l(&dir->mu_);
  SPOOL_ASSIGN_OR_RETURN(
      dir->recovery_points_,
      ReadOffsetCheckpoint(fs, JoinPath(path, kRecoveryPointCheckpoint)));
  SPOOL_ASSIGN_OR_RETURN(
      dir->log_starts_,
      ReadOffsetCheckpoint(fs, JoinPath(path, kLogStartCheckpoint)));
  SPOOL_RETURN_IF_ERROR(dir->RemoveDeletedPartitionDirs());
  return dir;
}

absl::Status LogDirectory::RemoveTree(const std::string& dir) {
  SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(dir));
  for (const std::string& name : names) {
    absl::Status s = fs_->Remove(JoinPath(dir, name));
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  SPOOL_RETURN_IF_ERROR(fs_->RemoveDir(dir));
  return fs_->SyncDir(path_);
}

absl::Status LogDirectory::RemoveDeletedPartitionDirs() {
  SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(path_));
  for (const std::string& name : names) {
    if (!std::string_view(name).ends_with(kDeleteDirSuffix)) continue;
    std::string dir = JoinPath(path_, name);
    SPOOL_ASSIGN_OR_RETURN(FileInfo info, fs_->Stat(dir));
    if (info.is_directory) SPOOL_RETURN_IF_ERROR(RemoveTree(dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<PartitionLog>> LogDirectory::OpenPartition(
    const TopicPartition& tp, const LogConfig& config, RecoveryReport* report,
    FileCache* files, BucketHistogram* fsync_seconds) {
  // The log is opened (and recovered, which can take a while) without
  // holding mu_: other partitions open in parallel, and a log's own lock is
  // never taken while mu_ is held (a log takes mu_ to write checkpoints).
  mu_.Lock();
  while (opening_.contains(tp)) opened_.Wait(&mu_);
  if (closed_) {
    mu_.Unlock();
    return absl::FailedPreconditionError(
        absl::StrFormat("data directory %s is closed", path_));
  }
  if (auto it = logs_.find(tp); it != logs_.end()) {
    std::shared_ptr<PartitionLog> log = it->second;
    mu_.Unlock();
    return log;
  }
  opening_.insert(tp);
  PartitionLogOptions options;
  options.fs = fs_;
  options.files = files != nullptr ? files : files_;
  options.fsync_seconds = fsync_seconds;
  options.persist_log_start = [this] { return WriteCheckpoints(); };
  options.clock = clock_;
  options.dir = JoinPath(path_, tp.ToString());
  options.config = config;
  options.clean_shutdown = clean_shutdown_;
  auto rp = recovery_points_.find(tp);
  options.recovery_point = rp == recovery_points_.end() ? 0 : rp->second;
  auto ls = log_starts_.find(tp);
  options.log_start_offset = ls == log_starts_.end() ? 0 : ls->second;
  mu_.Unlock();
  absl::StatusOr<std::unique_ptr<PartitionLog>> log =
      PartitionLog::Open(std::move(options), report);
  MutexLock lock(&mu_);
  opening_.erase(tp);
  opened_.SignalAll();
  if (!log.ok()) {
    open_failed_ = true;
    return log.status();
  }
  std::shared_ptr<PartitionLog> shared = std::move(*log);
  logs_[tp] = shared;
  return shared;
}

std::shared_ptr<PartitionLog> LogDirectory::FindPartition(
    const TopicPartition& tp) const {
  MutexLock lock(&mu_);
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second;
}

absl::Status LogDirectory::DeletePartition(const TopicPartition& tp) {
  std::shared_ptr<PartitionLog> log;
  {
    MutexLock lock(&mu_);
    auto it = logs_.find(tp);
    if (it != logs_.end()) {
      log = it->second;
      logs_.erase(it);
    }
    recovery_points_.erase(tp);
    log_starts_.erase(tp);
  }
  if (log != nullptr) {
    log->Close().IgnoreError();  // its files are going away anyway
  }
  MutexLock lock(&mu_);
  const std::string dir = JoinPath(path_, tp.ToString());
  SPOOL_ASSIGN_OR_RETURN(bool exists, fs_->Exists(dir));
  if (!exists) return absl::OkStatus();
  absl::BitGen gen;
  const std::string doomed =
      absl::StrFormat("%s.%016x%016x%s", dir, absl::Uniform<uint64_t>(gen),
                      absl::Uniform<uint64_t>(gen), kDeleteDirSuffix);
  SPOOL_RETURN_IF_ERROR(fs_->Rename(dir, doomed));
  SPOOL_RETURN_IF_ERROR(fs_->SyncDir(path_));
  return RemoveTree(doomed);
}

absl::StatusOr<std::vector<TopicPartition>> LogDirectory::ListPartitionsOnDisk()
    const {
  SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(path_));
  std::vector<TopicPartition> out;
  for (const std::string& name : names) {
    if (name.empty() || name[0] == '.') continue;
    std::optional<TopicPartition> tp = ParsePartitionDirName(name);
    if (!tp.has_value()) continue;
    SPOOL_ASSIGN_OR_RETURN(FileInfo info, fs_->Stat(JoinPath(path_, name)));
    if (info.is_directory) out.push_back(*std::move(tp));
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status LogDirectory::WriteCheckpoints() {
  OffsetCheckpoint recovery, starts;
  {
    MutexLock lock(&mu_);
    recovery = recovery_points_;
    starts = log_starts_;
    for (const auto& [tp, log] : logs_) {
      recovery[tp] = log->durable_offset();
      starts[tp] = log->log_start_offset();
    }
  }
  MutexLock lock(&checkpoint_mu_);
  SPOOL_RETURN_IF_ERROR(WriteOffsetCheckpoint(
      fs_, JoinPath(path_, kRecoveryPointCheckpoint), recovery));
  return WriteOffsetCheckpoint(fs_, JoinPath(path_, kLogStartCheckpoint),
                               starts);
}

absl::Status LogDirectory::Close() {
  // Logs are closed without holding mu_: a log advancing its start offset
  // holds its own lock and then takes mu_ (to write the checkpoint).
  std::vector<std::shared_ptr<PartitionLog>> logs;
  {
    MutexLock lock(&mu_);
    if (closed_ || lock_ == nullptr) return absl::OkStatus();
    for (auto& [tp, log] : logs_) logs.push_back(log);
  }
  absl::Status status;
  for (auto& log : logs) status.Update(log->Close());
  status.Update(WriteCheckpoints());
  {
    MutexLock lock(&mu_);
    closed_ = true;
    if (status.ok() && !open_failed_) {
      status.Update(
          fs_->WriteFileAtomic(JoinPath(path_, kCleanShutdownFile),
                               R"({"version":"0","broker_epoch":"-1"})"));
    }
    logs_.clear();
  }
  lock_.reset();
  return status;
}

}  // namespace spool
