#include "tools/kafka_files.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "format/coding.h"
#include "format/crc32c.h"
#include "util/strings.h"

namespace spool::cli {
namespace {

constexpr int kSnapshotHeaderSize = 10;  // version, crc, count
constexpr int kSnapshotEntrySize = 46;

struct Line {
  std::string_view text;
  int64_t position;
};

std::vector<Line> SplitLines(std::string_view text) {
  std::vector<Line> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back({text.substr(pos, end - pos), static_cast<int64_t>(pos)});
    pos = end + 1;
  }
  return lines;
}

// Checks the version and count lines of Kafka's checkpoint text and returns
// the entry lines split on spaces (each with `fields` fields), reporting
// problems to `sink`.
std::vector<std::pair<std::vector<std::string>, int64_t>> ParseCheckpointText(
    std::string_view text, const std::string& file, size_t fields,
    FindingSink* sink) {
  std::vector<std::pair<std::vector<std::string>, int64_t>> out;
  std::vector<Line> lines = SplitLines(text);
  if (lines.empty()) return out;  // an empty file has no entries
  if (lines[0].text != "0") {
    sink->Problem(file, 0, "checkpoint-format", "unsupported version", "0",
                  absl::StrFormat("'%s'", lines[0].text));
    return out;
  }
  int64_t count = -1;
  if (lines.size() < 2 || !absl::SimpleAtoi(ToAbsl(lines[1].text), &count) ||
      count < 0) {
    sink->Problem(file, lines.size() < 2 ? 0 : lines[1].position,
                  "checkpoint-format", "line 2 is not an entry count");
    return out;
  }
  for (size_t i = 2; i < lines.size(); ++i) {
    std::vector<std::string> parts =
        absl::StrSplit(ToAbsl(lines[i].text), ' ', absl::SkipEmpty());
    if (parts.size() != fields) {
      sink->Problem(file, lines[i].position, "checkpoint-format",
                    absl::StrFormat("line %d is not an entry of %d fields: "
                                    "'%s'",
                                    i + 1, fields, lines[i].text));
      continue;
    }
    out.emplace_back(std::move(parts), lines[i].position);
  }
  if (static_cast<int64_t>(lines.size()) - 2 != count) {
    sink->Problem(file, lines[1].position, "checkpoint-format",
                  "entry count does not match the entry lines",
                  absl::StrFormat("%d", count),
                  absl::StrFormat("%d", lines.size() - 2));
  }
  return out;
}

absl::StatusOr<std::string> ReadIfExists(FileSystem* fs,
                                         const std::string& path) {
  absl::StatusOr<std::string> text = fs->ReadFile(path);
  if (absl::IsNotFound(text.status())) return std::string();
  return text;
}

}  // namespace

absl::StatusOr<std::vector<CheckpointOffset>> ReadCheckpointFile(
    FileSystem* fs, const std::string& path, FindingSink* sink) {
  absl::StatusOr<std::string> text = ReadIfExists(fs, path);
  if (!text.ok()) return text.status();
  std::vector<CheckpointOffset> out;
  for (auto& [parts, position] : ParseCheckpointText(*text, path, 3, sink)) {
    CheckpointOffset e;
    e.tp.topic = parts[0];
    e.position = position;
    if (!absl::SimpleAtoi(parts[1], &e.tp.partition) || e.tp.partition < 0 ||
        !absl::SimpleAtoi(parts[2], &e.offset)) {
      sink->Problem(path, position, "checkpoint-format",
                    absl::StrFormat("malformed entry '%s %s %s'", parts[0],
                                    parts[1], parts[2]));
      continue;
    }
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<LeaderEpoch>> ReadLeaderEpochFile(
    FileSystem* fs, const std::string& path, FindingSink* sink) {
  absl::StatusOr<std::string> text = ReadIfExists(fs, path);
  if (!text.ok()) return text.status();
  std::vector<LeaderEpoch> out;
  for (auto& [parts, position] : ParseCheckpointText(*text, path, 2, sink)) {
    LeaderEpoch e;
    e.position = position;
    if (!absl::SimpleAtoi(parts[0], &e.epoch) ||
        !absl::SimpleAtoi(parts[1], &e.start_offset)) {
      sink->Problem(
          path, position, "checkpoint-format",
          absl::StrFormat("malformed entry '%s %s'", parts[0], parts[1]));
      continue;
    }
    if (!out.empty() && (e.epoch <= out.back().epoch ||
                         e.start_offset < out.back().start_offset)) {
      sink->Problem(path, position, "checkpoint-offset",
                    "leader epochs and their start offsets must increase",
                    absl::StrFormat("after epoch %d at %d", out.back().epoch,
                                    out.back().start_offset),
                    absl::StrFormat("epoch %d at %d", e.epoch, e.start_offset));
    }
    out.push_back(e);
  }
  return out;
}

absl::StatusOr<ProducerSnapshot> ParseProducerSnapshot(std::string_view data) {
  if (data.size() < kSnapshotHeaderSize) {
    return absl::DataLossError(
        absl::StrFormat("snapshot is %d bytes, shorter than its %d-byte header",
                        data.size(), kSnapshotHeaderSize));
  }
  ProducerSnapshot s;
  s.version = static_cast<int16_t>(DecodeFixed16BE(data.data()));
  if (s.version != 1) {
    return absl::DataLossError(
        absl::StrFormat("at byte 0: unsupported snapshot version %d "
                        "(expected 1)",
                        s.version));
  }
  s.crc = DecodeFixed32BE(data.data() + 2);
  s.computed_crc = crc32c::Value(data.substr(6));
  const int32_t count = static_cast<int32_t>(DecodeFixed32BE(data.data() + 6));
  const size_t expected =
      kSnapshotHeaderSize +
      static_cast<size_t>(std::max(count, 0)) * kSnapshotEntrySize;
  if (count < 0 || expected != data.size()) {
    return absl::DataLossError(
        absl::StrFormat("at byte 6: %d entries need %d bytes, the file has %d",
                        count, expected, data.size()));
  }
  for (int32_t i = 0; i < count; ++i) {
    const char* p = data.data() + kSnapshotHeaderSize + i * kSnapshotEntrySize;
    SnapshotEntry e;
    e.producer_id = static_cast<int64_t>(DecodeFixed64BE(p));
    e.producer_epoch = static_cast<int16_t>(DecodeFixed16BE(p + 8));
    e.last_sequence = static_cast<int32_t>(DecodeFixed32BE(p + 10));
    e.last_offset = static_cast<int64_t>(DecodeFixed64BE(p + 14));
    e.offset_delta = static_cast<int32_t>(DecodeFixed32BE(p + 22));
    e.timestamp = static_cast<int64_t>(DecodeFixed64BE(p + 26));
    e.coordinator_epoch = static_cast<int32_t>(DecodeFixed32BE(p + 34));
    e.current_txn_first_offset = static_cast<int64_t>(DecodeFixed64BE(p + 38));
    s.entries.push_back(e);
  }
  return s;
}

AbortedTxn DecodeAbortedTxn(std::string_view bytes) {
  const char* p = bytes.data();
  AbortedTxn t;
  t.version = static_cast<int16_t>(DecodeFixed16BE(p));
  t.producer_id = static_cast<int64_t>(DecodeFixed64BE(p + 2));
  t.first_offset = static_cast<int64_t>(DecodeFixed64BE(p + 10));
  t.last_offset = static_cast<int64_t>(DecodeFixed64BE(p + 18));
  t.last_stable_offset = static_cast<int64_t>(DecodeFixed64BE(p + 26));
  return t;
}

}  // namespace spool::cli
