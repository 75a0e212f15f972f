#include "tools/tables_reader.h"

#include "absl/strings/str_format.h"
#include "tools/output.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

bool IsDir(FileSystem* fs, const std::string& path) {
  absl::StatusOr<FileInfo> info = fs->Stat(path);
  return info.ok() && info->is_directory;
}

// A RocksDB directory: has CURRENT.
bool LooksLikeTables(FileSystem* fs, const std::string& dir) {
  return fs->Exists(JoinPath(dir, "CURRENT")).value_or(false);
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

absl::Status NoTables(FileSystem* fs, const std::string& path,
                      std::string_view command) {
  absl::StatusOr<ClassifiedPath> kind = ClassifyPath(fs, path);
  if (kind.ok() && kind->kind == PathKind::kPartitionDir) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is a partition directory; %s reads the tables in the engine's "
        "first data directory (e.g. %s)",
        path, command, JoinPath(DirName(path), kTablesDirName)));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s holds no Spool tables (no %s/ directory): give the engine's first "
      "data directory, where it keeps them (a directory written by Kafka "
      "keeps consumer offsets in the __consumer_offsets topic instead)",
      path, kTablesDirName));
}

}  // namespace

absl::StatusOr<TablesTarget> ResolveTables(FileSystem* fs,
                                           const std::string& path,
                                           std::string_view command) {
  const std::string p = StripTrailingSlashes(path);
  absl::StatusOr<FileInfo> info = fs->Stat(p);
  if (!info.ok()) {
    if (absl::IsNotFound(info.status())) {
      return absl::NotFoundError(
          absl::StrFormat("%s: no such file or directory", p));
    }
    if (absl::IsPermissionDenied(info.status())) {
      return absl::PermissionDeniedError(
          absl::StrFormat("%s: permission denied", p));
    }
    return info.status();
  }
  if (!info->is_directory) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is a file; %s takes a data directory holding %s/ (the engine's "
        "first data directory)",
        p, command, kTablesDirName));
  }
  TablesTarget t;
  if (BaseName(p) == kTablesDirName || LooksLikeTables(fs, p)) {
    t.tables_dir = p;
    t.data_dir = DirName(p);
  } else if (IsDir(fs, JoinPath(p, kTablesDirName))) {
    t.data_dir = p;
    t.tables_dir = JoinPath(p, kTablesDirName);
  } else {
    return NoTables(fs, p, command);
  }
  t.state = ProbeDataDir(fs, ClassifiedPath{t.data_dir, PathKind::kDataDir});
  return t;
}

absl::StatusOr<std::unique_ptr<TableStore>> OpenTablesReadOnly(
    FileSystem* fs, const TablesTarget& target) {
  TableStoreOptions options;
  options.fs = fs;
  options.path = target.tables_dir;
  options.read_only = true;
  options.block_cache_bytes = size_t{1} << 20;
  return TableStore::Open(std::move(options));
}

bool HasTables(FileSystem* fs, const std::string& data_dir) {
  return !data_dir.empty() &&
         LooksLikeTables(fs, JoinPath(data_dir, kTablesDirName));
}

std::string PrintableKey(std::string_view key) {
  std::string out;
  AppendData(&out, key, DataFormat::kUtf8);
  return out;
}

absl::StatusOr<std::vector<OffsetRow>> ReadOffsetRows(const TableStore& tables,
                                                      const std::string& group,
                                                      FindingSink* sink) {
  std::vector<OffsetRow> rows;
  const std::string prefix = group.empty() ? "" : GroupOffsetsPrefix(group);
  SPOOL_RETURN_IF_ERROR(tables.Scan(
      spool::Table::kOffsets, prefix,
      [&](std::string_view key, std::string_view value) {
        absl::StatusOr<DecodedOffsetKey> k = DecodeOffsetKey(key);
        absl::StatusOr<CommittedOffset> v =
            k.ok() ? DecodeOffsetValue(value) : k.status();
        if (!v.ok()) {
          sink->Problem(
              tables.path(), -1, "table-row",
              absl::StrFormat("offsets key \"%s\": %s", PrintableKey(key),
                              v.status().message()));
          return true;
        }
        rows.push_back({std::move(k->group), std::move(k->tp), *std::move(v)});
        return true;
      }));
  return rows;
}

absl::StatusOr<std::map<std::string, StoredGroup>> ReadGroupRows(
    const TableStore& tables, const std::string& group, FindingSink* sink) {
  std::map<std::string, StoredGroup> out;
  auto add = [&](std::string_view key, std::string_view value) {
    if (!group.empty() && key != group) return true;  // another group
    absl::StatusOr<StoredGroup> g = DecodeGroup(value);
    if (!g.ok()) {
      sink->Problem(tables.path(), -1, "table-row",
                    absl::StrFormat("groups key \"%s\": %s", PrintableKey(key),
                                    g.status().message()));
      return true;
    }
    out.emplace(std::string(key), *std::move(g));
    return true;
  };
  // A group name is a key and may be the prefix of other names: scan by
  // prefix and keep the exact match.
  SPOOL_RETURN_IF_ERROR(tables.Scan(spool::Table::kGroups, group, add));
  return out;
}

}  // namespace spool::cli
