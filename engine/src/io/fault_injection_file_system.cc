// FaultInjectionFileSystem: the thread-safe facade over FaultModel, and the
// File, MappedRegion and FileLock objects it hands out.

#include "io/fault_injection_file_system.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "io/fault_injection_model.h"
#include "util/mutex.h"
#include "util/status_macros.h"

namespace spool {
namespace io_internal {

// A handle on one inode. Thread-safe: every call takes the file system's
// mutex. Dead after a power loss (its epoch is older than the model's).
class FaultFile final : public File {
 public:
  FaultFile(FaultInjectionFileSystem* fs, std::string path, InodePtr inode,
            uint64_t epoch, bool read_only)
      : File(std::move(path)),
        fs_(fs),
        inode_(std::move(inode)),
        epoch_(epoch),
        read_only_(read_only) {}

  ~FaultFile() override {
    // Nobody is left to report to; a dead handle's error is expected.
    Close().IgnoreError();
  }

  absl::Status Write(uint64_t offset, std::string_view data) override {
    return Locked<absl::Status>("write", /*write=*/true, [&](FaultModel& m) {
      return m.Write(*inode_, path(), offset, data);
    });
  }

  absl::StatusOr<size_t> Read(uint64_t offset, size_t n,
                              char* dst) const override {
    return Locked<absl::StatusOr<size_t>>(
        "read", /*write=*/false,
        [&](FaultModel& m) { return m.Read(*inode_, path(), offset, n, dst); });
  }

  absl::Status Sync() override {
    return Locked<absl::Status>("sync", /*write=*/false, [&](FaultModel& m) {
      return m.Sync(*inode_, path());
    });
  }

  absl::Status Truncate(uint64_t size) override {
    return Locked<absl::Status>("truncate", /*write=*/true, [&](FaultModel& m) {
      return m.Truncate(*inode_, path(), size);
    });
  }

  absl::Status Reserve(uint64_t offset, uint64_t length) override {
    return Locked<absl::Status>("reserve", /*write=*/true, [&](FaultModel& m) {
      return m.Reserve(*inode_, path(), offset, length);
    });
  }

  absl::StatusOr<uint64_t> Size() const override {
    return Locked<absl::StatusOr<uint64_t>>(
        "size", /*write=*/false, [&](FaultModel&) -> absl::StatusOr<uint64_t> {
          return inode_->contents.size();
        });
  }

  absl::Status Close() override {
    MutexLock lock(&fs_->mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
    if (epoch_ != fs_->model_->epoch()) return Invalidated("close");
    fs_->model_->CloseHandle(*inode_);
    return absl::OkStatus();
  }

 private:
  absl::Status Invalidated(std::string_view operation) const {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s %s: file handle invalidated by simulated power loss", operation,
        path()));
  }

  // Runs fn(model) under the mutex if this handle may do `operation`.
  template <typename Result, typename Fn>
  Result Locked(std::string_view operation, bool write, Fn fn) const {
    MutexLock lock(&fs_->mu_);
    if (epoch_ != fs_->model_->epoch()) return Invalidated(operation);
    if (closed_) {
      return absl::FailedPreconditionError(
          absl::StrFormat("%s %s: the file is closed", operation, path()));
    }
    if (write && read_only_) {
      return absl::PermissionDeniedError(absl::StrFormat(
          "%s %s: the file is open read-only", operation, path()));
    }
    return fn(*fs_->model_);
  }

  FaultInjectionFileSystem* const fs_;
  const InodePtr inode_;
  const uint64_t epoch_;
  const bool read_only_;
  bool closed_ = false;  // guarded by fs_->mu_
};

// Thread-compatible; a copy of the bytes at the time of the call.
class FaultMappedRegion final : public MappedRegion {
 public:
  explicit FaultMappedRegion(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string_view data() const override { return bytes_; }

 private:
  const std::string bytes_;
};

class FaultLock final : public FileLock {
 public:
  FaultLock(FaultInjectionFileSystem* fs, HeldLock held)
      : fs_(fs), held_(std::move(held)) {}
  ~FaultLock() override {
    MutexLock lock(&fs_->mu_);
    fs_->model_->Unlock(held_);
  }

