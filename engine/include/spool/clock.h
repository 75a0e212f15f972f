// Time enters the engine only through Clock, so retention, leases, backoff,
// de-duplication windows and lag in seconds are testable without sleeping.

#ifndef SPOOL_CLOCK_H_
#define SPOOL_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace spool {

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  int64_t NowMillis() const { return absl::ToUnixMillis(Now()); }

  // The wall clock. Never null; not owned by the caller.
  static Clock* Real();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::FromUnixMillis(1700000000000))
      : micros_(absl::ToUnixMicros(start)) {}
  absl::Time Now() const override {
    return absl::FromUnixMicros(micros_.load());
  }
  void Advance(absl::Duration d) {
    micros_.fetch_add(absl::ToInt64Microseconds(d));
  }
  void Set(absl::Time t) { micros_.store(absl::ToUnixMicros(t)); }

 private:
  std::atomic<int64_t> micros_;
};

}  // namespace spool

#endif  // SPOOL_CLOCK_H_
