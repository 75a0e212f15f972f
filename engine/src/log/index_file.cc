#include "log/index_file.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "util/status_macros.h"

namespace spool {
namespace {

absl::Status CheckLength(const std::string& path, uint64_t length,
                         int entry_size) {
  if (length % entry_size != 0) {
    return absl::DataLossError(absl::StrFormat(
        "index file %s: length %d is not a multiple of the entry size %d", path,
        length, entry_size));
  }
  return absl::OkStatus();
}

}  // namespace

IndexFile::IndexFile(FileSystem* fs, std::string path, int entry_size,
                     int32_t max_bytes)
    : fs_(fs),
      entry_size_(entry_size),
      max_bytes_(max_bytes / entry_size * entry_size),
      max_entries_(max_bytes / entry_size),
      path_(std::move(path)) {}

absl::Status IndexFile::CreateActive() {
  MutexLock lock(&mu_);
  SPOOL_ASSIGN_OR_RETURN(auto file,
                         fs_->Open(path_, {.create = true, .truncate = true}));
  SPOOL_RETURN_IF_ERROR(file->Truncate(max_bytes_));
  SPOOL_RETURN_IF_ERROR(file->Close());
  active_ = true;
  memory_.clear();
  flushed_bytes_ = 0;
  mapped_.reset();
  sealed_entries_ = 0;
  return absl::OkStatus();
}

absl::Status IndexFile::LoadActive() {
  MutexLock lock(&mu_);
  SPOOL_ASSIGN_OR_RETURN(auto file, fs_->Open(path_, {}));
  SPOOL_ASSIGN_OR_RETURN(uint64_t length, file->Size());
  SPOOL_RETURN_IF_ERROR(CheckLength(path_, length, entry_size_));
  std::string bytes(length, '\0');
  SPOOL_ASSIGN_OR_RETURN(size_t n, file->Read(0, length, bytes.data()));
  if (n != length) {
    return absl::DataLossError(absl::StrFormat(
        "index file %s: read %d of %d bytes", path_, n, length));
  }
  SPOOL_RETURN_IF_ERROR(file->Truncate(max_bytes_));
  SPOOL_RETURN_IF_ERROR(file->Close());
  memory_ = std::move(bytes);
  flushed_bytes_ = memory_.size();
  active_ = true;
  mapped_.reset();
  sealed_entries_ = 0;
  return absl::OkStatus();
}

absl::Status IndexFile::OpenSealed() {
  MutexLock lock(&mu_);
  SPOOL_ASSIGN_OR_RETURN(FileInfo info, fs_->Stat(path_));
  SPOOL_RETURN_IF_ERROR(CheckLength(path_, info.size, entry_size_));
  active_ = false;
  memory_.clear();
  flushed_bytes_ = 0;
  mapped_.reset();
  sealed_entries_ = static_cast<int64_t>(info.size / entry_size_);
  return absl::OkStatus();
}

void IndexFile::Append(std::string_view entry) {
  MutexLock lock(&mu_);
  if (!active_) return;
  memory_.append(entry.data(), entry.size());
}

absl::Status IndexFile::Sync() const {
  std::string path;
  {
    ReaderMutexLock lock(&mu_);
    path = path_;
  }
  SPOOL_ASSIGN_OR_RETURN(auto file, fs_->Open(path, {}));
  SPOOL_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

void IndexFile::TruncateEntries(int64_t n) {
  MutexLock lock(&mu_);
  size_t bytes = static_cast<size_t>(n) * entry_size_;
  if (bytes < memory_.size()) memory_.resize(bytes);
  if (flushed_bytes_ > memory_.size()) flushed_bytes_ = memory_.size();
}

absl::Status IndexFile::WriteUnflushedLocked() {
  if (!active_ || flushed_bytes_ == memory_.size()) return absl::OkStatus();
  SPOOL_ASSIGN_OR_RETURN(auto file, fs_->Open(path_, {.create = true}));
  std::string_view pending(memory_);
  pending.remove_prefix(flushed_bytes_);
  SPOOL_RETURN_IF_ERROR(file->Write(flushed_bytes_, pending));
  SPOOL_RETURN_IF_ERROR(file->Close());
  flushed_bytes_ = memory_.size();
  return absl::OkStatus();
}

absl::Status IndexFile::Flush() {
  MutexLock lock(&mu_);
  return WriteUnflushedLocked();
}

absl::Status IndexFile::Seal(bool sync) {
  MutexLock lock(&mu_);
  if (!active_) return absl::OkStatus();
  SPOOL_ASSIGN_OR_RETURN(auto file, fs_->Open(path_, {.create = true}));
  std::string_view pending(memory_);
  pending.remove_prefix(flushed_bytes_);
  if (!pending.empty()) {
    SPOOL_RETURN_IF_ERROR(file->Write(flushed_bytes_, pending));
  }
  SPOOL_RETURN_IF_ERROR(file->Truncate(memory_.size()));
  if (sync) SPOOL_RETURN_IF_ERROR(file->Sync());
  SPOOL_RETURN_IF_ERROR(file->Close());
  sealed_entries_ = static_cast<int64_t>(memory_.size() / entry_size_);
  active_ = false;
  // The bytes stay readable through a mapping of the trimmed file; drop the
  // heap copy so sealed segments cost page cache, not heap.
  std::string().swap(memory_);
  flushed_bytes_ = 0;
  mapped_.reset();
  return absl::OkStatus();
}

absl::Status IndexFile::Delete() {
  MutexLock lock(&mu_);
  mapped_.reset();
  memory_.clear();
  flushed_bytes_ = 0;
  sealed_entries_ = 0;
  absl::Status s = fs_->Remove(path_);
  if (absl::IsNotFound(s)) return absl::OkStatus();
  return s;
}

absl::Status IndexFile::Rename(const std::string& new_path) {
  MutexLock lock(&mu_);
  absl::Status s = fs_->Rename(path_, new_path);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  path_ = new_path;
  return absl::OkStatus();
}

int64_t IndexFile::entries() const {
  ReaderMutexLock lock(&mu_);
  if (active_) return static_cast<int64_t>(memory_.size() / entry_size_);
  return sealed_entries_;
}

bool IndexFile::active() const {
  ReaderMutexLock lock(&mu_);
  return active_;
}

absl::Status IndexFile::EnsureMapped() const {
  {
    ReaderMutexLock lock(&mu_);
    if (active_ || mapped_ != nullptr || sealed_entries_ == 0) {
      return absl::OkStatus();
    }
  }
  MutexLock lock(&mu_);
  if (active_ || mapped_ != nullptr || sealed_entries_ == 0) {
    return absl::OkStatus();
  }
  SPOOL_ASSIGN_OR_RETURN(mapped_, fs_->MapReadOnly(path_));
  size_t want = static_cast<size_t>(sealed_entries_) * entry_size_;
  if (mapped_->data().size() < want) {
    size_t got = mapped_->data().size();
    mapped_.reset();
    return absl::DataLossError(absl::StrFormat(
        "index file %s shrank to %d bytes, expected %d", path_, got, want));
  }
  return absl::OkStatus();
}

std::string_view IndexFile::EntriesLocked() const {
  if (active_) return memory_;
  if (mapped_ == nullptr) return {};
  return mapped_->data().substr(
      0, static_cast<size_t>(sealed_entries_) * entry_size_);
}

}  // namespace spool
