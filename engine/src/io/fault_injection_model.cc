// FaultModel: namespace and file operations, space accounting and fault
// rules. Power loss and introspection are in fault_injection_recovery.cc.

#include "io/fault_injection_model.h"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "io/posix_error.h"
#include "spool/clock.h"
#include "util/status_macros.h"

namespace spool::io_internal {
namespace {

constexpr uint64_t kMaxFileSize = FaultInjectionFileSystem::kMaxFileSize;

// "/a//b/./c" -> {a, b, c}; ".." removes the previous component.
absl::StatusOr<std::vector<std::string>> SplitPath(std::string_view operation,
                                                   const std::string& path) {
  if (path.empty()) return PosixError(operation, path, ENOENT);
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.emplace_back(part.data(), part.size());
  }
  return parts;
}

uint64_t Usage(const FaultInode& file) {
  return std::max<uint64_t>(file.contents.size(), file.reserved_end);
}

bool Live(const FaultInode& file) {
  return file.links > 0 || file.open_handles > 0;
}

absl::Status TooLarge(std::string_view operation, std::string_view path) {
  return absl::ResourceExhaustedError(absl::StrFormat(
      "%s %s: the in-memory file system holds files of at most %d bytes",
      operation, path, kMaxFileSize));
}

// Uniform in [0, n); n > 0. Spelled out rather than using
// std::uniform_int_distribution so a seed means the same on every platform.
uint64_t Uniform(std::mt19937_64& rng, uint64_t n) { return rng() % n; }

bool Bernoulli(std::mt19937_64& rng, double p) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53 < p;
}

}  // namespace

FaultModel::FaultModel(uint64_t seed, Clock* clock)
    : clock_(clock), rng_(seed) {
  root_ = NewInode(/*is_directory=*/true);
  root_->links = 1;
}

FaultModel::~FaultModel() {
  // Directories can reference each other through stale durable entries
  // (a directory renamed into a sibling, neither synced); break the cycles.
  for (const InodePtr& dir : AllDirectories()) {
    dir->entries.clear();
    dir->durable_entries.clear();
    dir->pending_entries.clear();
  }
}

absl::Time FaultModel::Now() const {
  return clock_ != nullptr ? clock_->Now() : absl::Now();
}

InodePtr FaultModel::NewInode(bool is_directory) {
  auto node = std::make_shared<FaultInode>();
  node->id = next_inode_id_++;
  node->is_directory = is_directory;
  node->modification_time = Now();
  return node;
}

absl::StatusOr<FaultModel::Location> FaultModel::Resolve(
    std::string_view operation, const std::string& path,
    std::string_view display) const {
  if (display.empty()) display = path;
  absl::StatusOr<std::vector<std::string>> parts = SplitPath(operation, path);
  if (!parts.ok()) return PosixError(operation, display, ENOENT);
  if (parts->empty()) return Location{nullptr, "", root_};
  FaultInode* dir = root_.get();
  for (size_t i = 0; i + 1 < parts->size(); ++i) {
    auto it = dir->entries.find((*parts)[i]);
    if (it == dir->entries.end()) return PosixError(operation, display, ENOENT);
    if (!it->second->is_directory) {
      return PosixError(operation, display, ENOTDIR);
    }
    dir = it->second.get();
  }
  Location location{dir, parts->back(), nullptr};
  auto it = dir->entries.find(location.name);
  if (it != dir->entries.end()) location.node = it->second;
  return location;
}

absl::StatusOr<FaultModel::Location> FaultModel::ResolveExisting(
    std::string_view operation, const std::string& path,
    std::string_view display) const {
  SPOOL_ASSIGN_OR_RETURN(Location location, Resolve(operation, path, display));
  if (location.node == nullptr) {
    return PosixError(operation, display.empty() ? path : display, ENOENT);
  }
  return location;
}

