// Reading Spool's tables (docs/tables.md) offline for `spool offsets`,
// `spool groups`, `spool subscriptions` and the lag sections of `spool
// stats` and `spool metrics`: the RocksDB instance in <data dir>/spool-tables
// is opened read-only (no lock taken, nothing written, so it works while an
// engine holds the directory; it then shows the state at the moment of the
// open).
//
// Rows that do not decode are reported as problems (FindingSink) naming the
// table and key, and skipped; the other rows are still shown.

#ifndef SPOOL_TOOLS_TABLES_READER_H_
#define SPOOL_TOOLS_TABLES_READER_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/consumer_groups_codec.h"
#include "spool/consumer_groups.h"
#include "spool/file_system.h"
#include "tables/table_store.h"
#include "tools/findings.h"
#include "tools/path_kind.h"

namespace spool::cli {

// The directory the engine keeps its tables in, inside its first data
// directory.
inline constexpr char kTablesDirName[] = "spool-tables";

struct TablesTarget {
  std::string data_dir;    // the engine's first data directory
  std::string tables_dir;  // <data_dir>/spool-tables
  DataDirState state;
};

// Resolves the path given to a tables command: a data directory holding
// spool-tables/, or the spool-tables directory itself. Errors meant for the
// operator: kNotFound (no such path), kInvalidArgument (a file, a partition
// directory, a directory without tables: says where tables are kept),
// kPermissionDenied.
absl::StatusOr<TablesTarget> ResolveTables(FileSystem* fs,
                                           const std::string& path,
                                           std::string_view command);

// Opens the tables read-only. kDataLoss for corrupt tables, the I/O codes
// otherwise; messages name the directory.
absl::StatusOr<std::unique_ptr<TableStore>> OpenTablesReadOnly(
    FileSystem* fs, const TablesTarget& target);

// True if `data_dir` holds tables (for optional sections).
bool HasTables(FileSystem* fs, const std::string& data_dir);

struct OffsetRow {
  std::string group;
  TopicPartition tp;
  CommittedOffset offset;
};

// Every committed offset (of `group` only, if not empty), in key order:
// by group, topic, partition.
absl::StatusOr<std::vector<OffsetRow>> ReadOffsetRows(const TableStore& tables,
                                                      const std::string& group,
                                                      FindingSink* sink);

// Every group record (or only `group`), by name.
absl::StatusOr<std::map<std::string, StoredGroup>> ReadGroupRows(
    const TableStore& tables, const std::string& group, FindingSink* sink);

// A table key for messages: printable bytes as they are, others as \xNN.
std::string PrintableKey(std::string_view key);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_TABLES_READER_H_
