// TableStore: opening RocksDB with the tables as column families, and the
// reads and writes on them.

#include "tables/table_store.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "rocksdb/write_batch.h"
#include "tables/rocksdb_file_system.h"
#include "tables/rocksdb_status.h"
#include "tables/table_store_options.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace spool {
namespace {

using tables_internal::FromRocksDb;

constexpr size_t kMaxKeyInMessage = 64;

rocksdb::Slice ToSlice(std::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

std::string_view ToView(const rocksdb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

// `key` for an error message: escaped, and cut if long.
std::string DescribeKey(Table table, std::string_view key) {
  const bool cut = key.size() > kMaxKeyInMessage;
  return absl::StrFormat("%s key \"%s%s\"", TableName(table),
                         absl::CHexEscape(ToAbsl(key.substr(
                             0, std::min(key.size(), kMaxKeyInMessage)))),
                         cut ? "..." : "");
}

// The smallest string greater than every string starting with `prefix`, or
// nullopt if there is none ("" and all-0xff prefixes).
std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) {
    end.pop_back();
  }
  if (end.empty()) return std::nullopt;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

std::optional<Table> TableNamed(std::string_view name) {
  for (Table table : kAllTables) {
    if (TableName(table) == name) return table;
  }
  return std::nullopt;
}

}  // namespace

std::string_view TableName(Table table) {
  switch (table) {
    case Table::kMeta:
      return "meta";
    case Table::kCatalog:
      return "catalog";
    case Table::kOffsets:
      return "offsets";
    case Table::kGroups:
      return "groups";
    case Table::kProducers:
      return "producers";
    case Table::kSubscriptions:
      return "subscriptions";
    case Table::kDedup:
      return "dedup";
  }
  return "unknown";
}

// --- Batch ---------------------------------------------------------------

void TableStore::Batch::Put(Table table, std::string_view key,
                            std::string_view value) {
  ops_.push_back(Op{Kind::kPut, table, std::string(key), std::string(value)});
}

void TableStore::Batch::Delete(Table table, std::string_view key) {
  ops_.push_back(Op{Kind::kDelete, table, std::string(key), {}});
}

void TableStore::Batch::DeletePrefix(Table table, std::string_view prefix) {
  ops_.push_back(Op{Kind::kDeletePrefix, table, std::string(prefix), {}});
}

// --- Open and close --------------------------------------------------------

struct TableStore::Parts {
  std::shared_ptr<std::atomic<bool>> background_failed;
  std::string path;
  bool read_only = false;
  bool sync_writes = true;
  size_t block_cache_bytes = 0;
  std::shared_ptr<RocksDbFileSystem> rocksdb_fs;
  std::unique_ptr<rocksdb::Env> env;
  rocksdb::DB* db = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, kNumTables> handles = {};
  std::vector<rocksdb::ColumnFamilyHandle*> all_handles;
};

namespace {

// Sets the flag when RocksDB stops on an error of its own (a flush, a
// compaction, a manifest write) that no call of ours saw: the next call
// reopens first instead of failing with it. Called by RocksDB's threads,
// possibly with its mutex held: it only sets an atomic.
class BackgroundErrorListener : public rocksdb::EventListener {
 public:
  explicit BackgroundErrorListener(std::shared_ptr<std::atomic<bool>> flag)
      : flag_(std::move(flag)) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason /*reason*/,
                         rocksdb::Status* bg_error) override {
    if (bg_error != nullptr && !bg_error->ok()) flag_->store(true);
  }

 private:
  const std::shared_ptr<std::atomic<bool>> flag_;
};

// The column families in the database at `path`; none if there is no
// database yet and the open may create one.
absl::StatusOr<std::vector<std::string>> ExistingFamilies(
    const rocksdb::DBOptions& options, const std::string& path, bool read_only,
    std::string_view operation) {
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, path, &names);
  if (s.ok()) return names;
  if (!read_only && (s.IsNotFound() || s.IsPathNotFound())) {
    return std::vector<std::string>();
  }
  return FromRocksDb(s, operation, path);
}

