// Flat containers behind PartitionQueue (subscription_partition.h): the
// in-flight window as a ring of slots in offset order, and min-queues with
// lazy deletion for available offsets and timers. None allocates per
// record: each grows a vector by doubling and reuses it.
//
// Thread-compatible.

#ifndef SPOOL_ENGINE_SUBSCRIPTION_WINDOW_H_
#define SPOOL_ENGINE_SUBSCRIPTION_WINDOW_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace spool {

// Slots of type T (with members `int64_t offset` and `bool live`, and
// default-constructible with live == false) in strictly ascending offset order.
// Appending takes offsets above every slot's; erasing marks a slot dead (its
// payload destroyed, its offset kept for the search) and drops dead slots from
// the front. Dead slots in the middle (a record acked while an older one is
// still leased) are squeezed out by Append once they outnumber the live
// ones, so memory stays proportional to the live slots.
//
// Find is O(1) while offsets are dense (the usual case: a slot's index is
// its offset minus the first slot's) and O(log n) otherwise.
// Append may move every slot (growth, squeezing): references and pointers
// to slots stay valid until the next Append, and across Erase.
template <typename T>
class OffsetRing {
 public:
  // Dead slots tolerated beyond the live count: squeezing moves every
  // live slot, so it waits until it pays for itself.
  static constexpr size_t kSlack = 1024;

  size_t live() const { return live_; }
  bool empty() const { return live_ == 0; }
  // Slots held, live or dead (for tests and figures).
  size_t slots() const { return size_; }

  // The live slot for `offset`, or null.
  T* Find(int64_t offset) {
    const size_t i = IndexOf(offset);
    if (i == size_) return nullptr;
    T& t = At(i);
    return t.live ? &t : nullptr;
  }
  const T* Find(int64_t offset) const {
    return const_cast<OffsetRing*>(this)->Find(offset);
  }

  // Whether Append(offset) may be called.
  bool CanAppend(int64_t offset) {
    return size_ == 0 || At(size_ - 1).offset < offset;
  }

  // A new live slot. REQUIRES: offset > every slot's offset.
  T& Append(int64_t offset) {
    if (size_ - live_ > live_ + kSlack) Squeeze();
    if (size_ == buf_.size()) Grow();
    // Unused slots are kept default-constructed (Erase, Squeeze, Grow).
    T& t = buf_[(head_ + size_) & (buf_.size() - 1)];
    t.offset = offset;
    t.live = true;
    ++size_;
    ++live_;
    return t;
  }

  // REQUIRES: `t` is a live slot of this ring.
  void Erase(T& t) {
    const int64_t offset = t.offset;
    Reset(t);
    t.offset = offset;
    --live_;
    while (size_ > 0 && !At(0).live) {
      head_ = (head_ + 1) & (buf_.size() - 1);
      --size_;
    }
  }

  // The live slot with the lowest offset. REQUIRES: !empty().
  T& Front() { return At(0); }  // dead fronts are dropped eagerly
  const T& Front() const { return const_cast<OffsetRing*>(this)->At(0); }

  // Calls fn(slot) for every live slot in offset order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (size_t i = 0; i < size_; ++i) {
      const T& t = const_cast<OffsetRing*>(this)->At(i);
      if (t.live) fn(t);
    }
  }

 private:
  T& At(size_t i) { return buf_[(head_ + i) & (buf_.size() - 1)]; }

  // Back to a default-constructed slot (its payload freed).
  static void Reset(T& t) {
    std::destroy_at(&t);
    std::construct_at(&t);
  }

  // Index of the slot holding `offset`, or size_.
  size_t IndexOf(int64_t offset) {
    if (size_ == 0) return size_;
    const int64_t first = At(0).offset;
    if (offset < first) return size_;
    // Offsets are distinct and ascending: slot i holds >= first + i.
    const uint64_t d = static_cast<uint64_t>(offset - first);
    size_t hi = d < size_ ? static_cast<size_t>(d) + 1 : size_;
    if (At(hi - 1).offset == offset) return hi - 1;  // dense
    size_t lo = 0;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (At(mid).offset < offset) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo < size_ && At(lo).offset == offset ? lo : size_;
  }

  // Doubles the buffer (a power of two), keeping the slots in order.
  void Grow() {
    std::vector<T> next(buf_.empty() ? 16 : buf_.size() * 2);
    for (size_t i = 0; i < size_; ++i) next[i] = std::move(At(i));
    buf_.swap(next);
    head_ = 0;
  }
  // Moves the live slots together towards the front, in place.
  void Squeeze() {
    size_t n = 0;
    for (size_t i = 0; i < size_; ++i) {
      T& t = At(i);
      if (!t.live) continue;
      if (n != i) At(n) = std::move(t);
      ++n;
    }
    for (size_t i = n; i < size_; ++i) Reset(At(i));
    size_ = n;
  }

  std::vector<T> buf_;  // capacity 0 or a power of two
  size_t head_ = 0;
  size_t size_ = 0;  // slots from head_, live or dead
  size_t live_ = 0;
};

