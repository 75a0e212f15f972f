// Fuzz target: Kafka offset-checkpoint parsing (docs/format/checkpoints.md;
// docs/crash-testing.md, Fuzzing). Oracle: whatever parses formats back to
// text that parses to the same entries.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "log/checkpoint_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(bytes), size);
  auto parsed = spool::ParseOffsetCheckpoint(text, "fuzz");
  if (!parsed.ok()) return 0;
  const std::string formatted = spool::FormatOffsetCheckpoint(*parsed);
  auto again = spool::ParseOffsetCheckpoint(formatted, "fuzz-formatted");
  if (!again.ok() || *again != *parsed) {
    std::cerr << "checkpoint_fuzz: oracle violated: format/parse round trip "
                 "changed the entries\n";
    std::abort();
  }
  return 0;
}
