#include "cli.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace spool::cli {

std::map<std::string, Command>& Registry() {
  static auto* commands = new std::map<std::string, Command>();
  return *commands;
}

bool RegisterCommand(Command command) {
  std::string name = command.name;
  Registry()[name] = std::move(command);
  return true;
}

const std::map<std::string, Command>& Commands() { return Registry(); }

const Args::Flag* Args::Find(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string Args::Usage() const {
  std::string out =
      absl::StrFormat("usage: spool %s %s\n\n%s\n", command_, usage_, summary_);
  if (!flags_.empty()) out += "\nflags:\n";
  for (const Flag& f : flags_) {
    std::string left = "  --" + f.name;
    if (!f.value_name.empty()) left += " " + f.value_name;
    absl::StrAppendFormat(&out, "%-28s %s", left, f.help);
    if (!f.default_value.empty()) {
      absl::StrAppendFormat(&out, " (default: %s)", f.default_value);
    }
    out += "\n";
  }
  absl::StrAppendFormat(&out, "  %-26s %s\n", "--help", "show this help");
  return out;
}

int Args::UsageError(const std::string& message) const {
  std::cerr << "spool " << command_ << ": " << message << "\n"
            << "usage: spool " << command_ << " " << usage_ << "\n"
            << "run 'spool " << command_ << " --help' for details\n";
  return kExitUsage;
}

bool Args::Parse(int argc, char** argv, int* exit) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << Usage();
      *exit = kExitOk;
      return false;
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const Flag* f = Find(name);
    if (f == nullptr) {
      *exit = UsageError("unknown flag --" + name);
      return false;
    }
    if (f->value_name.empty()) {
      if (has_value) {
        *exit = UsageError("flag --" + name + " takes no value");
        return false;
      }
      values_[name] = "true";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        *exit = UsageError("flag --" + name + " needs a value (" +
                           f->value_name + ")");
        return false;
      }
      value = argv[++i];
    }
    int64_t unused;
    if (f->value_name == "N" && !absl::SimpleAtoi(value, &unused)) {
      *exit =
          UsageError("flag --" + name + " needs a number, got '" + value + "'");
      return false;
    }
    values_[name] = value;
  }
  return true;
}

std::string Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  const Flag* f = Find(name);
  return f == nullptr ? "" : f->default_value;
}

int64_t Args::GetInt(const std::string& name) const {
  int64_t v = 0;
  if (!absl::SimpleAtoi(Get(name), &v)) return 0;
  return v;
}

bool ParseTimeFlag(const std::string& text, int64_t* millis) {
  if (absl::SimpleAtoi(text, millis)) return true;
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return false;
  *millis = absl::ToUnixMillis(t);
  return true;
}

int Fail(const std::string& command, const absl::Status& status) {
  std::cerr << "spool " << command << ": " << status.ToString() << "\n";
  return kExitProblems;
}

}  // namespace spool::cli
