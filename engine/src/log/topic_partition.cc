#include "spool/topic_partition.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "util/strings.h"

namespace spool {

std::optional<TopicPartition> ParsePartitionDirName(std::string_view name) {
  size_t dash = name.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) {
    return std::nullopt;
  }
  int32_t partition;
  std::string_view digits = name.substr(dash + 1);
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  if (!absl::SimpleAtoi(ToAbsl(digits), &partition)) return std::nullopt;
  return TopicPartition{std::string(name.substr(0, dash)), partition};
}

}  // namespace spool
