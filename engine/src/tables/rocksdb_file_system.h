// RocksDbFileSystem: rocksdb::FileSystem on top of spool::FileSystem, so that
// RocksDB's files go through Spool's I/O seam. With the fault-injecting file
// system underneath, power losses, torn writes, EIO and ENOSPC reach RocksDB
// exactly as they reach the log, and crash tests cover the tables too.
//
// What is implemented (everything else is NotSupported, and RocksDB does
// not need it in the configuration TableStore uses — see docs/tables.md):
//   files       NewSequentialFile, NewRandomAccessFile, NewWritableFile
//               (create + truncate), ReopenWritableFile (append at the end),
//               ReuseWritableFile (rename, then overwrite from offset 0)
//   directories NewDirectory (Fsync -> SyncDir), CreateDir (fails if the
//               path exists), CreateDirIfMissing (a directory it creates is
//               made durable: the parent is synced), DeleteDir, IsDirectory
//   names       FileExists, GetChildren, DeleteFile, RenameFile,
//               GetFileSize, GetFileModificationTime, Truncate
//   other       LockFile / UnlockFile (spool::FileSystem::Lock),
//               GetAbsolutePath, GetTestDirectory, NewLogger
// Not supported: LinkFile (hard links are used only by checkpoints, backups
// and file ingestion, which Spool does not use), NewRandomRWFile (blob DB,
// external-file ingestion), memory-mapped buffers. mmap reads and writes and
// direct I/O are never used: TableStore leaves them off, and the file
// objects ignore those FileOptions.
//
// Errors: spool statuses become IOStatus through ToIOStatus
// (rocksdb_status.h): kNotFound -> PathNotFound, kResourceExhausted ->
// NoSpace, others -> IOError, message kept. FileExists answers NotFound for
// a missing path, as RocksDB's POSIX file system does.
//
// Info log: NewLogger writes "<UTC time> <message>" lines to the named file
// through the adapter, buffered and unsynced (a LOG file next to the tables,
// as RocksDB keeps on POSIX; on the fault-injecting file system it lives in
// memory). Lost log lines after a crash are acceptable; RocksDB never reads
// the log.
//
// Relative paths: GetAbsolutePath joins them to the process's working
// directory when the underlying file system is FileSystem::Default(), and to
// "/" otherwise (the in-memory file system has one tree rooted at "/").
//
// Thread-safe. The spool::FileSystem is not owned and must outlive this
// object and every file, lock and logger it handed out.

#ifndef SPOOL_TABLES_ROCKSDB_FILE_SYSTEM_H_
#define SPOOL_TABLES_ROCKSDB_FILE_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "spool/file_system.h"

namespace spool {

class RocksDbFileSystem final : public rocksdb::FileSystem {
 public:
  // `fs` must not be null.
  explicit RocksDbFileSystem(spool::FileSystem* fs);

  const char* Name() const override { return "SpoolFileSystem"; }
  spool::FileSystem* target() const { return fs_; }

  rocksdb::IOStatus NewSequentialFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSSequentialFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomAccessFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewWritableFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(
      const std::string& fname, const std::string& old_fname,
      const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name,
                                 const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;

  rocksdb::IOStatus FileExists(const std::string& fname,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetChildren(const std::string& dir,
                                const rocksdb::IOOptions& options,
                                std::vector<std::string>* result,
                                rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDir(const std::string& dirname,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& dirname,
                                       const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteDir(const std::string& dirname,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetFileSize(const std::string& fname,
                                const rocksdb::IOOptions& options,
                                uint64_t* file_size,
                                rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetFileModificationTime(
      const std::string& fname, const rocksdb::IOOptions& options,
      uint64_t* file_mtime, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src,
                               const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& target,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus IsDirectory(const std::string& path,
                                const rocksdb::IOOptions& options, bool* is_dir,
                                rocksdb::IODebugContext* dbg) override;

  rocksdb::IOStatus LockFile(const std::string& fname,
                             const rocksdb::IOOptions& options,
                             rocksdb::FileLock** lock,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus UnlockFile(rocksdb::FileLock* lock,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

  rocksdb::IOStatus GetTestDirectory(const rocksdb::IOOptions& options,
                                     std::string* path,
                                     rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewLogger(const std::string& fname,
                              const rocksdb::IOOptions& options,
                              std::shared_ptr<rocksdb::Logger>* result,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetAbsolutePath(const std::string& db_path,
                                    const rocksdb::IOOptions& options,
                                    std::string* output_path,
                                    rocksdb::IODebugContext* dbg) override;

 private:
  // Opens `fname` for writing; appends from its end if `at_end`, else 0.
  rocksdb::IOStatus OpenWritable(
      const std::string& fname, const OpenOptions& open, bool at_end,
      const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result);

  spool::FileSystem* const fs_;
};

// An Env whose file operations go through `fs`; threads and the clock are
// those of rocksdb::Env::Default(). `fs` is shared with the Env.
std::unique_ptr<rocksdb::Env> NewRocksDbEnv(
    std::shared_ptr<RocksDbFileSystem> fs);

}  // namespace spool

#endif  // SPOOL_TABLES_ROCKSDB_FILE_SYSTEM_H_
