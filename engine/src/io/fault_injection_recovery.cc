// FaultModel: what a power loss leaves behind, and the introspection calls
// that walk the tree.

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "io/fault_injection_model.h"
#include "util/status_macros.h"

namespace spool::io_internal {
namespace {

// Writes reach the disk in whole sectors of this many bytes (at most).
constexpr uint64_t kSectorSize = 512;

uint64_t Uniform(std::mt19937_64& rng, uint64_t n) { return rng() % n; }

void ApplyWrite(uint64_t offset, std::string_view bytes,
                std::string* contents) {
  if (bytes.empty()) return;
  const size_t end = static_cast<size_t>(offset) + bytes.size();
  if (contents->size() < end) contents->resize(end, '\0');
  std::copy(bytes.begin(), bytes.end(), contents->begin() + offset);
}

std::string ChildPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? absl::StrCat("/", name) : absl::StrCat(dir, "/", name);
}

// Calls fn(path, inode) for every entry below `dir` in the current tree,
// parents before children.
template <typename Fn>
void WalkCurrent(const FaultInode& dir, const std::string& path, Fn&& fn) {
  for (const auto& [name, child] : dir.entries) {
    const std::string child_path = ChildPath(path, name);
    fn(child_path, *child);
    if (child->is_directory) WalkCurrent(*child, child_path, fn);
  }
}

// The durable tree as a power loss in kDropUnsynced mode rebuilds it: the
// same order, and a directory named twice keeps its first name only.
void WalkDurable(const FaultInode& dir, const std::string& path,
                 absl::flat_hash_set<const FaultInode*>& seen_directories,
                 FileSystemSnapshot* snapshot) {
  for (const auto& [name, child] : dir.durable_entries) {
    const std::string child_path = ChildPath(path, name);
    if (!child->is_directory) {
      snapshot->files[child_path] = child->durable_contents;
    } else if (seen_directories.insert(child.get()).second) {
      snapshot->directories.insert(child_path);
      WalkDurable(*child, child_path, seen_directories, snapshot);
    }
  }
}

uint64_t PendingBytes(const FaultInode& file) {
  uint64_t bytes = 0;
  for (const PendingChange& change : file.pending) bytes += change.bytes.size();
  return bytes;
}

std::string KeepPrefix(const FaultInode& file, std::mt19937_64& rng) {
  std::string result = file.durable_contents;
  const size_t kept =
      static_cast<size_t>(Uniform(rng, file.pending.size() + 1));
  for (size_t i = 0; i < kept; ++i) ApplyChange(file.pending[i], &result);
  if (kept == file.pending.size()) return result;
  // The first change not kept may be torn: some of its bytes made it.
  const PendingChange& next = file.pending[kept];
  if (next.kind == PendingChange::Kind::kWrite && next.bytes.size() > 1 &&
      Uniform(rng, 2) == 0) {
    const size_t torn =
        1 + static_cast<size_t>(Uniform(rng, next.bytes.size() - 1));
    ApplyWrite(next.offset, std::string_view(next.bytes).substr(0, torn),
               &result);
  }
  return result;
}

std::string KeepSubset(const FaultInode& file, std::mt19937_64& rng) {
  std::string result = file.durable_contents;
  for (const PendingChange& change : file.pending) {
    if (change.kind == PendingChange::Kind::kTruncate) {
      if (Uniform(rng, 2) == 0) ApplyChange(change, &result);
      continue;
    }
    // Cut at sector boundaries of the file; each piece lands or not.
    const std::string_view bytes = change.bytes;
    uint64_t position = change.offset;
    size_t done = 0;
    while (done < bytes.size()) {
      const uint64_t sector_end = (position / kSectorSize + 1) * kSectorSize;
      const size_t piece = static_cast<size_t>(
          std::min<uint64_t>(bytes.size() - done, sector_end - position));
      if (Uniform(rng, 2) == 0) {
        ApplyWrite(position, bytes.substr(done, piece), &result);
      }
      done += piece;
      position += piece;
    }
  }
  return result;
}

}  // namespace

void ApplyChange(const PendingChange& change, std::string* contents) {
  if (change.kind == PendingChange::Kind::kTruncate) {
    contents->resize(static_cast<size_t>(change.offset), '\0');
  } else {
    ApplyWrite(change.offset, change.bytes, contents);
  }
}

void ApplyDirectoryChange(const DirectoryChange& change, Entries* entries) {
  for (const EntryChange& entry : change) {
    if (entry.target != nullptr) {
      (*entries)[entry.name] = entry.target;
    } else {
      entries->erase(entry.name);
    }
  }
}

std::string RecoverContents(const FaultInode& file, PowerLossMode mode,
                            std::mt19937_64& rng) {
  switch (mode) {
    case PowerLossMode::kDropUnsynced:
      return file.durable_contents;
    case PowerLossMode::kKeepRandomPrefix:
      return KeepPrefix(file, rng);
    case PowerLossMode::kKeepRandomSubset:
      return KeepSubset(file, rng);
  }
  return file.durable_contents;
}

