// spool::AtomicSharedPtr<T>: a shared_ptr that threads load and replace
// concurrently, for copy-on-write snapshots (the engine's topic map).
//
// Normal builds use C++20's std::atomic<std::shared_ptr<T>>. libstdc++ 12
// implements it with a lock bit inside the control-block pointer that
// ThreadSanitizer does not model: every load is reported as racing with
// the store that published the snapshot. ThreadSanitizer builds therefore
// guard a plain shared_ptr with spool::Mutex (itself std-based under TSan,
// see mutex.h); the semantics are the same.

#ifndef SPOOL_UTIL_ATOMIC_SHARED_PTR_H_
#define SPOOL_UTIL_ATOMIC_SHARED_PTR_H_

#include <atomic>
#include <memory>
#include <utility>

#include "util/mutex.h"

namespace spool {

// Thread-safe.
template <typename T>
class AtomicSharedPtr {
 public:
  explicit AtomicSharedPtr(std::shared_ptr<T> value)
      : value_(std::move(value)) {}
  AtomicSharedPtr(const AtomicSharedPtr&) = delete;
  AtomicSharedPtr& operator=(const AtomicSharedPtr&) = delete;

#ifdef SPOOL_MUTEX_USE_STD
  std::shared_ptr<T> load() const {
    MutexLock lock(&mu_);
    return value_;
  }
  void store(std::shared_ptr<T> value) {
    {
      MutexLock lock(&mu_);
      value_.swap(value);
    }
    // The old value is released here, outside the lock.
  }

 private:
  mutable Mutex mu_;
  std::shared_ptr<T> value_ ABSL_GUARDED_BY(mu_);
#else
  std::shared_ptr<T> load() const { return value_.load(); }
  void store(std::shared_ptr<T> value) { value_.store(std::move(value)); }

 private:
  std::atomic<std::shared_ptr<T>> value_;
#endif
};

}  // namespace spool

#endif  // SPOOL_UTIL_ATOMIC_SHARED_PTR_H_
