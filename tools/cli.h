// Shared pieces of the `spool` command-line tool: the command registry, a
// small flag parser with per-command --help, and output helpers.
//
// Conventions (docs/cli.md): `spool <command> [flags] [args]`; flags are
// `--name value` or `--name=value`; exit codes 0 ok, 1 problems found or the
// operation failed, 2 usage error.

#ifndef SPOOL_TOOLS_CLI_H_
#define SPOOL_TOOLS_CLI_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace spool::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitProblems = 1;
inline constexpr int kExitUsage = 2;

// Parsed command line of one command.
class Args {
 public:
  struct Flag {
    std::string name;        // without the leading "--"
    std::string value_name;  // empty: a boolean switch
    std::string help;
    std::string default_value;
  };

  Args(std::string command, std::string usage, std::string summary)
      : command_(std::move(command)),
        usage_(std::move(usage)),
        summary_(std::move(summary)) {}

  Args& AddFlag(Flag flag) {
    flags_.push_back(std::move(flag));
    return *this;
  }

  // Parses argv (after the command name). On --help prints usage to stdout
  // and returns kExitOk in *exit; on a usage error prints it with the usage
  // to stderr and returns kExitUsage in *exit. Returns true to go on.
  bool Parse(int argc, char** argv, int* exit);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name) const;
  // Integer flags; a malformed value is a usage error reported by Parse.
  int64_t GetInt(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  std::string Usage() const;
  // Prints "spool <command>: <message>" and the usage line to stderr.
  int UsageError(const std::string& message) const;

 private:
  const Flag* Find(const std::string& name) const;

  std::string command_, usage_, summary_;
  std::vector<Flag> flags_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// A time flag: milliseconds since the epoch, or an RFC 3339 time
// ("2023-11-14T22:13:20Z", "2023-11-14T22:13:20.5+01:00"). False if it is
// neither.
bool ParseTimeFlag(const std::string& text, int64_t* millis);

// Prints "spool <command>: <status>" to stderr; returns kExitProblems.
int Fail(const std::string& command, const absl::Status& status);

struct Command {
  std::string name;
  std::string summary;
  std::function<int(int argc, char** argv)> run;
};

// Registers a command at static-initialization time:
//   static const bool kRegistered = RegisterCommand({...});
bool RegisterCommand(Command command);
const std::map<std::string, Command>& Commands();

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_CLI_H_