// What to open: every existing column family (RocksDB requires all of them
// for a read-write open, including ones a newer Spool added) and, when
// writable, every table, created if missing.
std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(
    const std::vector<std::string>& existing, bool read_only,
    const rocksdb::ColumnFamilyOptions& options) {
  std::vector<std::string> names = existing;
  if (!read_only) {
    names.push_back(rocksdb::kDefaultColumnFamilyName);
    for (Table table : kAllTables) names.emplace_back(TableName(table));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, options);
  return descriptors;
}

absl::Status OpenDb(const TableStoreOptions& options, rocksdb::Env* env,
                    const std::shared_ptr<std::atomic<bool>>& background_failed,
                    rocksdb::DB** db,
                    std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  const std::string operation = options.read_only ? "open (read-only)" : "open";
  rocksdb::DBOptions db_options =
      tables_internal::MakeDbOptions(env, options.read_only);
  db_options.listeners.push_back(
      std::make_shared<BackgroundErrorListener>(background_failed));
  SPOOL_ASSIGN_OR_RETURN(
      std::vector<std::string> existing,
      ExistingFamilies(db_options, options.path, options.read_only, operation));
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors =
      Descriptors(existing, options.read_only,
                  tables_internal::MakeTableOptions(
                      rocksdb::NewLRUCache(options.block_cache_bytes)));
  rocksdb::Status s =
      options.read_only ? rocksdb::DB::OpenForReadOnly(db_options, options.path,
                                                       descriptors, handles, db)
                        : rocksdb::DB::Open(db_options, options.path,
                                            descriptors, handles, db);
  return FromRocksDb(s, operation, options.path);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TableStore>> TableStore::Open(
    TableStoreOptions options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("open tables: the path is empty");
  }
  FileSystem* fs = options.fs != nullptr ? options.fs : FileSystem::Default();
  if (!options.read_only) {
    absl::Status s = fs->CreateDirs(options.path);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrFormat("open tables at %s: %s",
                                                    options.path, s.message()));
    }
  }
  Parts parts;
  parts.path = options.path;
  parts.read_only = options.read_only;
  parts.sync_writes = options.sync_writes;
  parts.block_cache_bytes = options.block_cache_bytes;
  parts.rocksdb_fs = std::make_shared<RocksDbFileSystem>(fs);
  parts.env = NewRocksDbEnv(parts.rocksdb_fs);
  parts.background_failed = std::make_shared<std::atomic<bool>>(false);
  SPOOL_RETURN_IF_ERROR(OpenDb(options, parts.env.get(),
                               parts.background_failed, &parts.db,
                               &parts.all_handles));
  for (rocksdb::ColumnFamilyHandle* handle : parts.all_handles) {
    std::optional<Table> table = TableNamed(handle->GetName());
    if (table) parts.handles[static_cast<size_t>(*table)] = handle;
  }
  return std::unique_ptr<TableStore>(new TableStore(std::move(parts)));
}

TableStore::TableStore(Parts parts)
    : background_failed_(std::move(parts.background_failed)),
      path_(std::move(parts.path)),
      read_only_(parts.read_only),
      sync_writes_(parts.sync_writes),
      rocksdb_fs_(std::move(parts.rocksdb_fs)),
      env_(std::move(parts.env)),
      block_cache_bytes_(parts.block_cache_bytes),
      db_(parts.db),
      handles_(parts.handles),
      all_handles_(std::move(parts.all_handles)) {}

TableStore::~TableStore() {
  // Nobody is left to report to; Close() is where callers see errors.
  Close().IgnoreError();
}