 private:
  FaultInjectionFileSystem* const fs_;
  const HeldLock held_;
};

}  // namespace io_internal

FaultInjectionFileSystem::FaultInjectionFileSystem(uint64_t seed, Clock* clock)
    : model_(std::make_unique<io_internal::FaultModel>(seed, clock)) {}

FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

absl::StatusOr<std::unique_ptr<File>> FaultInjectionFileSystem::Open(
    const std::string& path, const OpenOptions& options) {
  MutexLock lock(&mu_);
  SPOOL_ASSIGN_OR_RETURN(io_internal::InodePtr inode,
                         model_->Open(path, options));
  return std::make_unique<io_internal::FaultFile>(
      this, path, std::move(inode), model_->epoch(), options.read_only);
}

absl::StatusOr<std::unique_ptr<MappedRegion>>
FaultInjectionFileSystem::MapReadOnly(const std::string& path) {
  MutexLock lock(&mu_);
  SPOOL_ASSIGN_OR_RETURN(std::string bytes, model_->ReadWholeFile(path));
  return std::make_unique<io_internal::FaultMappedRegion>(std::move(bytes));
}

absl::Status FaultInjectionFileSystem::Rename(const std::string& from,
                                              const std::string& to) {
  MutexLock lock(&mu_);
  return model_->Rename(from, to);
}

absl::Status FaultInjectionFileSystem::Remove(const std::string& path) {
  MutexLock lock(&mu_);
  return model_->Remove(path);
}

absl::Status FaultInjectionFileSystem::CreateDir(const std::string& path) {
  MutexLock lock(&mu_);
  return model_->CreateDir(path);
}

absl::Status FaultInjectionFileSystem::RemoveDir(const std::string& path) {
  MutexLock lock(&mu_);
  return model_->RemoveDir(path);
}

absl::Status FaultInjectionFileSystem::SyncDir(const std::string& path) {
  MutexLock lock(&mu_);
  return model_->SyncDir(path);
}

absl::StatusOr<std::vector<std::string>> FaultInjectionFileSystem::ListDir(
    const std::string& path) {
  MutexLock lock(&mu_);
  return model_->ListDir(path);
}

absl::StatusOr<FileInfo> FaultInjectionFileSystem::Stat(
    const std::string& path) {
  MutexLock lock(&mu_);
  return model_->Stat(path);
}

absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectionFileSystem::Lock(
    const std::string& path) {
  MutexLock lock(&mu_);
  SPOOL_ASSIGN_OR_RETURN(io_internal::HeldLock held, model_->Lock(path));
  return std::make_unique<io_internal::FaultLock>(this, std::move(held));
}

void FaultInjectionFileSystem::SimulatePowerLoss(
    const PowerLossOptions& options) {
  MutexLock lock(&mu_);
  model_->PowerLoss(options);
}

void FaultInjectionFileSystem::SimulateCrash(const PowerLossOptions& options) {
  MutexLock lock(&mu_);
  model_->InjectFault({.op = FaultOp::kAny, .nth = 1, .sticky = true});
  model_->PowerLoss(options);
}

void FaultInjectionFileSystem::InjectFault(const FaultSpec& spec) {
  MutexLock lock(&mu_);
  model_->InjectFault(spec);
}

void FaultInjectionFileSystem::ClearFaults() {
  MutexLock lock(&mu_);
  model_->ClearFaults();
}

void FaultInjectionFileSystem::SetCapacity(uint64_t bytes) {
  MutexLock lock(&mu_);
  model_->SetCapacity(bytes);
}

uint64_t FaultInjectionFileSystem::used_bytes() const {
  MutexLock lock(&mu_);
  return model_->used_bytes();
}

uint64_t FaultInjectionFileSystem::UnsyncedBytes() const {
  MutexLock lock(&mu_);
  return model_->UnsyncedBytes();
}

absl::StatusOr<uint64_t> FaultInjectionFileSystem::UnsyncedBytes(
    const std::string& path) const {
  MutexLock lock(&mu_);
  return model_->UnsyncedBytes(path);
}

absl::StatusOr<uint64_t> FaultInjectionFileSystem::BytesRead(
    const std::string& path) const {
  MutexLock lock(&mu_);
  return model_->BytesRead(path);
}

std::vector<std::string> FaultInjectionFileSystem::ListFiles() const {
  MutexLock lock(&mu_);
  return model_->ListFiles();
}

FileSystemSnapshot FaultInjectionFileSystem::DurableSnapshot() const {
  MutexLock lock(&mu_);
  return model_->DurableSnapshot();
}

FileSystemSnapshot FaultInjectionFileSystem::CurrentSnapshot() const {
  MutexLock lock(&mu_);
  return model_->CurrentSnapshot();
}

size_t FaultInjectionFileSystem::open_file_count() const {
  MutexLock lock(&mu_);
  return model_->open_handles();
}

FaultInjectionCounters FaultInjectionFileSystem::counters() const {
  MutexLock lock(&mu_);
  return model_->counters();
}

void FaultInjectionFileSystem::ResetCounters() {
  MutexLock lock(&mu_);
  model_->ResetCounters();
}

}  // namespace spool
