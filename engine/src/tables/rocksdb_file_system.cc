// RocksDbFileSystem: RocksDB's FileSystem calls mapped onto spool::FileSystem.

#include "tables/rocksdb_file_system.h"

#include <unistd.h>

#include <climits>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tables/rocksdb_files.h"
#include "tables/rocksdb_status.h"

namespace spool {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using tables_internal::ToIOStatus;

// The working directory, or "/" if it cannot be determined.
std::string WorkingDirectory() {
  char buffer[PATH_MAX];
  if (getcwd(buffer, sizeof(buffer)) == nullptr) return "/";
  return buffer;
}

}  // namespace

RocksDbFileSystem::RocksDbFileSystem(spool::FileSystem* fs) : fs_(fs) {}

IOStatus RocksDbFileSystem::NewSequentialFile(
    const std::string& fname, const rocksdb::FileOptions&,
    std::unique_ptr<rocksdb::FSSequentialFile>* result, IODebugContext*) {
  result->reset();
  absl::StatusOr<std::unique_ptr<File>> file =
      fs_->Open(fname, OpenOptions{.read_only = true});
  if (!file.ok()) return ToIOStatus(file.status());
  *result = tables_internal::WrapSequentialFile(*std::move(file));
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::NewRandomAccessFile(
    const std::string& fname, const rocksdb::FileOptions&,
    std::unique_ptr<rocksdb::FSRandomAccessFile>* result, IODebugContext*) {
  result->reset();
  absl::StatusOr<std::unique_ptr<File>> file =
      fs_->Open(fname, OpenOptions{.read_only = true});
  if (!file.ok()) return ToIOStatus(file.status());
  *result = tables_internal::WrapRandomAccessFile(*std::move(file));
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::OpenWritable(
    const std::string& fname, const OpenOptions& open, bool at_end,
    const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result) {
  result->reset();
  absl::StatusOr<std::unique_ptr<File>> file = fs_->Open(fname, open);
  if (!file.ok()) return ToIOStatus(file.status());
  uint64_t offset = 0;
  if (at_end) {
    absl::StatusOr<uint64_t> size = (*file)->Size();
    if (!size.ok()) return ToIOStatus(size.status());
    offset = *size;
  }
  *result =
      tables_internal::WrapWritableFile(*std::move(file), offset, options);
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::NewWritableFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext*) {
  return OpenWritable(fname, OpenOptions{.create = true, .truncate = true},
                      /*at_end=*/false, options, result);
}

IOStatus RocksDbFileSystem::ReopenWritableFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext*) {
  return OpenWritable(fname, OpenOptions{.create = true}, /*at_end=*/true,
                      options, result);
}

// Recycled WAL files are overwritten in place: RocksDB's recyclable record
// format tells old records from new ones, so the file is not truncated.
IOStatus RocksDbFileSystem::ReuseWritableFile(
    const std::string& fname, const std::string& old_fname,
    const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext*) {
  result->reset();
  IOStatus s = ToIOStatus(fs_->Rename(old_fname, fname));
  if (!s.ok()) return s;
  return OpenWritable(fname, OpenOptions{}, /*at_end=*/false, options, result);
}

IOStatus RocksDbFileSystem::NewDirectory(
    const std::string& name, const IOOptions& options,
    std::unique_ptr<rocksdb::FSDirectory>* result, IODebugContext* dbg) {
  result->reset();
  bool is_dir = false;
  IOStatus s = IsDirectory(name, options, &is_dir, dbg);
  if (!s.ok()) return s;
  if (!is_dir) {
    return IOStatus::IOError(
        absl::StrFormat("open directory %s: Not a directory", name));
  }
  *result = tables_internal::WrapDirectory(fs_, name);
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::FileExists(const std::string& fname,
                                       const IOOptions&, IODebugContext*) {
  absl::StatusOr<FileInfo> info = fs_->Stat(fname);
  if (info.ok()) return IOStatus::OK();
  if (absl::IsNotFound(info.status())) {
    return IOStatus::NotFound(std::string(info.status().message()));
  }
  return ToIOStatus(info.status());
}

IOStatus RocksDbFileSystem::GetChildren(const std::string& dir,
                                        const IOOptions&,
                                        std::vector<std::string>* result,
                                        IODebugContext*) {
  result->clear();
  absl::StatusOr<std::vector<std::string>> names = fs_->ListDir(dir);
  if (!names.ok()) return ToIOStatus(names.status());
  *result = *std::move(names);
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::DeleteFile(const std::string& fname,
                                       const IOOptions&, IODebugContext*) {
  return ToIOStatus(fs_->Remove(fname));
}

IOStatus RocksDbFileSystem::Truncate(const std::string& fname, size_t size,
                                     const IOOptions&, IODebugContext*) {
  absl::StatusOr<std::unique_ptr<File>> file = fs_->Open(fname, OpenOptions{});
  if (!file.ok()) return ToIOStatus(file.status());
  absl::Status s = (*file)->Truncate(size);
  absl::Status closed = (*file)->Close();
  return ToIOStatus(s.ok() ? closed : s);
}

IOStatus RocksDbFileSystem::CreateDir(const std::string& dirname,
                                      const IOOptions& options,
                                      IODebugContext* dbg) {
  IOStatus exists = FileExists(dirname, options, dbg);
  if (exists.ok()) {
    return IOStatus::IOError(absl::StrFormat("mkdir %s: File exists", dirname));
  }
  if (!exists.IsNotFound()) return exists;
  return ToIOStatus(fs_->CreateDir(dirname));
}

// A directory RocksDB creates (the DB directory itself when TableStore did
// not create it first) must survive a crash like any other entry, so its
// parent is synced. An existing directory costs one Stat.
IOStatus RocksDbFileSystem::CreateDirIfMissing(const std::string& dirname,
                                               const IOOptions& options,
                                               IODebugContext* dbg) {
  IOStatus exists = FileExists(dirname, options, dbg);
  if (!exists.IsNotFound()) {
    if (!exists.ok()) return exists;
    bool is_dir = false;
    IOStatus s = IsDirectory(dirname, options, &is_dir, dbg);
    if (!s.ok()) return s;
    if (is_dir) return IOStatus::OK();
    return IOStatus::IOError(
        absl::StrFormat("mkdir %s: exists and is not a directory", dirname));
  }
  IOStatus s = ToIOStatus(fs_->CreateDir(dirname));
  if (!s.ok()) return s;
  return ToIOStatus(fs_->SyncDir(DirName(dirname)));
}

IOStatus RocksDbFileSystem::DeleteDir(const std::string& dirname,
                                      const IOOptions&, IODebugContext*) {
  return ToIOStatus(fs_->RemoveDir(dirname));
}

IOStatus RocksDbFileSystem::GetFileSize(const std::string& fname,
                                        const IOOptions&, uint64_t* file_size,
                                        IODebugContext*) {
  absl::StatusOr<FileInfo> info = fs_->Stat(fname);
  if (!info.ok()) return ToIOStatus(info.status());
  *file_size = info->size;
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::GetFileModificationTime(const std::string& fname,
                                                    const IOOptions&,
                                                    uint64_t* file_mtime,
                                                    IODebugContext*) {
  absl::StatusOr<FileInfo> info = fs_->Stat(fname);
  if (!info.ok()) return ToIOStatus(info.status());
  const int64_t seconds = absl::ToUnixSeconds(info->modification_time);
  *file_mtime = seconds < 0 ? 0 : static_cast<uint64_t>(seconds);
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::RenameFile(const std::string& src,
                                       const std::string& target,
                                       const IOOptions&, IODebugContext*) {
  return ToIOStatus(fs_->Rename(src, target));
}

IOStatus RocksDbFileSystem::LinkFile(const std::string& src,
                                     const std::string& target,
                                     const IOOptions&, IODebugContext*) {
  return IOStatus::NotSupported(absl::StrFormat(
      "link %s to %s: hard links are not supported by Spool's file system", src,
      target));
}

IOStatus RocksDbFileSystem::IsDirectory(const std::string& path,
                                        const IOOptions&, bool* is_dir,
                                        IODebugContext*) {
  absl::StatusOr<FileInfo> info = fs_->Stat(path);
  if (!info.ok()) return ToIOStatus(info.status());
  *is_dir = info->is_directory;
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::LockFile(const std::string& fname, const IOOptions&,
                                     rocksdb::FileLock** lock,
                                     IODebugContext*) {
  *lock = nullptr;
  absl::StatusOr<std::unique_ptr<spool::FileLock>> held = fs_->Lock(fname);
  if (!held.ok()) return ToIOStatus(held.status());
  *lock = tables_internal::WrapFileLock(*std::move(held)).release();
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::UnlockFile(rocksdb::FileLock* lock,
                                       const IOOptions&, IODebugContext*) {
  delete lock;  // made by LockFile; destroying it releases the lock
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::GetTestDirectory(const IOOptions&,
                                             std::string* path,
                                             IODebugContext*) {
  *path = absl::StrFormat("/tmp/spool-rocksdb-test-%d", geteuid());
  return ToIOStatus(fs_->CreateDirs(*path));
}

IOStatus RocksDbFileSystem::NewLogger(const std::string& fname,
                                      const IOOptions&,
                                      std::shared_ptr<rocksdb::Logger>* result,
                                      IODebugContext*) {
  result->reset();
  absl::StatusOr<std::unique_ptr<File>> file =
      fs_->Open(fname, OpenOptions{.create = true, .truncate = true});
  if (!file.ok()) return ToIOStatus(file.status());
  *result = tables_internal::NewFileLogger(*std::move(file));
  return IOStatus::OK();
}

IOStatus RocksDbFileSystem::GetAbsolutePath(const std::string& db_path,
                                            const IOOptions&,
                                            std::string* output_path,
                                            IODebugContext*) {
  if (!db_path.empty() && db_path.front() == '/') {
    *output_path = db_path;
  } else if (fs_ == spool::FileSystem::Default()) {
    *output_path = JoinPath(WorkingDirectory(), db_path);
  } else {
    *output_path = JoinPath("/", db_path);
  }
  return IOStatus::OK();
}

std::unique_ptr<rocksdb::Env> NewRocksDbEnv(
    std::shared_ptr<RocksDbFileSystem> fs) {
  return rocksdb::NewCompositeEnv(std::move(fs));
}

}  // namespace spool