absl::Status TableStore::Close() {
  MutexLock lock(&mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;  // no new Pin from here on
  while (pins_ > 0 || reopening_) unpinned_.Wait(&mu_);
  return CloseDb();
}

absl::Status TableStore::CloseDb() const {
  if (db_ == nullptr) return absl::OkStatus();  // a reopen failed
  for (rocksdb::ColumnFamilyHandle* handle : all_handles_) {
    // Only fails for the DB's own default handle, which is not among these.
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  all_handles_.clear();
  handles_ = {};
  rocksdb::Status s = db_->Close();
  delete db_;
  db_ = nullptr;
  return FromRocksDb(s, "close", path_);
}

// --- Reopening after an I/O error -------------------------------------------
//
// After an I/O error in a write, a flush or a compaction RocksDB refuses
// writes (its background error). DB::Resume() is no way out in the RocksDB
// this builds with: after a failed WAL append or sync it can keep writing
// to the WAL writer that saw the error, which fails (or, with assertions,
// aborts) every later write. Closing and opening the database is the path
// a crash takes, and is tested as such: the WAL is replayed up to its first
// bad record (point-in-time recovery), the replayed data is flushed to new
// SST files and the WAL that saw the error is retired, and writes go to a
// new WAL. Everything acknowledged before the error is in the replayed
// prefix (the fault-injecting file system, like a process crash, keeps
// unsynced data; a real failed fdatasync may have dropped it, docs/io.md).
// The write that failed may be replayed too (its outcome was unknown).

void TableStore::MarkBroken() const {
  MutexLock lock(&mu_);
  broken_ = true;
}

absl::Status TableStore::ReopenIfBroken(std::string_view operation) const {
  MutexLock lock(&mu_);
  while (reopening_) unpinned_.Wait(&mu_);
  if (background_failed_->load()) broken_ = true;
  if (!broken_ || closed_) return absl::OkStatus();
  reopening_ = true;  // no new Pin from here on
  // Calls in progress end soon; a Pin held by this thread (a Scan callback
  // that writes) would never go: give up after a while, the next call
  // tries again.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (pins_ > 0 && !closed_) {
    if (unpinned_.WaitWithDeadline(&mu_, deadline)) break;
  }
  absl::Status s;
  if (closed_) {
    s = absl::OkStatus();  // Close() takes over
  } else if (pins_ > 0) {
    s = absl::UnavailableError(absl::StrFormat(
        "%s tables at %s: reopening after an I/O error: calls still in "
        "progress",
        operation, path_));
  } else {
    CloseDb().IgnoreError();  // it reports the error that stopped it
    TableStoreOptions options;
    options.path = path_;
    options.block_cache_bytes = block_cache_bytes_;
    rocksdb::DB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    background_failed_->store(false);
    s = OpenDb(options, env_.get(), background_failed_, &db, &handles);
    if (s.ok()) {
      db_ = db;
      all_handles_ = std::move(handles);
      for (rocksdb::ColumnFamilyHandle* handle : all_handles_) {
        std::optional<Table> table = TableNamed(handle->GetName());
        if (table) handles_[static_cast<size_t>(*table)] = handle;
      }
      broken_ = false;
    } else {
      // RocksDB's open probes the file system and can turn an I/O error
      // into another code ("Direct I/O is not supported", "options
      // incompatible with filesystem"): the cause is the fault, unavailable
      // until it clears. A full disk and corruption keep their codes.
      const absl::StatusCode code =
          absl::IsResourceExhausted(s) || absl::IsDataLoss(s)
              ? s.code()
              : absl::StatusCode::kUnavailable;
      s = absl::Status(
          code,
          absl::StrFormat("%s tables at %s: reopening after an I/O error: %s",
                          operation, path_, s.message()));
    }
  }
  reopening_ = false;
  unpinned_.SignalAll();
  return s;
}

// --- Pins ----------------------------------------------------------------

TableStore::Pin::Pin(const TableStore* store, std::string_view operation,
                     bool write)
    : store_(store) {
  MutexLock lock(&store->mu_);
  while (store->reopening_ && !store->closed_)
    store->unpinned_.Wait(&store->mu_);
  if (store->closed_) {
    status_ = absl::FailedPreconditionError(absl::StrFormat(
        "%s tables at %s: the tables are closed", operation, store->path_));
  } else if (write && store->read_only_) {
    status_ = absl::FailedPreconditionError(
        absl::StrFormat("%s tables at %s: the tables are open read-only",
                        operation, store->path_));
  } else if (store->db_ == nullptr) {
    status_ = absl::UnavailableError(absl::StrFormat(
        "%s tables at %s: the tables could not be reopened after an I/O "
        "error; the next call tries again",
        operation, store->path_));
  } else {
    ++store->pins_;
  }
}

TableStore::Pin::~Pin() {
  if (!status_.ok()) return;
  MutexLock lock(&store_->mu_);
  if (--store_->pins_ == 0 && (store_->closed_ || store_->reopening_)) {
    store_->unpinned_.SignalAll();
  }
}

rocksdb::ColumnFamilyHandle* TableStore::Handle(Table table) const {
  return handles_[static_cast<size_t>(table)];
}

// --- Writes --------------------------------------------------------------

absl::Status TableStore::Put(Table table, std::string_view key,
                             std::string_view value) {
  return Put(table, key, value, sync_writes_);
}

absl::Status TableStore::Put(Table table, std::string_view key,
                             std::string_view value, bool sync) {
  Batch batch;
  batch.Put(table, key, value);
  return Write(batch, sync);
}

absl::Status TableStore::Delete(Table table, std::string_view key) {
  return Delete(table, key, sync_writes_);
}

absl::Status TableStore::Delete(Table table, std::string_view key, bool sync) {
  Batch batch;
  batch.Delete(table, key);
  return Write(batch, sync);
}

absl::Status TableStore::DeletePrefix(Table table, std::string_view prefix) {
  return DeletePrefix(table, prefix, sync_writes_);
}

absl::Status TableStore::DeletePrefix(Table table, std::string_view prefix,
                                      bool sync) {
  Batch batch;
  batch.DeletePrefix(table, prefix);
  return Write(batch, sync);
}

absl::Status TableStore::Write(const Batch& batch) {
  return Write(batch, sync_writes_);
}

absl::Status TableStore::Write(const Batch& batch, bool sync) {
  SPOOL_RETURN_IF_ERROR(ReopenIfBroken(Verb(batch)));
  Pin pin(this, Verb(batch), /*write=*/true);
  SPOOL_RETURN_IF_ERROR(pin.status());
  if (batch.empty()) return absl::OkStatus();
  rocksdb::WriteBatch write_batch;
  SPOOL_RETURN_IF_ERROR(ToWriteBatch(batch, &write_batch));
  rocksdb::WriteOptions options;
  options.sync = sync;
  rocksdb::Status s = db_->Write(options, &write_batch);
  if (s.ok()) return absl::OkStatus();
  if (s.IsIOError()) MarkBroken();
  return FromRocksDb(s, DescribeWrite(batch), path_);
}

std::string_view TableStore::Verb(const Batch& batch) {
  if (batch.size() != 1) return "write";
  switch (batch.ops_.front().kind) {
    case Batch::Kind::kPut:
      return "put";
    case Batch::Kind::kDelete:
      return "delete";
    case Batch::Kind::kDeletePrefix:
      break;
  }
  return "delete prefix";
}

std::string TableStore::DescribeWrite(const Batch& batch) {
  const Batch::Op& op = batch.ops_.front();
  if (batch.size() > 1) {
    return absl::StrFormat("write batch of %d changes", batch.size());
  }
  switch (op.kind) {
    case Batch::Kind::kPut:
      return "put " + DescribeKey(op.table, op.key);
    case Batch::Kind::kDelete:
      return "delete " + DescribeKey(op.table, op.key);
    case Batch::Kind::kDeletePrefix:
      break;
  }
  return "delete prefix of " + DescribeKey(op.table, op.key);
}

absl::Status TableStore::ToWriteBatch(const Batch& batch,
                                      rocksdb::WriteBatch* out) const {
  for (const Batch::Op& op : batch.ops_) {
    rocksdb::ColumnFamilyHandle* handle = Handle(op.table);
    rocksdb::Status s;
    switch (op.kind) {
      case Batch::Kind::kPut:
        s = out->Put(handle, ToSlice(op.key), ToSlice(op.value));
        break;
      case Batch::Kind::kDelete:
        s = out->Delete(handle, ToSlice(op.key));
        break;
      case Batch::Kind::kDeletePrefix:
        SPOOL_RETURN_IF_ERROR(AddDeletePrefix(op.table, op.key, out));
        break;
    }
    if (!s.ok()) return FromRocksDb(s, "build write batch", path_);
  }
  return absl::OkStatus();
}

// A prefix with a successor is one range deletion. Without one ("" or all
// 0xff bytes) the range ends just past the table's current last key: a key
// written concurrently beyond it may survive, as if written just after.
absl::Status TableStore::AddDeletePrefix(Table table, std::string_view prefix,
                                         rocksdb::WriteBatch* out) const {
  rocksdb::ColumnFamilyHandle* handle = Handle(table);
  std::optional<std::string> end = PrefixSuccessor(prefix);
  if (!end) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), handle));
    it->SeekToLast();
    if (!it->status().ok()) {
      return FromRocksDb(it->status(),
                         "delete prefix of " + DescribeKey(table, prefix),
                         path_);
    }
    if (!it->Valid() || ToView(it->key()) < prefix) return absl::OkStatus();
    end = std::string(ToView(it->key())) + '\0';
  }
  rocksdb::Status s = out->DeleteRange(handle, ToSlice(prefix), ToSlice(*end));
  return FromRocksDb(s, "build write batch", path_);
}

