// spool: the command-line tool. Each command lives in its own file and
// registers itself (see cli.h); this file only dispatches.

#include <iostream>
#include <string>

#include "cli.h"

namespace {

void PrintUsage(std::ostream& out) {
  out << "usage: spool <command> [flags] [args]\n\ncommands:\n";
  for (const auto& [name, command] : spool::cli::Commands()) {
    out << "  " << name
        << std::string(14 - std::min<size_t>(13, name.size()), ' ')
        << command.summary << "\n";
  }
  out << "\nrun 'spool <command> --help' for a command's flags.\n"
         "exit codes: 0 ok, 1 problems found or operation failed, 2 usage "
         "error\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(std::cerr);
    return spool::cli::kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(std::cout);
    return spool::cli::kExitOk;
  }
  const auto& commands = spool::cli::Commands();
  auto it = commands.find(name);
  if (it == commands.end()) {
    std::cerr << "spool: unknown command '" << name << "'\n";
    PrintUsage(std::cerr);
    return spool::cli::kExitUsage;
  }
  return it->second.run(argc - 2, argv + 2);
}
