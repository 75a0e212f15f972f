// The file objects RocksDbFileSystem hands to RocksDB: each wraps a
// spool::File (or a directory path, or a spool::FileLock) and translates
// RocksDB's calls into Spool's positional I/O.

#ifndef SPOOL_TABLES_ROCKSDB_FILES_H_
#define SPOOL_TABLES_ROCKSDB_FILES_H_

#include <cstdint>
#include <memory>
#include <string>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "spool/file_system.h"

namespace spool::tables_internal {

// Reads `file` from offset 0 on. Single-threaded, as RocksDB uses it.
std::unique_ptr<rocksdb::FSSequentialFile> WrapSequentialFile(
    std::unique_ptr<File> file);

// Positional reads of `file`. Thread-safe (File::Read is).
std::unique_ptr<rocksdb::FSRandomAccessFile> WrapRandomAccessFile(
    std::unique_ptr<File> file);

// Appends to `file` starting at `offset` (0 for a new file, the size for a
// reopened one). Sync and Fsync are File::Sync (fdatasync: it persists the
// size too; the name needs a directory sync, which RocksDB issues). Flush
// is a no-op: nothing is buffered here. RangeSync keeps RocksDB's default
// (a no-op unless strict_bytes_per_sync, then Sync). Allocate is
// File::Reserve. Single-threaded as RocksDB uses it, except that Sync may
// run concurrently with Append (IsSyncThreadSafe), which File allows.
std::unique_ptr<rocksdb::FSWritableFile> WrapWritableFile(
    std::unique_ptr<File> file, uint64_t offset,
    const rocksdb::FileOptions& options);

// A directory whose Fsync is fs->SyncDir(path). `fs` must outlive it.
std::unique_ptr<rocksdb::FSDirectory> WrapDirectory(FileSystem* fs,
                                                    std::string path);

// The DB's LOCK. Destroying it releases the spool::FileLock.
std::unique_ptr<rocksdb::FileLock> WrapFileLock(std::unique_ptr<FileLock> lock);

// An info log that appends lines "<UTC time> [<level>] <message>" to `file`
// without syncing. Lines are buffered up to 32 KiB; warnings and errors,
// Flush() and Close() write the buffer out. Write errors are dropped (a log
// must never fail the DB). Thread-safe.
std::shared_ptr<rocksdb::Logger> NewFileLogger(std::unique_ptr<File> file);

// An info log that discards everything.
std::shared_ptr<rocksdb::Logger> NewNullLogger();

}  // namespace spool::tables_internal

#endif  // SPOOL_TABLES_ROCKSDB_FILES_H_
