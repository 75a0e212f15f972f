// The RocksDB options of TableStore (see table_store.h for the reasons).

#include "tables/table_store_options.h"

#include <algorithm>
#include <vector>

#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "tables/rocksdb_files.h"

namespace spool::tables_internal {
namespace {

// LZ4 if this RocksDB build has it (Debian's does), else no compression.
rocksdb::CompressionType ChooseCompression() {
  const std::vector<rocksdb::CompressionType> supported =
      rocksdb::GetSupportedCompressions();
  const bool lz4 = std::find(supported.begin(), supported.end(),
                             rocksdb::kLZ4Compression) != supported.end();
  return lz4 ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
}

}  // namespace

rocksdb::DBOptions MakeDbOptions(rocksdb::Env* env, bool read_only) {
  rocksdb::DBOptions o;
  o.env = env;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.paranoid_checks = true;
  // Power loss leaves the WAL's unsynced tail torn or with holes; recover
  // the longest clean prefix, which holds every synced write.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  o.recycle_log_file_num = 0;
  o.manual_wal_flush = false;
  o.allow_mmap_reads = false;
  o.allow_mmap_writes = false;
  o.use_direct_reads = false;
  o.use_direct_io_for_flush_and_compaction = false;
  o.max_open_files = kMaxOpenFiles;
  o.max_background_jobs = kMaxBackgroundJobs;
  o.db_write_buffer_size = kAllWriteBuffersBytes;
  o.max_total_wal_size = kMaxTotalWalBytes;
  o.keep_log_file_num = kInfoLogFilesKept;
  o.max_log_file_size = kMaxInfoLogBytes;
  o.info_log_level = rocksdb::InfoLogLevel::INFO_LEVEL;
  o.stats_dump_period_sec = 0;
  o.stats_persist_period_sec = 0;
  // Writers wait in the WAL queue only for earlier WAL writes, not for
  // their memtable inserts too. Subscriptions write a few rows per
  // Receive from every consumer thread: 4 consumers on 2 cores went 0.45x
  // -> 0.48x of plain fetch (docs/queues.md, Performance). Snapshots keep
  // their guarantees (unlike unordered_write).
  o.enable_pipelined_write = true;
  if (read_only) o.info_log = NewNullLogger();
  return o;
}

rocksdb::ColumnFamilyOptions MakeTableOptions(
    const std::shared_ptr<rocksdb::Cache>& block_cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = block_cache;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::ColumnFamilyOptions o;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  o.write_buffer_size = kWriteBufferBytes;
  o.max_write_buffer_number = 2;
  o.compression = ChooseCompression();
  o.bottommost_compression = o.compression;
  o.level_compaction_dynamic_level_bytes = true;
  o.target_file_size_base = uint64_t{8} << 20;
  o.max_bytes_for_level_base = uint64_t{32} << 20;
  return o;
}

}  // namespace spool::tables_internal
