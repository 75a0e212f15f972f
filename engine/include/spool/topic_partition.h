// A (topic, partition) pair: the unit of ordering in Spool.

#ifndef SPOOL_TOPIC_PARTITION_H_
#define SPOOL_TOPIC_PARTITION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"

namespace spool {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  // "<topic>-<partition>", which is also the partition's directory name.
  std::string ToString() const { return absl::StrCat(topic, "-", partition); }

  friend bool operator==(const TopicPartition& a, const TopicPartition& b) {
    return a.partition == b.partition && a.topic == b.topic;
  }
  friend bool operator<(const TopicPartition& a, const TopicPartition& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  }
  template <typename H>
  friend H AbslHashValue(H h, const TopicPartition& tp) {
    return H::combine(std::move(h), tp.topic, tp.partition);
  }
};

// Parses a partition directory name "<topic>-<partition>" (the topic may
// itself contain '-': the partition follows the last one). nullopt if the
// name is not of that form.
std::optional<TopicPartition> ParsePartitionDirName(std::string_view name);

}  // namespace spool

#endif  // SPOOL_TOPIC_PARTITION_H_
