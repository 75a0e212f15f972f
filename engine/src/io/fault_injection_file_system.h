// An in-memory FileSystem that models what a crash can do to a Linux file
// system, for tests and the crash-test driver.
//
// The model. Every file (inode) has its current contents, which reads see,
// and its durable contents, as of its last successful File::Sync(), plus the
// list of changes (writes and size changes, in program order) made since
// then. Every directory has its current entries and its durable entries, as
// of its last successful SyncDir(), plus the list of entry changes since
// then (a rename inside one directory is one atomic change; a rename between
// directories is a removal in one and an addition in the other).
//
//   * File::Sync() makes a file's bytes and size durable, not its name.
//   * SyncDir(dir) makes that directory's entries durable: creations,
//     removals and renames into or out of it, including subdirectories made
//     by CreateDir() (a new directory needs SyncDir of its parent).
//
// SimulatePowerLoss() is a crash followed by a reboot: every directory
// reverts to its durable entries (optionally plus a random prefix of its
// unsynced changes), and every file still reachable from the root gets its
// durable contents plus what PowerLossMode allows of its unsynced changes.
// Files reachable from no directory are gone. Handles and locks taken before
// die; the file system itself stays usable, so an engine can be reopened on
// it. docs/io.md states precisely which states each mode can produce.
//
// Faults. InjectFault() makes chosen operations fail with EIO (kUnavailable)
// or ENOSPC (kResourceExhausted), on the Nth matching call or with a
// probability, once or until ClearFaults(). SetCapacity() makes the file
// system fill up for real: writes beyond the capacity fail with ENOSPC until
// space is freed.
//
// Paths: one tree rooted at "/"; "a/b" and "/a/b" name the same file, and
// "." and ".." are resolved lexically. Paths reported by the introspection
// calls are absolute ("/a/b"). Error codes and messages follow the POSIX
// implementation ("open /a/b: No such file or directory (errno 2)"); injected
// errors end with "[injected fault]".
//
// Deterministic: the same seed and the same sequence of calls give the same
// results (with several threads, the interleaving is part of the sequence;
// modification times come from the real clock unless a Clock is given).
// Thread-safe: one mutex guards the whole model. Files and locks refer to the
// file system, which must outlive them.

#ifndef SPOOL_IO_FAULT_INJECTION_FILE_SYSTEM_H_
#define SPOOL_IO_FAULT_INJECTION_FILE_SYSTEM_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spool/file_system.h"
#include "util/mutex.h"

namespace spool {

class Clock;

namespace io_internal {
class FaultModel;
class FaultFile;
class FaultLock;
}  // namespace io_internal

// What a power loss keeps of each file's unsynced changes.
enum class PowerLossMode {
  // Nothing: every file has exactly its durable contents.
  kDropUnsynced,
  // For each file independently, a prefix of its unsynced changes in
  // program order; the first change not kept entirely may be kept in part
  // (a torn write: any prefix of its bytes).
  kKeepRandomPrefix,
  // For each file independently, any subset of its unsynced changes cut
  // into 512-byte sector pieces (writes are split at file offsets that are
  // multiples of 512; a size change is one piece), the kept pieces applied
  // in program order. Models writeback that reaches the disk out of order
  // within and between files; a kept piece past a lost one leaves a hole of
  // zeros.
  kKeepRandomSubset,
};

struct PowerLossOptions {
  PowerLossMode mode = PowerLossMode::kDropUnsynced;
  // If true, each directory also keeps a random prefix of its unsynced entry
  // changes, as a journaling file system that committed some metadata on its
  // own would (a file created without SyncDir may survive, empty or not).
  // If false, every directory reverts to its entries at its last SyncDir.
  bool keep_random_directory_prefix = false;
  // The seed for this power loss's choices; if unset, one is drawn from the
  // file system's generator. Set it to replay one crash exactly.
  std::optional<uint64_t> seed;
};

// The operations a fault can target.
enum class FaultOp {
  kAny,       // every operation below
  kOpen,      // Open, MapReadOnly, CreateDir, Lock
  kRead,      // File::Read
  kWrite,     // File::Write
  kSync,      // File::Sync
  kTruncate,  // File::Truncate
  kRename,    // Rename (the filter may match either path)
  kRemove,    // Remove, RemoveDir
  kSyncDir,   // SyncDir
};

enum class FaultError {
  kIO,       // EIO -> kUnavailable
  kNoSpace,  // ENOSPC -> kResourceExhausted
};

// A rule for failing operations. Counting starts when the rule is injected.
struct FaultSpec {
  FaultOp op = FaultOp::kAny;
  // Fail the nth matching operation (1-based). 0: use `probability`.
  int nth = 1;
  // With nth == 0: each matching operation fails with this probability.
  double probability = 0.0;
  FaultError error = FaultError::kIO;
  // Once it has fired, fail every later matching operation until
  // ClearFaults(). Otherwise an nth rule fires once and is discarded.
  bool sticky = false;
  // Only operations on a path containing this substring match.
  std::string path_substring;
  // A failed Write applies a random prefix of its bytes (possibly none, never
  // all) instead of nothing. The applied bytes are unsynced like any write.
  bool torn_write = false;
};

// Calls that reached the file system, including ones that failed.
struct FaultInjectionCounters {
  uint64_t opens = 0;  // successful Open calls
  uint64_t closes = 0;
  uint64_t reads = 0;
  uint64_t bytes_read = 0;  // bytes reads returned
  uint64_t writes = 0;
  uint64_t bytes_written = 0;  // bytes applied by writes
  uint64_t syncs = 0;
  uint64_t sync_dirs = 0;
  uint64_t truncates = 0;
  uint64_t renames = 0;
  uint64_t removes = 0;
  uint64_t power_losses = 0;
  uint64_t injected_faults = 0;  // operations failed by InjectFault rules
};

// A whole file system's state: absolute path -> contents, and directories.
struct FileSystemSnapshot {
  std::map<std::string, std::string> files;
  std::set<std::string> directories;  // without the root
  bool operator==(const FileSystemSnapshot&) const = default;
};

class FaultInjectionFileSystem final : public FileSystem {
 public:
  static constexpr uint64_t kUnlimitedCapacity =
      std::numeric_limits<uint64_t>::max();
  // Files larger than this fail to grow with kResourceExhausted: the model
  // keeps contents in memory.
  static constexpr uint64_t kMaxFileSize = uint64_t{1} << 30;

