// spool::Mutex: absl::Mutex as every Spool component uses it, visible to
// ThreadSanitizer.
//
// Debian's libabsl is not built with -fsanitize=thread, so TSan cannot see
// the happens-before edges that absl::Mutex creates and reports races on
// data that is correctly guarded. This wrapper adds the dynamic annotations
// TSan's runtime implements around every acquire and release (including the
// release and re-acquire inside Await). In builds without TSan they compile
// to nothing and the wrapper is exactly absl::Mutex. Clang's thread-safety
// analysis sees it as a capability like absl::Mutex.

#ifndef SPOOL_UTIL_MUTEX_H_
#define SPOOL_UTIL_MUTEX_H_

#include "absl/base/dynamic_annotations.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace spool {

// Thread-safe.
class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.Lock();
    ABSL_ANNOTATE_RWLOCK_ACQUIRED(this, 1);
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    ABSL_ANNOTATE_RWLOCK_RELEASED(this, 1);
    mu_.Unlock();
  }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() {
    mu_.ReaderLock();
    ABSL_ANNOTATE_RWLOCK_ACQUIRED(this, 0);
  }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() {
    ABSL_ANNOTATE_RWLOCK_RELEASED(this, 0);
    mu_.ReaderUnlock();
  }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() { mu_.AssertHeld(); }

  // Releases the mutex until `cond` holds, then re-acquires it.
  // REQUIRES: held exclusively.
  void Await(const absl::Condition& cond) {
    ABSL_ANNOTATE_RWLOCK_RELEASED(this, 1);
    mu_.Await(cond);
    ABSL_ANNOTATE_RWLOCK_ACQUIRED(this, 1);
  }
  // Like Await, giving up at `deadline`; returns whether `cond` holds.
  bool AwaitWithDeadline(const absl::Condition& cond, absl::Time deadline) {
    ABSL_ANNOTATE_RWLOCK_RELEASED(this, 1);
    bool ok = mu_.AwaitWithDeadline(cond, deadline);
    ABSL_ANNOTATE_RWLOCK_ACQUIRED(this, 1);
    return ok;
  }
  bool AwaitWithTimeout(const absl::Condition& cond, absl::Duration timeout) {
    ABSL_ANNOTATE_RWLOCK_RELEASED(this, 1);
    bool ok = mu_.AwaitWithTimeout(cond, timeout);
    ABSL_ANNOTATE_RWLOCK_ACQUIRED(this, 1);
    return ok;
  }

 private:
  absl::Mutex mu_;
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
