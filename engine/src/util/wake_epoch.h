// spool::WakeEpoch: a counter threads wait on for a change, without a
// mutex. Bump() advances it and wakes every waiter with one futex call, so
// they all become runnable at once. A condition variable cannot do that:
// its waiters re-take the mutex on waking, and absl::CondVar::SignalAll
// hands them the mutex one at a time (it moves them onto the mutex's wait
// queue), a chain of context switches. Group commit (PartitionLog::
// WaitDurable) wakes every appender one fdatasync covered this way.
//
// Waiting is a plain FUTEX_WAIT, with no spinning first (std::atomic::wait
// in libstdc++ 12 spins on sched_yield, which with many waiters on few
// cores takes the CPU from the threads that are doing work).
//
// Thread-safe. Linux only.

#ifndef SPOOL_UTIL_WAKE_EPOCH_H_
#define SPOOL_UTIL_WAKE_EPOCH_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace spool {

class WakeEpoch {
 public:
  WakeEpoch() = default;
  WakeEpoch(const WakeEpoch&) = delete;
  WakeEpoch& operator=(const WakeEpoch&) = delete;

  uint32_t Load() const { return epoch_.load(std::memory_order_acquire); }

  // Blocks while the epoch is `seen` (as loaded by Load()). May return
  // early (a signal, a spurious wake-up): re-check what you wait for.
  void Wait(uint32_t seen) const {
    if (Load() != seen) return;
    syscall(SYS_futex, Word(), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
  }

  // Advances the epoch and wakes every thread in Wait. Everything written
  // before Bump is visible to a waiter that sees the new epoch.
  void Bump() {
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    syscall(SYS_futex, Word(), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr,
            0);
  }

 private:
  // The futex word: the atomic's 32-bit value (std::atomic<uint32_t> is
  // lock-free and has the size and layout of uint32_t).
  uint32_t* Word() const { return reinterpret_cast<uint32_t*>(&epoch_); }

  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  static_assert(std::atomic<uint32_t>::is_always_lock_free);

  mutable std::atomic<uint32_t> epoch_{0};
};

}  // namespace spool

#endif  // SPOOL_UTIL_WAKE_EPOCH_H_