absl::StatusOr<FaultModel::Location> FaultModel::ResolveFile(
    std::string_view operation, const std::string& path) const {
  SPOOL_ASSIGN_OR_RETURN(Location location, ResolveExisting(operation, path));
  if (location.node->is_directory) return PosixError(operation, path, EISDIR);
  return location;
}

absl::StatusOr<FaultModel::Location> FaultModel::ResolveDirectory(
    std::string_view operation, const std::string& path) const {
  SPOOL_ASSIGN_OR_RETURN(Location location, ResolveExisting(operation, path));
  if (!location.node->is_directory) {
    return PosixError(operation, path, ENOTDIR);
  }
  return location;
}

void FaultModel::ChangeDirectory(FaultInode& dir, DirectoryChange change) {
  for (const EntryChange& entry : change) {
    // Link the new target before unlinking the old name, so the file of a
    // rename never looks unlinked in between.
    if (entry.target != nullptr) AdjustLinks(*entry.target, +1);
    auto it = dir.entries.find(entry.name);
    if (it != dir.entries.end()) AdjustLinks(*it->second, -1);
  }
  ApplyDirectoryChange(change, &dir.entries);
  dir.pending_entries.push_back(std::move(change));
  dir.modification_time = Now();
}

void FaultModel::AdjustLinks(FaultInode& node, int delta) {
  const bool was_live = Live(node);
  node.links += delta;
  if (node.is_directory) return;
  if (was_live && !Live(node)) used_bytes_ -= Usage(node);
  if (!was_live && Live(node)) used_bytes_ += Usage(node);
}

void FaultModel::AdjustOpenHandles(FaultInode& node, int delta) {
  const bool was_live = Live(node);
  node.open_handles += delta;
  open_handles_ += delta;
  if (was_live && !Live(node)) used_bytes_ -= Usage(node);
  if (!was_live && Live(node)) used_bytes_ += Usage(node);
}

void FaultModel::AccountGrowth(const FaultInode& file, uint64_t usage_before) {
  if (Live(file)) used_bytes_ = used_bytes_ - usage_before + Usage(file);
}

uint64_t FaultModel::FreeBytes() const {
  return used_bytes_ >= capacity_ ? 0 : capacity_ - used_bytes_;
}

void FaultModel::AppendWrite(FaultInode& file, uint64_t offset,
                             std::string_view data) {
  if (data.empty()) return;  // a zero-byte write does not extend the file
  const uint64_t usage_before = Usage(file);
  PendingChange change{PendingChange::Kind::kWrite, offset, std::string(data)};
  ApplyChange(change, &file.contents);
  file.pending.push_back(std::move(change));
  file.modification_time = Now();
  counters_.bytes_written += data.size();
  AccountGrowth(file, usage_before);
}

void FaultModel::AppendTruncate(FaultInode& file, uint64_t size) {
  const uint64_t usage_before = Usage(file);
  // Shrinking frees the blocks past the new end, reserved ones included.
  if (size <= file.contents.size()) {
    file.reserved_end = std::min(file.reserved_end, size);
  }
  PendingChange change{PendingChange::Kind::kTruncate, size, ""};
  ApplyChange(change, &file.contents);
  file.pending.push_back(std::move(change));
  file.modification_time = Now();
  AccountGrowth(file, usage_before);
}

