// The RocksDB options TableStore opens with are the documented ones
// (table_store.h, docs/tables.md).

#include "tables/table_store_options.h"

#include "gtest/gtest.h"
#include "rocksdb/table.h"

namespace spool::tables_internal {
namespace {

TEST(TableStoreOptionsTest, DatabaseOptionsAreTheDocumentedOnes) {
  rocksdb::Env* env = rocksdb::Env::Default();
  const rocksdb::DBOptions o = MakeDbOptions(env, /*read_only=*/false);
  EXPECT_EQ(o.env, env);
  EXPECT_EQ(o.wal_recovery_mode,
            rocksdb::WALRecoveryMode::kPointInTimeRecovery);
  EXPECT_EQ(o.recycle_log_file_num, 0u);
  EXPECT_TRUE(o.create_if_missing);
  EXPECT_TRUE(o.create_missing_column_families);
  EXPECT_TRUE(o.paranoid_checks);
  EXPECT_FALSE(o.allow_mmap_reads);
  EXPECT_FALSE(o.allow_mmap_writes);
  EXPECT_FALSE(o.use_direct_reads);
  EXPECT_FALSE(o.use_direct_io_for_flush_and_compaction);
  EXPECT_FALSE(o.manual_wal_flush);
  EXPECT_EQ(o.max_open_files, 256);
  EXPECT_EQ(o.db_write_buffer_size, size_t{16} << 20);
  EXPECT_EQ(o.max_total_wal_size, uint64_t{32} << 20);
  EXPECT_EQ(o.info_log, nullptr) << "RocksDB opens LOG through the Env";
  EXPECT_EQ(o.keep_log_file_num, 3u);
  EXPECT_EQ(o.stats_dump_period_sec, 0u);
}

TEST(TableStoreOptionsTest, ReadOnlyOpensLogNothing) {
  const rocksdb::DBOptions o =
      MakeDbOptions(rocksdb::Env::Default(), /*read_only=*/true);
  ASSERT_NE(o.info_log, nullptr);
  EXPECT_EQ(o.info_log->GetLogFileSize(),
            o.info_log->kDoNotSupportGetLogFileSize);
}

TEST(TableStoreOptionsTest, TableOptionsShareTheCacheAndBoundMemory) {
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(1 << 20);
  const rocksdb::ColumnFamilyOptions o = MakeTableOptions(cache);
  EXPECT_EQ(o.write_buffer_size, size_t{2} << 20);
  EXPECT_EQ(o.max_write_buffer_number, 2);
  EXPECT_EQ(o.compression, rocksdb::kLZ4Compression)
      << "Debian's RocksDB is built with LZ4";
  EXPECT_EQ(o.bottommost_compression, rocksdb::kLZ4Compression);
  const auto* table =
      o.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->block_cache, cache);
  EXPECT_TRUE(table->cache_index_and_filter_blocks);
  EXPECT_NE(table->filter_policy, nullptr);
}

}  // namespace
}  // namespace spool::tables_internal