void FaultModel::PowerLoss(const PowerLossOptions& options) {
  std::mt19937_64 rng(options.seed.has_value() ? *options.seed : rng_());
  const std::vector<InodePtr> directories = AllDirectories();
  ++epoch_;
  ++counters_.power_losses;
  locks_.clear();
  used_bytes_ = 0;
  open_handles_ = 0;
  Recovery recovery{options, rng, {root_.get()}, {}};
  RecoverDirectory(*root_, recovery);
  // Directories no longer reachable may still reference each other.
  for (const InodePtr& dir : directories) {
    if (recovery.directories.contains(dir.get())) continue;
    dir->entries.clear();
    dir->durable_entries.clear();
    dir->pending_entries.clear();
  }
}

void FaultModel::RecoverDirectory(FaultInode& dir, Recovery& recovery) {
  Entries entries = dir.durable_entries;
  if (recovery.options.keep_random_directory_prefix) {
    const size_t kept = static_cast<size_t>(
        Uniform(recovery.rng, dir.pending_entries.size() + 1));
    for (size_t i = 0; i < kept; ++i) {
      ApplyDirectoryChange(dir.pending_entries[i], &entries);
    }
  }
  dir.pending_entries.clear();
  for (auto it = entries.begin(); it != entries.end();) {
    FaultInode& child = *it->second;
    if (!child.is_directory) {
      RecoverFile(child, recovery);
    } else if (recovery.directories.insert(&child).second) {
      child.links = 1;
      RecoverDirectory(child, recovery);
    } else {
      // A directory named twice (moved between two directories, durable in
      // the target only) keeps its first name: directories have one link.
      it = entries.erase(it);
      continue;
    }
    ++it;
  }
  dir.durable_entries = entries;
  dir.entries = std::move(entries);
}

void FaultModel::RecoverFile(FaultInode& file, Recovery& recovery) {
  // A file named twice (renamed between two directories, the move durable in
  // the target only) keeps both names, as hard links.
  if (!recovery.files.insert(&file).second) {
    ++file.links;
    return;
  }
  file.links = 1;
  file.open_handles = 0;
  if (!file.pending.empty()) {
    file.contents = RecoverContents(file, recovery.options.mode, recovery.rng);
    file.durable_contents = file.contents;
    file.pending.clear();
  }
  used_bytes_ += std::max<uint64_t>(file.contents.size(), file.reserved_end);
}

std::vector<InodePtr> FaultModel::AllDirectories() const {
  std::vector<InodePtr> result = {root_};
  absl::flat_hash_set<const FaultInode*> seen = {root_.get()};
  auto visit = [&](const InodePtr& node) {
    if (node != nullptr && node->is_directory &&
        seen.insert(node.get()).second) {
      result.push_back(node);
    }
  };
  for (size_t i = 0; i < result.size(); ++i) {
    const FaultInode& dir = *result[i];
    for (const auto& [name, node] : dir.entries) visit(node);
    for (const auto& [name, node] : dir.durable_entries) visit(node);
    for (const DirectoryChange& change : dir.pending_entries) {
      for (const EntryChange& entry : change) visit(entry.target);
    }
  }
  return result;
}

uint64_t FaultModel::UnsyncedBytes() const {
  uint64_t bytes = 0;
  WalkCurrent(*root_, "/", [&](const std::string&, const FaultInode& node) {
    if (!node.is_directory) bytes += PendingBytes(node);
  });
  return bytes;
}

absl::StatusOr<uint64_t> FaultModel::UnsyncedBytes(
    const std::string& path) const {
  SPOOL_ASSIGN_OR_RETURN(Location location,
                         ResolveFile("unsynced bytes", path));
  return PendingBytes(*location.node);
}

absl::StatusOr<uint64_t> FaultModel::BytesRead(const std::string& path) const {
  SPOOL_ASSIGN_OR_RETURN(Location location, ResolveFile("bytes read", path));
  return location.node->bytes_read;
}

std::vector<std::string> FaultModel::ListFiles() const {
  std::vector<std::string> files;
  WalkCurrent(*root_, "/",
              [&](const std::string& path, const FaultInode& node) {
                if (!node.is_directory) files.push_back(path);
              });
  std::sort(files.begin(), files.end());
  return files;
}

FileSystemSnapshot FaultModel::CurrentSnapshot() const {
  FileSystemSnapshot snapshot;
  WalkCurrent(*root_, "/",
              [&](const std::string& path, const FaultInode& node) {
                if (node.is_directory) {
                  snapshot.directories.insert(path);
                } else {
                  snapshot.files[path] = node.contents;
                }
              });
  return snapshot;
}

FileSystemSnapshot FaultModel::DurableSnapshot() const {
  FileSystemSnapshot snapshot;
  absl::flat_hash_set<const FaultInode*> seen = {root_.get()};
  WalkDurable(*root_, "/", seen, &snapshot);
  return snapshot;
}

}  // namespace spool::io_internal