absl::Status FaultModel::MaybeFail(FaultOp op, std::string_view operation,
                                   std::string_view path, bool* torn,
                                   std::string_view other_path) {
  const ActiveFault* fired = nullptr;
  for (ActiveFault& fault : faults_) {
    const FaultSpec& spec = fault.spec;
    if (spec.op != FaultOp::kAny && spec.op != op) continue;
    if (!spec.path_substring.empty() &&
        path.find(spec.path_substring) == std::string_view::npos &&
        other_path.find(spec.path_substring) == std::string_view::npos) {
      continue;
    }
    ++fault.seen;
    bool fire = fault.fired && spec.sticky;
    if (!fire) {
      fire = spec.nth > 0 ? fault.seen == spec.nth
                          : Bernoulli(rng_, spec.probability);
    }
    if (!fire) continue;
    fault.fired = true;
    if (fired == nullptr) fired = &fault;
  }
  if (fired == nullptr) return absl::OkStatus();
  ++counters_.injected_faults;
  if (torn != nullptr) *torn = fired->spec.torn_write;
  const int error = fired->spec.error == FaultError::kIO ? EIO : ENOSPC;
  const std::string display =
      other_path.empty() ? std::string(path)
                         : absl::StrFormat("%s to %s", path, other_path);
  const absl::Status status = PosixError(operation, display, error);
  // An nth rule that fired is done unless sticky.
  std::erase_if(faults_, [](const ActiveFault& fault) {
    return fault.fired && !fault.spec.sticky && fault.spec.nth > 0;
  });
  return absl::Status(status.code(),
                      absl::StrCat(status.message(), " [injected fault]"));
}

void FaultModel::InjectFault(const FaultSpec& spec) {
  faults_.push_back(ActiveFault{spec});
}

InodePtr FaultModel::CreateFile(const Location& location) {
  InodePtr file = NewInode(/*is_directory=*/false);
  ChangeDirectory(*location.parent, {{location.name, file}});
  return file;
}

absl::StatusOr<InodePtr> FaultModel::Open(const std::string& path,
                                          const OpenOptions& options) {
  if (options.read_only && options.truncate) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "open %s: truncate needs a writable file, not read_only", path));
  }
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kOpen, "open", path));
  SPOOL_ASSIGN_OR_RETURN(Location location, Resolve("open", path));
  InodePtr file = location.node;
  if (file == nullptr) {
    if (!options.create) return PosixError("open", path, ENOENT);
    file = CreateFile(location);
  } else if (file->is_directory) {
    return PosixError("open", path, EISDIR);
  } else if (options.create && options.exclusive) {
    return PosixError("open", path, EEXIST);
  } else if (options.truncate) {
    AppendTruncate(*file, 0);
  }
  AdjustOpenHandles(*file, +1);
  ++counters_.opens;
  return file;
}

absl::StatusOr<std::string> FaultModel::ReadWholeFile(const std::string& path) {
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kOpen, "map", path));
  SPOOL_ASSIGN_OR_RETURN(Location location, ResolveFile("map", path));
  return location.node->contents;
}

absl::Status FaultModel::CheckRename(const std::string& from,
                                     const std::string& to,
                                     const Location& source,
                                     const Location& target) {
  const std::string what = absl::StrFormat("%s to %s", from, to);
  if (source.parent == nullptr || target.parent == nullptr) {
    return PosixError("rename", what, EINVAL);  // the root
  }
  const FaultInode* replaced = target.node.get();
  if (replaced != nullptr) {
    if (source.node->is_directory && !replaced->is_directory) {
      return PosixError("rename", what, ENOTDIR);
    }
    if (!source.node->is_directory && replaced->is_directory) {
      return PosixError("rename", what, EISDIR);
    }
    if (replaced->is_directory && !replaced->entries.empty()) {
      return PosixError("rename", what, ENOTEMPTY);
    }
  }
  if (source.node->is_directory) {
    // A directory cannot move into its own subtree.
    SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> from_parts,
                           SplitPath("rename", from));
    SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> to_parts,
                           SplitPath("rename", to));
    if (to_parts.size() > from_parts.size() &&
        std::equal(from_parts.begin(), from_parts.end(), to_parts.begin())) {
      return PosixError("rename", what, EINVAL);
    }
  }
  return absl::OkStatus();
}