  // `clock` (not owned; may be null for the real time) sets modification
  // times.
  explicit FaultInjectionFileSystem(uint64_t seed = 0, Clock* clock = nullptr);
  ~FaultInjectionFileSystem() override;

  FaultInjectionFileSystem(const FaultInjectionFileSystem&) = delete;
  FaultInjectionFileSystem& operator=(const FaultInjectionFileSystem&) = delete;

  // FileSystem. File::native_handle() is -1; MapReadOnly returns a copy of
  // the current contents.
  absl::StatusOr<std::unique_ptr<File>> Open(
      const std::string& path, const OpenOptions& options) override;
  absl::StatusOr<std::unique_ptr<MappedRegion>> MapReadOnly(
      const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Remove(const std::string& path) override;
  absl::Status CreateDir(const std::string& path) override;
  absl::Status RemoveDir(const std::string& path) override;
  absl::Status SyncDir(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) override;
  absl::StatusOr<FileInfo> Stat(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      const std::string& path) override;

  // Crashes and reboots (see the file comment). Afterwards every File,
  // FileLock and lock taken before fails or is released: calls on old files
  // return kFailedPrecondition "... file handle invalidated by simulated
  // power loss". Injected faults and the capacity stay in force.
  void SimulatePowerLoss(const PowerLossOptions& options = {});
  // A power loss that stops the process too: under one lock, every later
  // operation is made to fail (a sticky kAny fault, kUnavailable) and then
  // the power is lost. Threads of the process still running (a background
  // cleaner, a flusher) cannot change the rebooted tree, which a
  // SimulatePowerLoss followed by InjectFault would let them do in
  // between. Destroy the process's objects, then ClearFaults().
  void SimulateCrash(const PowerLossOptions& options = {});

  // Adds a fault rule; several may be active (the first that fires wins,
  // all matching rules count the operation).
  void InjectFault(const FaultSpec& spec);
  // Removes every fault rule.
  void ClearFaults();

  // Limits the bytes stored: the sum over live files (linked, or unlinked
  // but open) of max(size, end of reserved range). Holes count. A write
  // that would exceed it applies the bytes that fit and fails with
  // kResourceExhausted; Reserve fails without reserving. Lowering the
  // capacity below what is used fails later growth only.
  void SetCapacity(uint64_t bytes);
  uint64_t used_bytes() const;

  // Bytes written since the last Sync, over the files in the current tree,
  // or of one file (kNotFound, kInvalidArgument for a directory).
  uint64_t UnsyncedBytes() const;
  absl::StatusOr<uint64_t> UnsyncedBytes(const std::string& path) const;
  // Bytes that reads of one file have returned since it was created
  // (kNotFound, kInvalidArgument for a directory): what a reader copied.
  absl::StatusOr<uint64_t> BytesRead(const std::string& path) const;
  // Paths of all files in the current tree, sorted.
  std::vector<std::string> ListFiles() const;
  // The state a power loss with kDropUnsynced would leave.
  FileSystemSnapshot DurableSnapshot() const;
  // The state now, as reads and listings see it.
  FileSystemSnapshot CurrentSnapshot() const;
  // Open File objects (closed or invalidated ones excluded).
  size_t open_file_count() const;
  FaultInjectionCounters counters() const;
  void ResetCounters();

 private:
  friend class io_internal::FaultFile;
  friend class io_internal::FaultLock;

  // The model is single-threaded; mu_ makes this class thread-safe.
  mutable Mutex mu_;
  std::unique_ptr<io_internal::FaultModel> model_ ABSL_GUARDED_BY(mu_);
};

}  // namespace spool

#endif  // SPOOL_IO_FAULT_INJECTION_FILE_SYSTEM_H_
