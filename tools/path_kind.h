// What a path given to a `spool` command is: a segment file, an index file,
// a partition directory or a data directory (docs/format/segments.md,
// docs/format/checkpoints.md), and the listings of partition and data
// directories the commands walk.
//
// Nothing here modifies the file system: the "is an engine running" probe
// takes a shared flock on an existing .lock (never creating it) and releases
// it at once.

#ifndef SPOOL_TOOLS_PATH_KIND_H_
#define SPOOL_TOOLS_PATH_KIND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "spool/file_system.h"
#include "spool/topic_partition.h"

namespace spool::cli {

enum class PathKind {
  kLogSegment,   // <base>.log
  kOffsetIndex,  // <base>.index
  kTimeIndex,    // <base>.timeindex
  kTxnIndex,     // <base>.txnindex
  kSnapshot,     // <offset>.snapshot
  kPartitionDir,
  kDataDir,
};
std::string_view PathKindName(PathKind kind);

struct ClassifiedPath {
  std::string path;
  PathKind kind = PathKind::kLogSegment;
};

// Classifies `path`. Errors, with messages meant for the operator:
//   kNotFound          the path does not exist;
//   kInvalidArgument   a file that is not a segment/index/snapshot file by
//                      name, or a directory that is neither a partition
//                      directory nor a data directory;
//   kPermissionDenied  the path (or its directory) cannot be read.
absl::StatusOr<ClassifiedPath> ClassifyPath(FileSystem* fs,
                                            const std::string& path);

// The exit code for a failed ClassifyPath (or a wrong kind of path for the
// command): kExitUsage for kNotFound / kInvalidArgument, else kExitProblems.
int ExitCodeForPathError(const absl::Status& status);
// Prints "spool <command>: <message>" to stderr and returns the exit code.
int FailPath(std::string_view command, const absl::Status& status);

// The files of one segment. Paths are empty when the file is absent.
struct SegmentFiles {
  int64_t base_offset = 0;
  std::string log;
  std::string index;
  std::string time_index;
  std::string txn_index;
};

// A partition directory, its files sorted by kind.
struct PartitionListing {
  std::string dir;
  std::optional<TopicPartition> tp;         // from the directory name
  std::vector<SegmentFiles> segments;       // those with a .log, by base offset
  std::vector<std::string> orphan_indexes;  // index files without a .log
  std::vector<std::string> leftovers;  // *.deleted, *.cleaned, *.swap, *.tmp
  std::vector<std::string> snapshots;  // *.snapshot, by offset
  std::vector<std::string> known;      // leader-epoch-checkpoint, ...
  std::vector<std::string> unknown;    // anything else
};
absl::StatusOr<PartitionListing> ListPartition(FileSystem* fs,
                                               const std::string& dir);

// A data directory: partition directories sorted by topic and partition.
struct DataDirListing {
  std::string dir;
  std::vector<std::string> partitions;  // paths
  std::vector<std::string> skipped;     // names: "-delete" dirs, spool-tables
};
absl::StatusOr<DataDirListing> ListDataDir(FileSystem* fs,
                                           const std::string& dir);

// The partition directories a path stands for: the directory itself, or
// every partition of a data directory. REQUIRES: a directory kind.
absl::StatusOr<std::vector<std::string>> PartitionDirs(
    FileSystem* fs, const ClassifiedPath& path);

// The state of a data directory, as far as it can be told from outside.
struct DataDirState {
  std::string dir;              // empty: no data directory around the path
  bool engine_running = false;  // someone holds the exclusive .lock
  bool clean_shutdown = false;  // .kafka_cleanshutdown is present
};
// For a data directory path, or the data directory around a partition
// directory or segment file (the parent, if it holds a checkpoint file, a
// .lock or a clean-shutdown marker).
DataDirState ProbeDataDir(FileSystem* fs, const ClassifiedPath& path);

// True if another process (or another open file description) holds an
// exclusive flock on `lock_path`. Never creates the file.
bool LockHeld(const std::string& lock_path);

// Prints the "engine running" note for read-only commands to stderr.
void NoteIfRunning(std::string_view command, const DataDirState& state);

// The partition directory holding a segment file.
std::string PartitionDirOf(const ClassifiedPath& path);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_PATH_KIND_H_