absl::Status FaultModel::Rename(const std::string& from,
                                const std::string& to) {
  ++counters_.renames;
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kRename, "rename", from,
                                  /*torn=*/nullptr, to));
  const std::string what = absl::StrFormat("%s to %s", from, to);
  SPOOL_ASSIGN_OR_RETURN(Location source,
                         ResolveExisting("rename", from, what));
  SPOOL_ASSIGN_OR_RETURN(Location target, Resolve("rename", to, what));
  if (source.node == target.node) return absl::OkStatus();
  SPOOL_RETURN_IF_ERROR(CheckRename(from, to, source, target));
  if (source.parent == target.parent) {
    // One directory: the replacement and the removal are one change.
    ChangeDirectory(*source.parent,
                    {{target.name, source.node}, {source.name, nullptr}});
  } else {
    ChangeDirectory(*target.parent, {{target.name, source.node}});
    ChangeDirectory(*source.parent, {{source.name, nullptr}});
  }
  return absl::OkStatus();
}

absl::Status FaultModel::Remove(const std::string& path) {
  ++counters_.removes;
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kRemove, "remove", path));
  SPOOL_ASSIGN_OR_RETURN(Location location, ResolveFile("remove", path));
  ChangeDirectory(*location.parent, {{location.name, nullptr}});
  return absl::OkStatus();
}

absl::Status FaultModel::CreateDir(const std::string& path) {
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kOpen, "create directory", path));
  SPOOL_ASSIGN_OR_RETURN(Location location, Resolve("create directory", path));
  if (location.node != nullptr) {
    if (location.node->is_directory) return absl::OkStatus();
    return PosixError("create directory", path, EEXIST);
  }
  ChangeDirectory(*location.parent,
                  {{location.name, NewInode(/*is_directory=*/true)}});
  return absl::OkStatus();
}

absl::Status FaultModel::RemoveDir(const std::string& path) {
  ++counters_.removes;
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kRemove, "remove directory", path));
  SPOOL_ASSIGN_OR_RETURN(Location location,
                         ResolveDirectory("remove directory", path));
  if (location.parent == nullptr) {
    return PosixError("remove directory", path, EINVAL);  // the root
  }
  if (!location.node->entries.empty()) {
    return PosixError("remove directory", path, ENOTEMPTY);
  }
  ChangeDirectory(*location.parent, {{location.name, nullptr}});
  return absl::OkStatus();
}

absl::Status FaultModel::SyncDir(const std::string& path) {
  ++counters_.sync_dirs;
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kSyncDir, "sync directory", path));
  SPOOL_ASSIGN_OR_RETURN(Location location,
                         ResolveDirectory("sync directory", path));
  FaultInode& dir = *location.node;
  dir.durable_entries = dir.entries;
  dir.pending_entries.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FaultModel::ListDir(
    const std::string& path) {
  SPOOL_ASSIGN_OR_RETURN(Location location,
                         ResolveDirectory("list directory", path));
  std::vector<std::string> names;
  names.reserve(location.node->entries.size());
  for (const auto& [name, node] : location.node->entries) {
    names.push_back(name);
  }
  return names;
}

absl::StatusOr<FileInfo> FaultModel::Stat(const std::string& path) {
  SPOOL_ASSIGN_OR_RETURN(Location location, ResolveExisting("stat", path));
  FileInfo info;
  info.is_directory = location.node->is_directory;
  info.size = info.is_directory ? 0 : location.node->contents.size();
  info.modification_time = location.node->modification_time;
  return info;
}

absl::StatusOr<HeldLock> FaultModel::Lock(const std::string& path) {
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kOpen, "lock", path));
  SPOOL_ASSIGN_OR_RETURN(Location location, Resolve("lock", path));
  if (location.node == nullptr) {
    CreateFile(location);
  } else if (location.node->is_directory) {
    return PosixError("lock", path, EISDIR);
  }
  SPOOL_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                         SplitPath("lock", path));
  HeldLock lock{absl::StrCat("/", absl::StrJoin(parts, "/")),
                next_lock_token_++, epoch_};
  if (!locks_.try_emplace(lock.key, lock.token).second) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "lock: the file is locked by another process or Spool instance: %s",
        path));
  }
  return lock;
}

