// The RocksDB options TableStore opens with. The choices and their reasons
// are listed in table_store.h and docs/tables.md.

#ifndef SPOOL_TABLES_TABLE_STORE_OPTIONS_H_
#define SPOOL_TABLES_TABLE_STORE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "rocksdb/cache.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"

namespace spool::tables_internal {

inline constexpr size_t kWriteBufferBytes = size_t{2} << 20;
inline constexpr size_t kAllWriteBuffersBytes = size_t{16} << 20;
inline constexpr uint64_t kMaxTotalWalBytes = uint64_t{32} << 20;
inline constexpr int kMaxOpenFiles = 256;
inline constexpr int kMaxBackgroundJobs = 2;
inline constexpr size_t kMaxInfoLogBytes = size_t{1} << 20;
inline constexpr size_t kInfoLogFilesKept = 3;

// Database-wide options. `env` (not owned) must outlive the database. A
// read-only open gets a null info log: it must not write anything.
rocksdb::DBOptions MakeDbOptions(rocksdb::Env* env, bool read_only);

// The options of every column family (tables and unknown ones alike);
// `block_cache` is shared by all of them.
rocksdb::ColumnFamilyOptions MakeTableOptions(
    const std::shared_ptr<rocksdb::Cache>& block_cache);

}  // namespace spool::tables_internal

#endif  // SPOOL_TABLES_TABLE_STORE_OPTIONS_H_
