#include "tools/output.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "util/strings.h"

namespace spool::cli {
namespace {

// Length of the valid UTF-8 sequence at s[i] (1-4), or 0 if invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  // Overlong encodings, surrogates and values past U+10FFFF are invalid.
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
    return 0;
  }
  return n;
}

void AppendEscapedByte(std::string* out, unsigned char c) {
  switch (c) {
    case '\n':
      out->append("\\n");
      return;
    case '\t':
      out->append("\\t");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\\':
      out->append("\\\\");
      return;
    default:
      absl::StrAppendFormat(out, "\\x%02x", c);
  }
}

void AppendUtf8(std::string* out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Fast path: a run of printable ASCII.
    size_t j = i;
    while (j < s.size() && s[j] >= 0x20 && s[j] < 0x7f && s[j] != '\\') ++j;
    out->append(s.data() + i, j - i);
    if (j == s.size()) return;
    i = j;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c >= 0x80 ? Utf8SequenceLength(s, i) : 0;
    if (n > 1) {
      out->append(s.data() + i, n);
      i += n;
    } else {
      AppendEscapedByte(out, c);
      ++i;
    }
  }
}

}  // namespace

std::optional<DataFormat> ParseDataFormat(std::string_view name) {
  if (name == "utf8" || name == "text") return DataFormat::kUtf8;
  if (name == "hex") return DataFormat::kHex;
  if (name == "base64") return DataFormat::kBase64;
  if (name == "none") return DataFormat::kNone;
  return std::nullopt;
}

void AppendData(std::string* out, std::string_view bytes, DataFormat format) {
  switch (format) {
    case DataFormat::kUtf8:
      AppendUtf8(out, bytes);
      return;
    case DataFormat::kHex:
      out->append(absl::BytesToHexString(ToAbsl(bytes)));
      return;
    case DataFormat::kBase64:
      out->append(absl::Base64Escape(ToAbsl(bytes)));
      return;
    case DataFormat::kNone:
      return;
  }
}

json DataJson(std::optional<std::string_view> bytes, DataFormat format) {
  if (!bytes.has_value() || format == DataFormat::kNone) return nullptr;
  if (format == DataFormat::kUtf8) return std::string(*bytes);
  std::string out;
  AppendData(&out, *bytes, format);
  return out;
}

void Output::Flush() {
  if (buffer_.empty()) return;
  std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
  std::fflush(file_);
  buffer_.clear();
}

void Output::Line(std::string_view line) {
  buffer_.append(line);
  buffer_.push_back('\n');
  MaybeFlush();
}

void Output::JsonLine(const json& object) {
  buffer_.append(object.dump(-1, ' ', false, json::error_handler_t::replace));
  buffer_.push_back('\n');
  MaybeFlush();
}

std::string Table::ToString() const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      std::string pad(width[i] - row[i].size(), ' ');
      line += i == 0 ? row[i] + pad : pad + row[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string FormatTimestamp(int64_t millis) {
  if (millis < 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(millis),
                          absl::UTCTimeZone());
}

}  // namespace spool::cli