void FaultModel::Unlock(const HeldLock& lock) {
  if (lock.epoch != epoch_) return;  // a power loss released it
  auto it = locks_.find(lock.key);
  if (it != locks_.end() && it->second == lock.token) locks_.erase(it);
}

absl::Status FaultModel::Write(FaultInode& file, const std::string& path,
                               uint64_t offset, std::string_view data) {
  ++counters_.writes;
  bool torn = false;
  const absl::Status injected =
      MaybeFail(FaultOp::kWrite, "write", path, &torn);
  if (!injected.ok()) {
    // Nothing, or a strict prefix of the bytes, reached the file.
    data = torn && !data.empty() ? data.substr(0, Uniform(rng_, data.size()))
                                 : std::string_view();
  }
  if (offset > kMaxFileSize || data.size() > kMaxFileSize - offset) {
    return injected.ok() ? TooLarge("write", path) : injected;
  }
  // Bytes beyond what the file already uses need free space; as a real
  // pwrite would, write what fits and then report ENOSPC.
  const uint64_t usage = Usage(file);
  const uint64_t end = offset + data.size();
  size_t fits = data.size();
  if (end > usage && end - usage > FreeBytes()) {
    const uint64_t limit = usage + FreeBytes();
    fits = limit > offset ? static_cast<size_t>(limit - offset) : 0;
  }
  AppendWrite(file, offset, data.substr(0, fits));
  if (!injected.ok()) return injected;
  if (fits < data.size()) {
    const absl::Status full = PosixError("write", path, ENOSPC);
    return absl::Status(
        full.code(),
        absl::StrFormat("%s [capacity %d bytes]", full.message(), capacity_));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> FaultModel::Read(FaultInode& file,
                                        const std::string& path,
                                        uint64_t offset, size_t n, char* dst) {
  ++counters_.reads;
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kRead, "read", path));
  if (offset >= file.contents.size()) return 0;
  const size_t available = file.contents.size() - static_cast<size_t>(offset);
  const size_t count = std::min(n, available);
  std::copy_n(file.contents.data() + offset, count, dst);
  counters_.bytes_read += count;
  file.bytes_read += count;
  return count;
}

absl::Status FaultModel::Sync(FaultInode& file, const std::string& path) {
  ++counters_.syncs;
  // A failed sync leaves every change unsynced (not durable).
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kSync, "sync", path));
  for (const PendingChange& change : file.pending) {
    ApplyChange(change, &file.durable_contents);
  }
  file.pending.clear();
  return absl::OkStatus();
}

absl::Status FaultModel::Truncate(FaultInode& file, const std::string& path,
                                  uint64_t size) {
  ++counters_.truncates;
  SPOOL_RETURN_IF_ERROR(MaybeFail(FaultOp::kTruncate, "truncate", path));
  if (size > kMaxFileSize) return TooLarge("truncate", path);
  AppendTruncate(file, size);
  return absl::OkStatus();
}

absl::Status FaultModel::Reserve(FaultInode& file, const std::string& path,
                                 uint64_t offset, uint64_t length) {
  if (length == 0) return absl::OkStatus();
  if (offset > kMaxFileSize || length > kMaxFileSize - offset) {
    return TooLarge("reserve", path);
  }
  const uint64_t end = offset + length;
  const uint64_t usage = Usage(file);
  if (end <= file.reserved_end) return absl::OkStatus();
  if (end > usage && end - usage > FreeBytes()) {
    const absl::Status full = PosixError("reserve", path, ENOSPC);
    return absl::Status(
        full.code(),
        absl::StrFormat("%s [capacity %d bytes]", full.message(), capacity_));
  }
  file.reserved_end = end;
  AccountGrowth(file, usage);
  return absl::OkStatus();
}

void FaultModel::CloseHandle(FaultInode& file) {
  ++counters_.closes;
  AdjustOpenHandles(file, -1);
}

}  // namespace spool::io_internal
