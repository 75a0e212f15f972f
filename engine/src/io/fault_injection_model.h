// The state machine behind FaultInjectionFileSystem: an in-memory tree of
// inodes that remembers, for every file and directory, what is durable and
// what changed since the last sync, and what a power loss does to it.
// Internal to the io area; tests reach it through FaultInjectionFileSystem.

#ifndef SPOOL_IO_FAULT_INJECTION_MODEL_H_
#define SPOOL_IO_FAULT_INJECTION_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "io/fault_injection_file_system.h"
#include "spool/file_system.h"

namespace spool::io_internal {

struct FaultInode;
using InodePtr = std::shared_ptr<FaultInode>;

// One unsynced change to a file, in program order.
struct PendingChange {
  enum class Kind { kWrite, kTruncate };
  Kind kind = Kind::kWrite;
  uint64_t offset = 0;  // kWrite: where `bytes` go; kTruncate: the new size
  std::string bytes;    // kWrite only
};

// One entry of a directory change: set `name` to `target`, or remove it.
struct EntryChange {
  std::string name;
  InodePtr target;  // null: remove
};
// The entries of one change take effect together (a rename inside one
// directory replaces the target and removes the source atomically).
using DirectoryChange = std::vector<EntryChange>;
using Entries = std::map<std::string, InodePtr>;  // ordered: deterministic

struct FaultInode {
  uint64_t id = 0;
  bool is_directory = false;
  absl::Time modification_time;

  // Files. Invariant: contents == durable_contents with `pending` applied.
  std::string contents;
  std::string durable_contents;
  std::vector<PendingChange> pending;
  uint64_t reserved_end = 0;  // end of the range given to Reserve()
  uint64_t bytes_read = 0;    // returned by reads (introspection)

  // Directories. Invariant: entries == durable_entries with
  // `pending_entries` applied.
  Entries entries;
  Entries durable_entries;
  std::vector<DirectoryChange> pending_entries;

  // Space accounting (files): a file uses space while it has a name in the
  // current tree or an open handle.
  int links = 0;
  int open_handles = 0;
};

// Applies one change to a file's bytes; a write past the end fills the gap
// with zeros.
void ApplyChange(const PendingChange& change, std::string* contents);
void ApplyDirectoryChange(const DirectoryChange& change, Entries* entries);

// The contents `file` may have after a power loss in `mode` (see
// PowerLossMode), choosing with `rng`.
std::string RecoverContents(const FaultInode& file, PowerLossMode mode,
                            std::mt19937_64& rng);

// A lock taken by FaultModel::Lock.
struct HeldLock {
  std::string key;  // the absolute path
  uint64_t token = 0;
  uint64_t epoch = 0;
};

// Not thread-safe: FaultInjectionFileSystem calls it under its mutex.
// Operations take the caller's path for error messages and fault filters.
class FaultModel {
 public:
  FaultModel(uint64_t seed, Clock* clock);
  ~FaultModel();

  FaultModel(const FaultModel&) = delete;
  FaultModel& operator=(const FaultModel&) = delete;

  // Bumped by every power loss: handles and locks of older epochs are dead.
  uint64_t epoch() const { return epoch_; }

  // --- Namespace. Each returns the error FileSystem documents.
  // Opens (maybe creates) a file and counts an open handle on it; the
  // caller must CloseHandle() it unless the epoch changes first.
  absl::StatusOr<InodePtr> Open(const std::string& path,
                                const OpenOptions& options);
  absl::StatusOr<std::string> ReadWholeFile(const std::string& path);
  absl::Status Rename(const std::string& from, const std::string& to);
  absl::Status Remove(const std::string& path);
  absl::Status CreateDir(const std::string& path);
  absl::Status RemoveDir(const std::string& path);
  absl::Status SyncDir(const std::string& path);
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path);
  absl::StatusOr<FileInfo> Stat(const std::string& path);
  // Takes the lock on `path`, creating the file if missing.
  absl::StatusOr<HeldLock> Lock(const std::string& path);
  // Releases `lock` unless a power loss already did.
  void Unlock(const HeldLock& lock);

  // --- Files, through an open handle.
  absl::Status Write(FaultInode& file, const std::string& path, uint64_t offset,
                     std::string_view data);
  absl::StatusOr<size_t> Read(FaultInode& file, const std::string& path,
                              uint64_t offset, size_t n, char* dst);
  absl::Status Sync(FaultInode& file, const std::string& path);
  absl::Status Truncate(FaultInode& file, const std::string& path,
                        uint64_t size);
  absl::Status Reserve(FaultInode& file, const std::string& path,
                       uint64_t offset, uint64_t length);
  void CloseHandle(FaultInode& file);

