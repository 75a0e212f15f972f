// Status conversions between RocksDB and Spool (see rocksdb_status.h).

#include "tables/rocksdb_status.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

namespace spool::tables_internal {
namespace {

// True for the error DB::Open returns when LockFile() on "<db>/LOCK" fails
// because the lock is held: Spool's file systems say "locked by another",
// RocksDB's own POSIX code says "Resource temporarily unavailable" or "lock
// hold by current process".
bool IsLockHeld(const rocksdb::Status& status, const std::string& message) {
  if (!status.IsIOError()) return false;
  if (!absl::StrContains(message, "LOCK")) return false;
  return absl::StrContains(message, "locked by another") ||
         absl::StrContains(message, "Resource temporarily unavailable") ||
         absl::StrContains(message, "lock hold by current process");
}

absl::StatusCode IOErrorCode(const rocksdb::Status& status) {
  switch (status.subcode()) {
    case rocksdb::Status::kNoSpace:
      return absl::StatusCode::kResourceExhausted;
    case rocksdb::Status::kPathNotFound:
      return absl::StatusCode::kNotFound;
    default:
      return absl::StatusCode::kUnavailable;
  }
}

absl::StatusCode CodeFor(const rocksdb::Status& status) {
  using C = rocksdb::Status::Code;
  switch (status.code()) {
    case C::kOk:
      return absl::StatusCode::kOk;
    case C::kNotFound:
      return absl::StatusCode::kNotFound;
    case C::kCorruption:
      return absl::StatusCode::kDataLoss;
    case C::kNotSupported:
      return absl::StatusCode::kUnimplemented;
    case C::kInvalidArgument:
      return absl::StatusCode::kInvalidArgument;
    case C::kIOError:
      return IOErrorCode(status);
    case C::kIncomplete:
    case C::kBusy:
    case C::kTryAgain:
      return absl::StatusCode::kUnavailable;
    case C::kShutdownInProgress:
    case C::kColumnFamilyDropped:
      return absl::StatusCode::kFailedPrecondition;
    case C::kTimedOut:
    case C::kExpired:
      return absl::StatusCode::kDeadlineExceeded;
    case C::kAborted:
      return absl::StatusCode::kAborted;
    case C::kCompactionTooLarge:
      return absl::StatusCode::kResourceExhausted;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

absl::Status FromRocksDb(const rocksdb::Status& status,
                         std::string_view operation, std::string_view path) {
  if (status.ok()) return absl::OkStatus();
  const std::string message = status.ToString();
  if (IsLockHeld(status, message)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("tables at %s are in use by another process (%s: %s)",
                        path, operation, message));
  }
  return absl::Status(
      CodeFor(status),
      absl::StrFormat("%s tables at %s: %s", operation, path, message));
}

rocksdb::IOStatus ToIOStatus(const absl::Status& status) {
  if (status.ok()) return rocksdb::IOStatus::OK();
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return rocksdb::IOStatus::PathNotFound(message);
    case absl::StatusCode::kResourceExhausted:
      return rocksdb::IOStatus::NoSpace(message);
    default:
      return rocksdb::IOStatus::IOError(message);
  }
}

}  // namespace spool::tables_internal
