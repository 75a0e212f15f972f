// spool::Mutex and spool::CondVar: the locks every Spool component uses.
//
// In normal builds they are absl::Mutex and absl::CondVar. Debian's libabsl
// is not built with -fsanitize=thread, so under ThreadSanitizer absl's
// synchronization is invisible (TSan reports every guarded access as a
// race) and its header-inlined TSan hooks do not match the library (wake-ups
// were observed to be lost). ThreadSanitizer builds therefore use the
// standard library's std::shared_mutex and std::condition_variable_any,
// which TSan intercepts natively. The semantics Spool relies on — exclusive
// and shared locking, waiting on a condition variable with a deadline — are
// the same in both.
//
// Clang's thread-safety analysis sees Mutex as a capability, so
// ABSL_GUARDED_BY and friends work as with absl::Mutex.

#ifndef SPOOL_UTIL_MUTEX_H_
#define SPOOL_UTIL_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

#if defined(__SANITIZE_THREAD__)
#define SPOOL_MUTEX_USE_STD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SPOOL_MUTEX_USE_STD 1
#endif
#endif

#ifdef SPOOL_MUTEX_USE_STD
#include <chrono>
#include <condition_variable>
#include <shared_mutex>
#endif

namespace spool {

// Thread-safe.
class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

#ifdef SPOOL_MUTEX_USE_STD
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return mu_.try_lock();
  }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}
#else
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.Lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.Unlock(); }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mu_.TryLock(); }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.ReaderLock(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.ReaderUnlock(); }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() { mu_.AssertHeld(); }
#endif

 private:
  friend class CondVar;
#ifdef SPOOL_MUTEX_USE_STD
  std::shared_mutex mu_;
#else
  absl::Mutex mu_;
#endif
};

// A condition variable for spool::Mutex. Thread-safe. As with any condition
// variable, wake-ups may be spurious: re-check the predicate in a loop.
class CondVar {
 public:
  // Atomically releases `mu`, blocks until signalled, re-acquires `mu`.
  // REQUIRES: `mu` held exclusively.
  void Wait(Mutex* mu) {
#ifdef SPOOL_MUTEX_USE_STD
    std::unique_lock<std::shared_mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
#else
    cv_.Wait(&mu->mu_);
#endif
  }
  // Like Wait; returns true if `deadline` passed.
  bool WaitWithDeadline(Mutex* mu, absl::Time deadline) {
#ifdef SPOOL_MUTEX_USE_STD
    std::unique_lock<std::shared_mutex> lock(mu->mu_, std::adopt_lock);
    auto d = std::chrono::system_clock::time_point(std::chrono::microseconds(
        absl::ToUnixMicros(std::min(deadline, absl::Now() + absl::Hours(24)))));
    bool timed_out = cv_.wait_until(lock, d) == std::cv_status::timeout;
    lock.release();
    return timed_out;
#else
    return cv_.WaitWithDeadline(&mu->mu_, deadline);
#endif
  }
  bool WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
    return WaitWithDeadline(mu, absl::Now() + timeout);
  }
  void Signal() {
#ifdef SPOOL_MUTEX_USE_STD
    cv_.notify_one();
#else
    cv_.Signal();
#endif
  }
  void SignalAll() {
#ifdef SPOOL_MUTEX_USE_STD
    cv_.notify_all();
#else
    cv_.SignalAll();
#endif
  }

 private:
#ifdef SPOOL_MUTEX_USE_STD
  std::condition_variable_any cv_;
#else
  absl::CondVar cv_;
#endif
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->ReaderLock();
  }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace spool

#endif  // SPOOL_UTIL_MUTEX_H_
