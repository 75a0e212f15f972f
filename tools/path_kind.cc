#include "tools/path_kind.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <map>

#include "absl/strings/str_format.h"
#include "log/checkpoint_file.h"
#include "log/log_directory.h"
#include "log/segment.h"
#include "tools/cli.h"

namespace spool::cli {
namespace {

constexpr std::string_view kTxnIndexSuffix = ".txnindex";
constexpr std::string_view kSnapshotSuffix = ".snapshot";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.ends_with(suffix);
}

// Files a data directory holds at its top level (Kafka's and Spool's).
bool IsDataDirFile(std::string_view name) {
  return name == kLockFile || name == kCleanShutdownFile ||
         name == kRecoveryPointCheckpoint || name == kLogStartCheckpoint ||
         name == "meta.properties" || name == "replication-offset-checkpoint";
}

bool IsLeftover(std::string_view name) {
  return EndsWith(name, kDeletedSuffix) || EndsWith(name, kCleanedSuffix) ||
         EndsWith(name, kSwapSuffix) || EndsWith(name, ".tmp");
}

// A file named like a segment file: "<digits>.<suffix>".
bool IsSegmentStyleName(std::string_view name) {
  return ParseSegmentBaseOffset(name).has_value();
}

std::string StripTrailingSlash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

absl::Status NotReadable(const std::string& path, const absl::Status& s) {
  if (absl::IsNotFound(s)) {
    return absl::NotFoundError(
        absl::StrFormat("%s: no such file or directory", path));
  }
  if (absl::IsPermissionDenied(s)) {
    return absl::PermissionDeniedError(
        absl::StrFormat("%s: permission denied", path));
  }
  return s;
}

absl::StatusOr<PathKind> ClassifyFile(const std::string& path) {
  std::string_view name = BaseName(path);
  const bool numbered = IsSegmentStyleName(name);
  if (numbered && EndsWith(name, kLogSuffix)) return PathKind::kLogSegment;
  if (numbered && EndsWith(name, kIndexSuffix)) return PathKind::kOffsetIndex;
  if (numbered && EndsWith(name, kTimeIndexSuffix)) {
    return PathKind::kTimeIndex;
  }
  if (numbered && EndsWith(name, kTxnIndexSuffix)) return PathKind::kTxnIndex;
  if (numbered && EndsWith(name, kSnapshotSuffix)) return PathKind::kSnapshot;
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s is not a segment file: expected <base offset>.log, .index, "
      ".timeindex, .txnindex or .snapshot (e.g. 00000000000000000000.log)",
      path));
}

absl::StatusOr<PathKind> ClassifyDir(FileSystem* fs, const std::string& path) {
  absl::StatusOr<std::vector<std::string>> names = fs->ListDir(path);
  if (!names.ok()) return NotReadable(path, names.status());
  bool data_dir = false, partition_files = false;
  for (const std::string& name : *names) {
    if (IsSegmentStyleName(name)) return PathKind::kPartitionDir;
    if (IsDataDirFile(name)) data_dir = true;
    if (name == "leader-epoch-checkpoint" || name == "partition.metadata") {
      partition_files = true;
    }
  }
  for (size_t i = 0; i < names->size() && !data_dir; ++i) {
    if (!ParsePartitionDirName((*names)[i]).has_value()) continue;
    absl::StatusOr<FileInfo> info = fs->Stat(JoinPath(path, (*names)[i]));
    data_dir = info.ok() && info->is_directory;
  }
  if (data_dir) return PathKind::kDataDir;
  if (partition_files || ParsePartitionDirName(BaseName(path)).has_value()) {
    return PathKind::kPartitionDir;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s is neither a partition directory (<topic>-<partition> holding "
      "<base offset>.log segments) nor a data directory (holding partition "
      "directories or checkpoint files)",
      path));
}

void AddSegmentFile(std::map<int64_t, SegmentFiles>& segs, int64_t base,
                    std::string_view name, const std::string& path) {
  SegmentFiles& f = segs[base];
  f.base_offset = base;
  if (EndsWith(name, kLogSuffix)) f.log = path;
  if (EndsWith(name, kIndexSuffix)) f.index = path;
  if (EndsWith(name, kTimeIndexSuffix)) f.time_index = path;
  if (EndsWith(name, kTxnIndexSuffix)) f.txn_index = path;
}

}  // namespace

std::string_view PathKindName(PathKind kind) {
  switch (kind) {
    case PathKind::kLogSegment:
      return "log segment";
    case PathKind::kOffsetIndex:
      return "offset index";
    case PathKind::kTimeIndex:
      return "time index";
    case PathKind::kTxnIndex:
      return "transaction index";
    case PathKind::kSnapshot:
      return "producer snapshot";
    case PathKind::kPartitionDir:
      return "partition directory";
    case PathKind::kDataDir:
      return "data directory";
  }
  return "?";
}

absl::StatusOr<ClassifiedPath> ClassifyPath(FileSystem* fs,
                                            const std::string& path) {
  ClassifiedPath out;
  out.path = StripTrailingSlash(path);
  absl::StatusOr<FileInfo> info = fs->Stat(out.path);
  if (!info.ok()) return NotReadable(out.path, info.status());
  absl::StatusOr<PathKind> kind =
      info->is_directory ? ClassifyDir(fs, out.path) : ClassifyFile(out.path);
  if (!kind.ok()) return kind.status();
  out.kind = *kind;
  return out;
}