// An OffsetRing that also takes slots below its last one: those (records
// whose state becomes their own after a later one was appended, see
// PartitionQueue's lease runs) go to a map beside the ring. The same
// contract as OffsetRing otherwise; map slots never move.
template <typename T>
class OffsetTable {
 public:
  size_t live() const { return ring_.live() + below_.size(); }
  bool empty() const { return live() == 0; }
  // Slots held by the ring, live or dead, and by the map.
  size_t slots() const { return ring_.slots() + below_.size(); }

  T* Find(int64_t offset) {
    if (T* t = ring_.Find(offset)) return t;
    if (below_.empty()) return nullptr;
    auto it = below_.find(offset);
    return it == below_.end() ? nullptr : &it->second;
  }
  const T* Find(int64_t offset) const {
    return const_cast<OffsetTable*>(this)->Find(offset);
  }

  // A new live slot. REQUIRES: no live slot has `offset`.
  T& Insert(int64_t offset) {
    if (ring_.CanAppend(offset)) return ring_.Append(offset);
    T& t = below_[offset];
    t.offset = offset;
    t.live = true;
    return t;
  }

  // REQUIRES: `t` is a live slot of this table.
  void Erase(T& t) {
    if (!below_.empty()) {
      auto it = below_.find(t.offset);
      if (it != below_.end() && &it->second == &t) {
        below_.erase(it);
        return;
      }
    }
    ring_.Erase(t);
  }

  // The live slot with the lowest offset. REQUIRES: !empty().
  T& Front() {
    if (below_.empty()) return ring_.Front();
    T& b = below_.begin()->second;
    if (ring_.empty() || b.offset < ring_.Front().offset) return b;
    return ring_.Front();
  }
  const T& Front() const { return const_cast<OffsetTable*>(this)->Front(); }

  // Calls fn(slot) for every live slot in offset order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    auto it = below_.begin();
    ring_.ForEach([&](const T& t) {
      for (; it != below_.end() && it->first < t.offset; ++it) fn(it->second);
      fn(t);
    });
    for (; it != below_.end(); ++it) fn(it->second);
  }

 private:
  OffsetRing<T> ring_;
  std::map<int64_t, T> below_;
};

// A min-queue of items with lazy deletion: Push adds, Pop hands out the
// smallest; the owner decides at Pop whether an item is still current and
// skips stale ones. Items pushed in ascending order (the common case:
// records read from the log, leases handed out by one call) go to a FIFO
// run at O(1); others to a binary heap. `Less` orders items.
template <typename Item, typename Less = std::less<Item>>
class LazyMinQueue {
 public:
  size_t size() const { return run_.size() - run_head_ + heap_.size(); }
  bool empty() const { return size() == 0; }

  void Push(const Item& item) {
    if (run_head_ == run_.size() || !less_(item, run_.back())) {
      if (run_head_ == run_.size()) {
        run_.clear();
        run_head_ = 0;
      }
      run_.push_back(item);
    } else {
      heap_.push_back(item);
      std::push_heap(heap_.begin(), heap_.end(), Greater{less_});
    }
  }

  // The smallest item. REQUIRES: !empty().
  const Item& Top() const {
    if (run_head_ == run_.size()) return heap_.front();
    if (heap_.empty()) return run_[run_head_];
    return less_(heap_.front(), run_[run_head_]) ? heap_.front()
                                                 : run_[run_head_];
  }

  // Removes the smallest item. REQUIRES: !empty().
  void Pop() {
    if (run_head_ != run_.size() &&
        (heap_.empty() || !less_(heap_.front(), run_[run_head_]))) {
      ++run_head_;
      if (run_head_ == run_.size()) {
        run_.clear();
        run_head_ = 0;
      } else if (run_head_ >= 1024 && run_head_ * 2 >= run_.size()) {
        run_.erase(run_.begin(), run_.begin() + run_head_);
        run_head_ = 0;
      }
      return;
    }
    std::pop_heap(heap_.begin(), heap_.end(), Greater{less_});
    heap_.pop_back();
  }

  // Keeps only the items for which keep(item) is true.
  template <typename Keep>
  void Filter(Keep keep) {
    std::vector<Item> run;
    for (size_t i = run_head_; i < run_.size(); ++i) {
      if (keep(run_[i])) run.push_back(run_[i]);
    }
    run_.swap(run);
    run_head_ = 0;
    heap_.erase(std::remove_if(heap_.begin(), heap_.end(),
                               [&](const Item& i) { return !keep(i); }),
                heap_.end());
    std::make_heap(heap_.begin(), heap_.end(), Greater{less_});
  }

 private:
  struct Greater {
    Less less;
    bool operator()(const Item& a, const Item& b) const { return less(b, a); }
  };

  Less less_;
  std::vector<Item> run_;  // ascending from run_head_
  size_t run_head_ = 0;
  std::vector<Item> heap_;  // a heap under Greater: front() is smallest
};

}  // namespace spool

#endif  // SPOOL_ENGINE_SUBSCRIPTION_WINDOW_H_
