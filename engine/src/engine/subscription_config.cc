// SubscriptionConfig::Validate and BackoffPolicy::DelayAfter
// (spool/subscriptions.h).

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "spool/subscriptions.h"

namespace spool {

absl::Duration BackoffPolicy::DelayAfter(int32_t attempt) const {
  if (kind == Kind::kFixed || attempt <= 1) return std::min(initial, max);
  // initial * multiplier^(attempt - 1), computed in floating point seconds
  // and capped before it can overflow.
  const double factor = std::pow(multiplier, attempt - 1);
  const double seconds = absl::ToDoubleSeconds(initial) * factor;
  if (!std::isfinite(seconds) || seconds >= absl::ToDoubleSeconds(max)) {
    return max;
  }
  return std::min(absl::Seconds(seconds), max);
}

absl::Status SubscriptionConfig::Validate() const {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError("subscription config: " + what);
  };
  const absl::Duration ms = absl::Milliseconds(1);
  if (lease < ms || lease > absl::Hours(24 * 7)) {
    return bad(absl::StrFormat("lease must be in [1ms, 7d], not %s",
                               absl::FormatDuration(lease)));
  }
  if (max_deliveries < 0) {
    return bad(
        absl::StrFormat("max_deliveries must be >= 0, not %d", max_deliveries));
  }
  if (backoff.initial < absl::ZeroDuration() || backoff.max < backoff.initial ||
      backoff.max > absl::Hours(24 * 7)) {
    return bad(
        absl::StrFormat("backoff needs 0 <= initial (%s) <= max (%s) <= 7d",
                        absl::FormatDuration(backoff.initial),
                        absl::FormatDuration(backoff.max)));
  }
  if (!(backoff.multiplier >= 1.0) || !std::isfinite(backoff.multiplier)) {
    return bad(absl::StrFormat("backoff multiplier must be >= 1, not %g",
                               backoff.multiplier));
  }
  if (max_unacked_records < 1) {
    return bad(absl::StrFormat("max_unacked_records must be >= 1, not %d",
                               max_unacked_records));
  }
  return absl::OkStatus();
}

}  // namespace spool
