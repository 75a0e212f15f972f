#include "log/checkpoint_file.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "util/status_macros.h"

namespace spool {
namespace {

absl::Status Bad(std::string_view source, int line, std::string_view what) {
  return absl::DataLossError(
      absl::StrFormat("checkpoint %s, line %d: %s", source, line, what));
}

}  // namespace

absl::StatusOr<OffsetCheckpoint> ParseOffsetCheckpoint(
    std::string_view text, std::string_view source) {
  OffsetCheckpoint out;
  if (text.empty()) return out;
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(text.data(), text.size()), '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() < 2) return Bad(source, 1, "missing version or count");
  if (absl::StripAsciiWhitespace(lines[0]) != "0") {
    return Bad(source, 1,
               absl::StrFormat("unsupported version '%s'", lines[0]));
  }
  int64_t count;
  if (!absl::SimpleAtoi(lines[1], &count) || count < 0) {
    return Bad(source, 2, absl::StrFormat("bad entry count '%s'", lines[1]));
  }
  if (count != static_cast<int64_t>(lines.size()) - 2) {
    return Bad(source, 2,
               absl::StrFormat("entry count %d but %d entry lines", count,
                               lines.size() - 2));
  }
  for (size_t i = 2; i < lines.size(); ++i) {
    std::vector<absl::string_view> f =
        absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    TopicPartition tp;
    int64_t offset;
    if (f.size() != 3 || !absl::SimpleAtoi(f[1], &tp.partition) ||
        !absl::SimpleAtoi(f[2], &offset) || tp.partition < 0) {
      return Bad(source, static_cast<int>(i) + 1,
                 absl::StrFormat("expected 'topic partition offset', got '%s'",
                                 lines[i]));
    }
    tp.topic = std::string(f[0]);
    out[tp] = offset;
  }
  return out;
}

std::string FormatOffsetCheckpoint(const OffsetCheckpoint& entries) {
  std::string out = absl::StrFormat("0\n%d\n", entries.size());
  for (const auto& [tp, offset] : entries) {
    absl::StrAppendFormat(&out, "%s %d %d\n", tp.topic, tp.partition, offset);
  }
  return out;
}

absl::StatusOr<OffsetCheckpoint> ReadOffsetCheckpoint(FileSystem* fs,
                                                      const std::string& path) {
  absl::StatusOr<std::string> text = fs->ReadFile(path);
  if (absl::IsNotFound(text.status())) return OffsetCheckpoint();
  if (!text.ok()) return text.status();
  return ParseOffsetCheckpoint(*text, path);
}

absl::Status WriteOffsetCheckpoint(FileSystem* fs, const std::string& path,
                                   const OffsetCheckpoint& entries) {
  return fs->WriteFileAtomic(path, FormatOffsetCheckpoint(entries));
}

}  // namespace spool