absl::Status TableStore::Flush() {
  SPOOL_RETURN_IF_ERROR(ReopenIfBroken("flush"));
  Pin pin(this, "flush", /*write=*/true);
  SPOOL_RETURN_IF_ERROR(pin.status());
  std::vector<rocksdb::ColumnFamilyHandle*> handles(handles_.begin(),
                                                    handles_.end());
  rocksdb::FlushOptions options;
  options.wait = true;
  rocksdb::Status s = db_->Flush(options, handles);
  if (s.IsIOError()) MarkBroken();
  return FromRocksDb(s, "flush", path_);
}

// --- Reads ---------------------------------------------------------------

absl::StatusOr<std::optional<std::string>> TableStore::Get(
    Table table, std::string_view key) const {
  SPOOL_RETURN_IF_ERROR(ReopenIfBroken("get"));
  Pin pin(this, "get", /*write=*/false);
  SPOOL_RETURN_IF_ERROR(pin.status());
  rocksdb::ColumnFamilyHandle* handle = Handle(table);
  if (handle == nullptr) return std::optional<std::string>();
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), handle, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocksDb(s, "get " + DescribeKey(table, key), path_);
  return std::optional<std::string>(std::move(value));
}

absl::Status TableStore::Scan(
    Table table, std::string_view prefix,
    absl::FunctionRef<bool(std::string_view, std::string_view)> fn) const {
  SPOOL_RETURN_IF_ERROR(ReopenIfBroken("scan"));
  Pin pin(this, "scan", /*write=*/false);
  SPOOL_RETURN_IF_ERROR(pin.status());
  rocksdb::ColumnFamilyHandle* handle = Handle(table);
  if (handle == nullptr) return absl::OkStatus();
  const std::optional<std::string> end = PrefixSuccessor(prefix);
  rocksdb::Slice upper_bound;
  rocksdb::ReadOptions options;
  if (end) {
    upper_bound = ToSlice(*end);
    options.iterate_upper_bound = &upper_bound;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, handle));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    const std::string_view key = ToView(it->key());
    if (!key.starts_with(prefix)) break;
    if (!fn(key, ToView(it->value()))) break;
  }
  if (it->status().ok()) return absl::OkStatus();
  return FromRocksDb(it->status(),
                     "scan prefix of " + DescribeKey(table, prefix), path_);
}

absl::StatusOr<std::vector<TableStats>> TableStore::Stats() const {
  SPOOL_RETURN_IF_ERROR(ReopenIfBroken("stats"));
  Pin pin(this, "stats", /*write=*/false);
  SPOOL_RETURN_IF_ERROR(pin.status());
  std::vector<TableStats> stats;
  for (Table table : kAllTables) {
    TableStats entry;
    entry.table = table;
    rocksdb::ColumnFamilyHandle* handle = Handle(table);
    if (handle != nullptr) {
      // A property RocksDB cannot compute leaves the figure at 0.
      db_->GetIntProperty(handle, rocksdb::DB::Properties::kEstimateNumKeys,
                          &entry.estimated_keys);
      db_->GetIntProperty(handle, rocksdb::DB::Properties::kLiveSstFilesSize,
                          &entry.sst_bytes);
      db_->GetIntProperty(handle, rocksdb::DB::Properties::kCurSizeAllMemTables,
                          &entry.memtable_bytes);
    }
    stats.push_back(entry);
  }
  return stats;
}

}  // namespace spool