int ExitCodeForPathError(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsInvalidArgument(status)
             ? kExitUsage
             : kExitProblems;
}

absl::StatusOr<PartitionListing> ListPartition(FileSystem* fs,
                                               const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = fs->ListDir(dir);
  if (!names.ok()) return NotReadable(dir, names.status());
  std::sort(names->begin(), names->end());
  PartitionListing out;
  out.dir = dir;
  out.tp = ParsePartitionDirName(BaseName(dir));
  std::map<int64_t, SegmentFiles> segs;
  for (const std::string& name : *names) {
    const std::string path = JoinPath(dir, name);
    std::optional<int64_t> base = ParseSegmentBaseOffset(name);
    if (IsLeftover(name)) {
      out.leftovers.push_back(path);
    } else if (base && EndsWith(name, kSnapshotSuffix)) {
      out.snapshots.push_back(path);
    } else if (base &&
               (EndsWith(name, kLogSuffix) || EndsWith(name, kIndexSuffix) ||
                EndsWith(name, kTimeIndexSuffix) ||
                EndsWith(name, kTxnIndexSuffix))) {
      AddSegmentFile(segs, *base, name, path);
    } else if (name == "leader-epoch-checkpoint" ||
               name == "partition.metadata") {
      out.known.push_back(path);
    } else {
      out.unknown.push_back(path);
    }
  }
  for (auto& [base, files] : segs) {
    if (!files.log.empty()) {
      out.segments.push_back(files);
      continue;
    }
    for (const std::string* p :
         {&files.index, &files.time_index, &files.txn_index}) {
      if (!p->empty()) out.orphan_indexes.push_back(*p);
    }
  }
  return out;
}

absl::StatusOr<DataDirListing> ListDataDir(FileSystem* fs,
                                           const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = fs->ListDir(dir);
  if (!names.ok()) return NotReadable(dir, names.status());
  std::vector<std::pair<TopicPartition, std::string>> parts;
  DataDirListing out;
  out.dir = dir;
  for (const std::string& name : *names) {
    const std::string path = JoinPath(dir, name);
    absl::StatusOr<FileInfo> info = fs->Stat(path);
    if (!info.ok() || !info->is_directory) continue;
    std::optional<TopicPartition> tp = ParsePartitionDirName(name);
    if (tp.has_value()) {
      parts.emplace_back(*tp, path);
    } else {
      out.skipped.push_back(name);
    }
  }
  std::sort(parts.begin(), parts.end());
  for (auto& [tp, path] : parts) out.partitions.push_back(path);
  std::sort(out.skipped.begin(), out.skipped.end());
  return out;
}

absl::StatusOr<std::vector<std::string>> PartitionDirs(
    FileSystem* fs, const ClassifiedPath& path) {
  if (path.kind == PathKind::kPartitionDir) {
    return std::vector<std::string>{path.path};
  }
  absl::StatusOr<DataDirListing> listing = ListDataDir(fs, path.path);
  if (!listing.ok()) return listing.status();
  return listing->partitions;
}

std::string PartitionDirOf(const ClassifiedPath& path) {
  if (path.kind == PathKind::kPartitionDir) return path.path;
  if (path.kind == PathKind::kDataDir) return "";
  return DirName(path.path);
}

int FailPath(std::string_view command, const absl::Status& status) {
  std::cerr << "spool " << command << ": " << status.message() << "\n";
  return ExitCodeForPathError(status);
}

bool LockHeld(const std::string& lock_path) {
  const int fd = open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = false;
  int rc;
  while ((rc = flock(fd, LOCK_SH | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    held = errno == EWOULDBLOCK;
  } else {
    flock(fd, LOCK_UN);
  }
  close(fd);
  return held;
}

DataDirState ProbeDataDir(FileSystem* fs, const ClassifiedPath& path) {
  std::string dir;
  if (path.kind == PathKind::kDataDir) {
    dir = path.path;
  } else {
    std::string candidate = DirName(PartitionDirOf(path));
    absl::StatusOr<std::vector<std::string>> names = fs->ListDir(candidate);
    if (names.ok() &&
        std::any_of(names->begin(), names->end(),
                    [](const std::string& n) { return IsDataDirFile(n); })) {
      dir = candidate;
    }
  }
  DataDirState state;
  if (dir.empty()) return state;
  state.dir = dir;
  state.engine_running = LockHeld(JoinPath(dir, kLockFile));
  absl::StatusOr<bool> clean = fs->Exists(JoinPath(dir, kCleanShutdownFile));
  state.clean_shutdown = clean.ok() && *clean;
  return state;
}

void NoteIfRunning(std::string_view command, const DataDirState& state) {
  if (!state.engine_running) return;
  std::cerr << "spool " << command
            << ": note: engine running; the active segment's tail may still "
               "be moving ("
            << state.dir << "/.lock is held)\n";
}

}  // namespace spool::cli
