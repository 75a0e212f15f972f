// The status conversions between RocksDB and Spool.

#include "tables/rocksdb_status.h"

#include <string>

#include "gtest/gtest.h"
#include "tables/tables_test_util.h"

namespace spool::tables_internal {
namespace {

using testing_tables::HasStatus;

TEST(FromRocksDbTest, MapsEachKindToItsCanonicalCode) {
  struct Case {
    rocksdb::Status status;
    absl::StatusCode code;
  };
  const Case kCases[] = {
      {rocksdb::Status::NotFound("k"), absl::StatusCode::kNotFound},
      {rocksdb::IOStatus::PathNotFound("f"), absl::StatusCode::kNotFound},
      {rocksdb::Status::Corruption("bad block"), absl::StatusCode::kDataLoss},
      {rocksdb::IOStatus::NoSpace("full"),
       absl::StatusCode::kResourceExhausted},
      {rocksdb::Status::IOError("EIO"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::Busy("b"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::TryAgain("t"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::Incomplete("stall"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::InvalidArgument("x"),
       absl::StatusCode::kInvalidArgument},
      {rocksdb::Status::NotSupported("x"), absl::StatusCode::kUnimplemented},
      {rocksdb::Status::ShutdownInProgress(),
       absl::StatusCode::kFailedPrecondition},
      {rocksdb::Status::ColumnFamilyDropped(),
       absl::StatusCode::kFailedPrecondition},
      {rocksdb::Status::TimedOut(), absl::StatusCode::kDeadlineExceeded},
      {rocksdb::Status::Aborted("a"), absl::StatusCode::kAborted},
      {rocksdb::Status::MergeInProgress(), absl::StatusCode::kInternal},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.status.ToString());
    absl::Status s = FromRocksDb(c.status, "flush", "/d/tables");
    EXPECT_TRUE(HasStatus(s, c.code, "flush tables at /d/tables: "));
    EXPECT_NE(s.message().find(c.status.ToString()), absl::string_view::npos);
  }
  EXPECT_TRUE(FromRocksDb(rocksdb::Status::OK(), "x", "/p").ok());
}

TEST(FromRocksDbTest, AHeldLockIsFailedPreconditionNamingThePath) {
  for (const char* message :
       {"lock: the file is locked by another process or Spool instance: "
        "/d/tables/LOCK",
        "While lock file: /d/tables/LOCK: Resource temporarily unavailable",
        "lock hold by current process, acquire time 1 acquiring thread 2: "
        "/d/tables/LOCK: No locks available"}) {
    SCOPED_TRACE(message);
    EXPECT_TRUE(HasStatus(
        FromRocksDb(rocksdb::Status::IOError(message), "open", "/d/tables"),
        absl::StatusCode::kFailedPrecondition,
        "tables at /d/tables are in use by another process (open: "));
  }
  // Other I/O errors on the LOCK file stay I/O errors.
  EXPECT_TRUE(HasStatus(
      FromRocksDb(rocksdb::Status::IOError("open /d/tables/LOCK: EIO"), "open",
                  "/d/tables"),
      absl::StatusCode::kUnavailable, "EIO"));
}

TEST(ToIOStatusTest, KeepsTheKindsRocksDbReactsToAndTheMessage) {
  EXPECT_TRUE(ToIOStatus(absl::OkStatus()).ok());
  rocksdb::IOStatus s = ToIOStatus(absl::NotFoundError("open /x: ENOENT"));
  EXPECT_TRUE(s.IsPathNotFound());
  EXPECT_NE(s.ToString().find("open /x: ENOENT"), std::string::npos);
  EXPECT_TRUE(ToIOStatus(absl::ResourceExhaustedError("full")).IsNoSpace());
  for (absl::Status other :
       {absl::UnavailableError("eio"), absl::PermissionDeniedError("eacces"),
        absl::FailedPreconditionError("locked"),
        absl::InvalidArgumentError("eisdir")}) {
    s = ToIOStatus(other);
    EXPECT_TRUE(s.IsIOError() && !s.IsNoSpace() && !s.IsPathNotFound())
        << other;
  }
}

}  // namespace
}  // namespace spool::tables_internal
