// Output helpers shared by the `spool` commands: a buffered writer (commands
// that print per batch must not flush per line), one-JSON-object-per-line
// output, and the renderings of keys, values and header values as UTF-8 text,
// hex or base64 (docs/cli.md, "Data encodings").

#ifndef SPOOL_TOOLS_OUTPUT_H_
#define SPOOL_TOOLS_OUTPUT_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace spool::cli {

// Insertion-ordered, so every object prints "type" first.
using json = nlohmann::ordered_json;

enum class DataFormat { kUtf8, kHex, kBase64, kNone };
// "utf8", "hex", "base64" or "none"; nullopt for anything else.
std::optional<DataFormat> ParseDataFormat(std::string_view name);

// Appends `bytes` for a text line. kUtf8: valid UTF-8 as is, except that
// backslash, control characters and invalid bytes are escaped (\\, \n, \t,
// \xNN), so one record stays on one line. kHex: lowercase hex. kBase64:
// standard base64 with padding. kNone: nothing.
void AppendData(std::string* out, std::string_view bytes, DataFormat format);

// The JSON value for optional bytes: null for nullopt, else a string in the
// format (kUtf8: the raw bytes; invalid UTF-8 becomes U+FFFD when the line
// is written; kNone: null).
json DataJson(std::optional<std::string_view> bytes, DataFormat format);

// Buffered writer to a stdio stream (stdout by default). Append to
// buffer() and call MaybeFlush() after each line; the destructor flushes.
// Single-threaded.
class Output {
 public:
  explicit Output(std::FILE* file = stdout) : file_(file) {
    buffer_.reserve(kFlushBytes + 4096);
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() { Flush(); }

  std::string& buffer() { return buffer_; }
  void MaybeFlush() {
    if (buffer_.size() >= kFlushBytes) Flush();
  }
  void Flush();

  // Appends `line` and a newline.
  void Line(std::string_view line);
  // Appends the object as one line of JSON (invalid UTF-8 replaced).
  void JsonLine(const json& object);

 private:
  static constexpr size_t kFlushBytes = 256 * 1024;
  std::FILE* file_;
  std::string buffer_;
};

// "true" / "false".
inline const char* Bool(bool b) { return b ? "true" : "false"; }

// A table printed with aligned columns: the first column left-aligned,
// the others right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header)
      : rows_({std::move(header)}) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.size() == 1; }
  std::string ToString() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// Milliseconds since the epoch as RFC 3339 UTC ("2023-11-14T22:13:20.000Z");
// "-" for negative values.
std::string FormatTimestamp(int64_t millis);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_OUTPUT_H_
