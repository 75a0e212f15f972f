// TableStore: the engine's one RocksDB instance, holding everything that is
// not the log (topic catalog, consumer-group offsets, producer state,
// shared-subscription state, de-duplication ids) in a fixed set of column
// families, updated atomically across tables with write batches.
//
// Files go through Spool's FileSystem (RocksDbFileSystem), so a
// FaultInjectionFileSystem underneath reaches RocksDB too.
//
// Durability. A write with sync = true returns after RocksDB's WAL is synced
// (one fdatasync covers concurrent sync writers: RocksDB's group commit),
// and survives any crash. A write with sync = false is in RocksDB's WAL in
// the page cache: it survives a process crash but a power loss may lose it;
// what survives is always a prefix of the writes in commit order, and a
// Batch is all or nothing. Flush() makes everything written so far durable.
// After a crash Open() recovers; it fails only on real corruption of synced
// data (kDataLoss). See docs/tables.md.
//
// RocksDB options, chosen for an embedded engine that may serve 10,000
// partitions next to a busy log (docs/tables.md has the reasoning):
//   * WAL on, wal_recovery_mode = kPointInTimeRecovery: after a power loss
//     the WAL's unsynced tail may be torn or have holes (docs/io.md); point-
//     in-time recovery replays up to the first bad record and stops, which
//     keeps every synced write (they precede the bad record) and never
//     applies anything after a gap. kAbsoluteConsistency would refuse to
//     open after an ordinary power loss; kSkipAnyCorruptedRecords could
//     apply later records after a lost one, breaking prefix order.
//   * recycle_log_file_num = 0 (RocksDB's default): a WAL is never
//     overwritten in place, so its tail after a crash is only ever new
//     bytes, torn or missing.
//   * Memory: memtables of 2 MiB per table (max 2 each), all memtables
//     together capped at 16 MiB (db_write_buffer_size), one LRU block cache
//     of block_cache_bytes (default 8 MiB) shared by every table, holding
//     index and filter blocks too so they count against it; bloom filters
//     (10 bits/key) for point lookups; max_total_wal_size 32 MiB so a rarely
//     written table does not pin old WALs.
//   * max_open_files = 256, max_background_jobs = 2.
//   * No mmap, no direct I/O.
//   * create_if_missing, create_missing_column_families, paranoid_checks.
//   * Compression LZ4 when the RocksDB build supports it (Debian's does),
//     otherwise none.
//   * Info log through the same FileSystem ("LOG" beside the tables, at most
//     3 files of 1 MiB); read-only opens write no log.
//
// Errors (converted in one place, tables/rocksdb_status.h): kDataLoss for
// corruption, kResourceExhausted for a full disk, kUnavailable for other I/O
// errors, kNotFound when a read-only open finds no tables, kInvalidArgument
// for bad options, kFailedPrecondition for a closed store, a write to a
// read-only store, or tables in use by another process ("tables at <path>
// are in use by another process"). Messages name the operation and the
// path. After an I/O error in a write or a flush RocksDB stops accepting
// writes (its background error). The store then closes and reopens the
// database before the next call uses it (replaying the WAL, as after a
// crash), so calls work again as soon as the fault clears; while it
// persists they fail with the fault's code and a message naming the path.
// A write that failed may or may not be applied after the reopen
// (table_store.cc, docs/tables.md).
//
// Thread-safe. Close() waits for calls in progress; calls after it fail.

#ifndef SPOOL_TABLES_TABLE_STORE_H_
#define SPOOL_TABLES_TABLE_STORE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spool/file_system.h"
#include "util/mutex.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace spool {

class RocksDbFileSystem;

// The tables, one RocksDB column family each (RocksDB's "default" column
// family exists but stays empty).
enum class Table {
  kMeta,           // "meta": store-wide facts (format version, ...)
  kCatalog,        // "catalog": topic name -> TopicRecord (catalog.h)
  kOffsets,        // "offsets": committed consumer-group offsets
  kGroups,         // "groups": consumer-group metadata
  kProducers,      // "producers": idempotent-producer state
  kSubscriptions,  // "subscriptions": shared-subscription ack state, DLQ
  kDedup,          // "dedup": message-id de-duplication windows
};
inline constexpr size_t kNumTables = 7;
inline constexpr std::array<Table, kNumTables> kAllTables = {
    Table::kMeta,      Table::kCatalog,       Table::kOffsets, Table::kGroups,
    Table::kProducers, Table::kSubscriptions, Table::kDedup};

