// What `spool verify` (and the index checks of `spool dump`) report: one
// finding per problem or note, naming the file, the byte position in it,
// the check that failed and, where it applies, what was expected and what
// was found. docs/cli.md lists every check.

#ifndef SPOOL_TOOLS_FINDINGS_H_
#define SPOOL_TOOLS_FINDINGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tools/output.h"

namespace spool::cli {

enum class Severity {
  kProblem,  // the directory is not as it should be: exit code 1
  kNote,     // worth knowing, not wrong (compaction gaps, a live tail, ...)
};

struct Finding {
  Severity severity = Severity::kProblem;
  std::string file;
  int64_t position = -1;  // byte position in `file`; -1: the whole file
  std::string check;      // stable id, e.g. "crc", "index-entry"
  std::string message;
  std::string expected;  // may be empty
  std::string found;     // may be empty
};

// "file:position: problem: message (expected X, found Y) [check]".
std::string FormatFinding(const Finding& f);
json FindingJson(const Finding& f);

// Collects findings: prints each one as it comes (text or JSON) and counts
// them. Single-threaded.
class FindingSink {
 public:
  // Prints to `out` (nullptr: count only).
  FindingSink(Output* out, bool as_json) : out_(out), json_(as_json) {}
  virtual ~FindingSink() = default;

  virtual void Add(Finding f);
  // Shorthands.
  void Problem(std::string file, int64_t position, std::string check,
               std::string message, std::string expected = "",
               std::string found = "");
  void Note(std::string file, int64_t position, std::string check,
            std::string message);

  int64_t problems() const { return problems_; }
  int64_t notes() const { return notes_; }

 private:
  Output* out_;
  bool json_;
  int64_t problems_ = 0;
  int64_t notes_ = 0;
};

// Forwards to another sink, downgrading problems to notes (with a reason
// appended) while `downgrade` is set: used for the tail of a segment an
// engine is writing, or an index that recovery will rebuild anyway.
class DowngradingSink : public FindingSink {
 public:
  explicit DowngradingSink(FindingSink* next)
      : FindingSink(nullptr, false), next_(next) {}
  void set_downgrade(std::string reason) { reason_ = std::move(reason); }
  void Add(Finding f) override;

 private:
  FindingSink* next_;
  std::string reason_;  // empty: forward unchanged
};

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_FINDINGS_H_
