// How durable an append is when the call returns.

#ifndef SPOOL_DURABILITY_H_
#define SPOOL_DURABILITY_H_

#include <optional>
#include <string_view>

namespace spool {

enum class Durability {
  // The call returns once the batch is in the page cache. A crash of the
  // process loses nothing; a power loss or kernel crash may lose it.
  kNone,
  // Like kNone, and a background flush makes data durable at most
  // `flush_interval` or `flush_records` later.
  kInterval,
  // The call returns after fdatasync covers the batch. Concurrent sync
  // appenders share one fdatasync (group commit).
  kSync,
};

std::string_view DurabilityName(Durability d);  // "none", "interval", "sync"
std::optional<Durability> ParseDurability(std::string_view name);

}  // namespace spool

#endif  // SPOOL_DURABILITY_H_