// The column family name: "meta", "catalog", ...
std::string_view TableName(Table table);

struct TableStoreOptions {
  // Where the files go; default (nullptr) FileSystem::Default(). Not owned;
  // must outlive the store.
  FileSystem* fs = nullptr;
  // The RocksDB directory. Created with its missing parents (durably) by a
  // read-write open.
  std::string path;
  // Open without writing anything and without taking the lock, so that an
  // offline tool can read tables an engine holds open. Sees what was written
  // up to the open (the WAL is replayed into memory); writes fail with
  // kFailedPrecondition. Fails with kNotFound if there are no tables.
  bool read_only = false;
  // The `sync` of Put / Delete / DeletePrefix / Write calls that do not say.
  bool sync_writes = true;
  // The block cache shared by all tables.
  size_t block_cache_bytes = size_t{8} << 20;
};

// Approximate figures for metrics; RocksDB's estimates.
struct TableStats {
  Table table = Table::kMeta;
  uint64_t estimated_keys = 0;  // rocksdb.estimate-num-keys
  uint64_t sst_bytes = 0;       // live SST files (rocksdb.live-sst-files-size)
  uint64_t memtable_bytes = 0;  // rocksdb.cur-size-all-mem-tables
};

class TableStore {
 public:
  // Changes to several tables, applied by Write() all or nothing, in the
  // order they were added. Keys and values are copied. Thread-compatible.
  class Batch {
   public:
    void Put(Table table, std::string_view key, std::string_view value);
    void Delete(Table table, std::string_view key);
    // Deletes every key of `table` that starts with `prefix` (a RocksDB
    // range deletion: cheap however many keys match).
    void DeletePrefix(Table table, std::string_view prefix);

    size_t size() const { return ops_.size(); }
    bool empty() const { return ops_.empty(); }
    void Clear() { ops_.clear(); }

   private:
    friend class TableStore;
    enum class Kind { kPut, kDelete, kDeletePrefix };
    struct Op {
      Kind kind;
      Table table;
      std::string key;  // the prefix for kDeletePrefix
      std::string value;
    };
    std::vector<Op> ops_;
  };

  // Opens the tables at options.path, creating the directory, the database
  // and any missing table on a read-write open. Fails with kInvalidArgument
  // for an empty path, kFailedPrecondition if another TableStore (in this
  // or another process) has the path open read-write, kNotFound for a
  // read-only open of missing tables, kDataLoss for corruption, and the I/O
  // codes of spool/file_system.h.
  static absl::StatusOr<std::unique_ptr<TableStore>> Open(
      TableStoreOptions options);

  // Closes; errors are dropped (call Close() to see them).
  ~TableStore();
  TableStore(const TableStore&) = delete;
  TableStore& operator=(const TableStore&) = delete;

  // Sets `key` to `value`. With sync, durable when OK is returned.
  absl::Status Put(Table table, std::string_view key, std::string_view value);
  absl::Status Put(Table table, std::string_view key, std::string_view value,
                   bool sync);

  // The value of `key`, or nullopt if it has none.
  absl::StatusOr<std::optional<std::string>> Get(Table table,
                                                 std::string_view key) const;

  // Removes `key` (OK if it has no value).
  absl::Status Delete(Table table, std::string_view key);
  absl::Status Delete(Table table, std::string_view key, bool sync);

  // Removes every key starting with `prefix` ("" clears the table).
  absl::Status DeletePrefix(Table table, std::string_view prefix);
  absl::Status DeletePrefix(Table table, std::string_view prefix, bool sync);

  // Applies `batch` atomically: after any crash either all of it or none of
  // it is visible. An empty batch is OK and writes nothing.
  absl::Status Write(const Batch& batch);
  absl::Status Write(const Batch& batch, bool sync);

