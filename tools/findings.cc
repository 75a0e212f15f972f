#include "tools/findings.h"

#include "absl/strings/str_cat.h"

namespace spool::cli {

std::string FormatFinding(const Finding& f) {
  std::string out = f.file;
  if (f.position >= 0) absl::StrAppend(&out, ":", f.position);
  absl::StrAppend(&out, ": ",
                  f.severity == Severity::kProblem ? "problem" : "note", ": ",
                  f.message);
  if (!f.expected.empty() || !f.found.empty()) {
    absl::StrAppend(&out, " (expected ", f.expected, ", found ", f.found, ")");
  }
  absl::StrAppend(&out, " [", f.check, "]");
  return out;
}

json FindingJson(const Finding& f) {
  json j = {
      {"type", "finding"},
      {"severity", f.severity == Severity::kProblem ? "problem" : "note"},
      {"file", f.file},
      {"position", f.position < 0 ? json(nullptr) : json(f.position)},
      {"check", f.check},
      {"message", f.message},
  };
  if (!f.expected.empty() || !f.found.empty()) {
    j["expected"] = f.expected;
    j["found"] = f.found;
  }
  return j;
}

void FindingSink::Add(Finding f) {
  if (f.severity == Severity::kProblem) {
    ++problems_;
  } else {
    ++notes_;
  }
  if (out_ == nullptr) return;
  if (json_) {
    out_->JsonLine(FindingJson(f));
  } else {
    out_->Line(FormatFinding(f));
  }
}

void FindingSink::Problem(std::string file, int64_t position, std::string check,
                          std::string message, std::string expected,
                          std::string found) {
  Add({Severity::kProblem, std::move(file), position, std::move(check),
       std::move(message), std::move(expected), std::move(found)});
}

void FindingSink::Note(std::string file, int64_t position, std::string check,
                       std::string message) {
  Add({Severity::kNote, std::move(file), position, std::move(check),
       std::move(message), "", ""});
}

void DowngradingSink::Add(Finding f) {
  FindingSink::Add(f);  // keeps the counts of what was seen here
  if (!reason_.empty() && f.severity == Severity::kProblem) {
    f.severity = Severity::kNote;
    absl::StrAppend(&f.message, " (", reason_, ")");
  }
  next_->Add(std::move(f));
}

}  // namespace spool::cli
