// The one place where statuses cross between RocksDB and Spool.
//
// Spool -> RocksDB (ToIOStatus) is used by the file-system adapter, so that
// RocksDB sees the I/O error kinds it reacts to (a full disk, a missing
// file). RocksDB -> Spool (FromRocksDb) is used by everything that calls
// RocksDB; it picks the canonical code documented in STYLE.md:
//
//   RocksDB status                          absl code
//   ------------------------------------    --------------------
//   OK                                      kOk
//   NotFound, IOError(PathNotFound)         kNotFound
//   Corruption                              kDataLoss
//   IOError(NoSpace), CompactionTooLarge    kResourceExhausted
//   IOError: the DB's LOCK file is held     kFailedPrecondition
//     by someone else
//   other IOError, Busy, TryAgain,          kUnavailable
//     Incomplete
//   InvalidArgument                         kInvalidArgument
//   NotSupported                            kUnimplemented
//   ShutdownInProgress, ColumnFamilyDropped kFailedPrecondition
//   TimedOut, Expired                       kDeadlineExceeded
//   Aborted                                 kAborted
//   anything else                           kInternal
//
// Messages read "<operation> tables at <path>: <RocksDB's message>", or for
// a held lock "tables at <path> are in use by another process (<operation>:
// <RocksDB's message>)".

#ifndef SPOOL_TABLES_ROCKSDB_STATUS_H_
#define SPOOL_TABLES_ROCKSDB_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/io_status.h"
#include "rocksdb/status.h"

namespace spool::tables_internal {

// Converts a RocksDB status. `operation` says what was being done ("open",
// "put catalog key \"t\"", ...), `path` is the RocksDB directory.
absl::Status FromRocksDb(const rocksdb::Status& status,
                         std::string_view operation, std::string_view path);

// Converts a Spool I/O status for RocksDB: kNotFound -> PathNotFound,
// kResourceExhausted -> NoSpace, every other error -> IOError, keeping the
// message (which names the operation and the file).
rocksdb::IOStatus ToIOStatus(const absl::Status& status);

}  // namespace spool::tables_internal

#endif  // SPOOL_TABLES_ROCKSDB_STATUS_H_