  // Calls fn(key, value) for every key of `table` starting with `prefix`, in
  // ascending byte order, until fn returns false. Reads one consistent
  // snapshot. The views are valid only during the call. fn may call this
  // store (its writes are not seen by the scan), but not Close(), which
  // would wait for the scan to end.
  absl::Status Scan(
      Table table, std::string_view prefix,
      absl::FunctionRef<bool(std::string_view key, std::string_view value)> fn)
      const;

  // Writes every table's memtable to SST files and waits: everything
  // written before the call is durable when OK is returned.
  absl::Status Flush();

  // Closes the database and releases the lock. Idempotent. Afterwards every
  // call fails with kFailedPrecondition.
  absl::Status Close();

  // One entry per table, in kAllTables order.
  absl::StatusOr<std::vector<TableStats>> Stats() const;

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }

 private:
  struct Parts;  // what Open() assembles

  explicit TableStore(Parts parts);

  // Keeps the database open for the duration of one call: Close() waits
  // until no Pin is held. status() is OK if the store was open (and
  // writable, for a write); the Pin holds nothing otherwise.
  class Pin {
   public:
    Pin(const TableStore* store, std::string_view operation, bool write);
    ~Pin();
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    const absl::Status& status() const { return status_; }

   private:
    const TableStore* const store_;
    absl::Status status_;
  };

  // The handle of `table`; null for a table missing from a read-only open.
  // REQUIRES: a Pin is held.
  rocksdb::ColumnFamilyHandle* Handle(Table table) const;
  // Appends `batch` to `out`, turning prefixes into range deletions.
  // REQUIRES: a Pin is held.
  absl::Status ToWriteBatch(const Batch& batch, rocksdb::WriteBatch* out) const;
  absl::Status AddDeletePrefix(Table table, std::string_view prefix,
                               rocksdb::WriteBatch* out) const;
  // "put", "delete", "delete prefix" for a one-change batch, else "write".
  static std::string_view Verb(const Batch& batch);
  // What `batch` does, for error messages ("put catalog key \"t\"", ...).
  // REQUIRES: !batch.empty().
  static std::string DescribeWrite(const Batch& batch);
  // Destroys the handles and the database. REQUIRES: closed_ or
  // reopening_, no Pin held.
  absl::Status CloseDb() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After an I/O error stopped RocksDB (broken_), closes and opens the
  // database again once no call is using it. OK if it is open and not
  // broken (then or already); else why not.
  absl::Status ReopenIfBroken(std::string_view operation) const;
  // Marks the database for a reopen after an I/O error `s` of a call.
  void MarkBroken() const;

  // Set by RocksDB's threads when it stopped on an error of its own
  // (BackgroundErrorListener): the next call reopens, like broken_.
  const std::shared_ptr<std::atomic<bool>> background_failed_;
  // Constant after construction.
  const std::string path_;
  const bool read_only_;
  const bool sync_writes_;
  // RocksDB's view of the FileSystem and the Env built on it; they outlive
  // db_.
  const std::shared_ptr<RocksDbFileSystem> rocksdb_fs_;
  const std::unique_ptr<rocksdb::Env> env_;

  mutable Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  mutable int pins_ ABSL_GUARDED_BY(mu_) = 0;  // Pins held
  // Signalled when the last Pin goes after Close() began.
  mutable CondVar unpinned_;

  const size_t block_cache_bytes_;
  // An I/O error stopped RocksDB: reopen before the next call.
  mutable bool broken_ ABSL_GUARDED_BY(mu_) = false;
  // A reopen is waiting for Pins to go or opening; no new Pin meanwhile.
  mutable bool reopening_ ABSL_GUARDED_BY(mu_) = false;

  // Set at construction; used by calls holding a Pin; replaced by a reopen
  // and destroyed by Close(), each once no Pin is held and none can be
  // taken (so not guarded by mu_). Null after a failed reopen.
  mutable rocksdb::DB* db_ = nullptr;
  mutable std::array<rocksdb::ColumnFamilyHandle*, kNumTables> handles_ = {};
  // Every handle Open() got, ours and those of unknown column families.
  mutable std::vector<rocksdb::ColumnFamilyHandle*> all_handles_;
};

}  // namespace spool

#endif  // SPOOL_TABLES_TABLE_STORE_H_