  // --- Crashes and faults.
  void PowerLoss(const PowerLossOptions& options);
  void InjectFault(const FaultSpec& spec);
  void ClearFaults() { faults_.clear(); }
  void SetCapacity(uint64_t bytes) { capacity_ = bytes; }

  // --- Introspection.
  uint64_t used_bytes() const { return used_bytes_; }
  uint64_t UnsyncedBytes() const;
  absl::StatusOr<uint64_t> UnsyncedBytes(const std::string& path) const;
  absl::StatusOr<uint64_t> BytesRead(const std::string& path) const;
  std::vector<std::string> ListFiles() const;
  FileSystemSnapshot DurableSnapshot() const;
  FileSystemSnapshot CurrentSnapshot() const;
  size_t open_handles() const { return open_handles_; }
  const FaultInjectionCounters& counters() const { return counters_; }
  void ResetCounters() { counters_ = FaultInjectionCounters(); }

 private:
  struct ActiveFault {
    FaultSpec spec;
    int seen = 0;
    bool fired = false;
  };
  // Where a path leads: its directory, its last component and what is there
  // now (null if nothing). The root has no parent.
  struct Location {
    FaultInode* parent = nullptr;
    std::string name;
    InodePtr node;
  };

  // Errors name `operation` and `display` (default: `path`).
  absl::StatusOr<Location> Resolve(std::string_view operation,
                                   const std::string& path,
                                   std::string_view display = {}) const;
  absl::StatusOr<Location> ResolveExisting(std::string_view operation,
                                           const std::string& path,
                                           std::string_view display = {}) const;
  absl::StatusOr<Location> ResolveFile(std::string_view operation,
                                       const std::string& path) const;
  absl::StatusOr<Location> ResolveDirectory(std::string_view operation,
                                            const std::string& path) const;
  InodePtr NewInode(bool is_directory);
  // Creates an empty file at `location` (whose node is null).
  InodePtr CreateFile(const Location& location);
  absl::Status CheckRename(const std::string& from, const std::string& to,
                           const Location& source, const Location& target);

  // Entry changes and the space accounting of the files they touch.
  void ChangeDirectory(FaultInode& dir, DirectoryChange change);
  void AdjustLinks(FaultInode& node, int delta);
  void AdjustOpenHandles(FaultInode& node, int delta);
  // Updates used_bytes_ after `file` changed size or reservation.
  void AccountGrowth(const FaultInode& file, uint64_t usage_before);
  uint64_t FreeBytes() const;
  void AppendWrite(FaultInode& file, uint64_t offset, std::string_view data);
  void AppendTruncate(FaultInode& file, uint64_t size);

  // The injected error for this operation, if a fault rule fires; `torn`
  // (if not null) says whether the rule asked for a torn write.
  absl::Status MaybeFail(FaultOp op, std::string_view operation,
                         std::string_view path, bool* torn = nullptr,
                         std::string_view other_path = {});

  // Power loss (fault_injection_recovery.cc).
  struct Recovery {
    const PowerLossOptions& options;
    std::mt19937_64& rng;
    // Inodes reached so far from the root.
    absl::flat_hash_set<const FaultInode*> directories;
    absl::flat_hash_set<const FaultInode*> files;
  };
  // Rebuilds `dir` and everything below it as the power loss leaves them.
  void RecoverDirectory(FaultInode& dir, Recovery& recovery);
  // Called once per name of `file`; the first call sets its contents.
  void RecoverFile(FaultInode& file, Recovery& recovery);
  std::vector<InodePtr> AllDirectories() const;
  absl::Time Now() const;

  Clock* const clock_;  // may be null: the real time
  std::mt19937_64 rng_;
  InodePtr root_;
  uint64_t next_inode_id_ = 1;
  uint64_t epoch_ = 0;
  std::vector<ActiveFault> faults_;
  uint64_t capacity_ = FaultInjectionFileSystem::kUnlimitedCapacity;
  uint64_t used_bytes_ = 0;
  size_t open_handles_ = 0;
  uint64_t next_lock_token_ = 1;
  // Held locks: lock key (the absolute path) -> token of the holder.
  absl::flat_hash_map<std::string, uint64_t> locks_;
  FaultInjectionCounters counters_;
};

}  // namespace spool::io_internal

#endif  // SPOOL_IO_FAULT_INJECTION_MODEL_H_
