// Progress and cancellation of one long computation. The binding that runs an async call owns a
// Work and makes it current on its thread (Work::Scope); the thread pool carries it to its workers
// for the regions that thread opens, and stops handing out a region's tasks once it is cancelled.
// Cancellation is ambient: any core code may ask work::cancelled() and return early (the caller then
// discards the results). Progress is explicit: a long function takes a Work* for its own units, so
// that the functions it calls (a quantize inside AWQ's search) do not count theirs into it.
#pragma once

#include <atomic>
#include <cstdint>

namespace lowbit {

class Work {
 public:
  // Units of work in the whole computation; 0 until the computation says.
  void set_total(int64_t units) { total_.store(units, std::memory_order_relaxed); }
  void advance(int64_t units) { done_.fetch_add(units, std::memory_order_relaxed); }
  // done / total in [0, 1]; 0 before the total is known.
  double fraction() const;

  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  // The calling thread's Work, or null.
  static Work* current();

  // Makes `w` (may be null) the calling thread's Work until the scope ends.
  class Scope {
   public:
    explicit Scope(Work* w);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Work* saved_;
  };

 private:
  std::atomic<int64_t> total_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<bool> cancelled_{false};
};

namespace work {

// True when the current computation was cancelled: stop and return; the caller discards the results.
inline bool cancelled() {
  const Work* w = Work::current();
  return w != nullptr && w->cancelled();
}

}  // namespace work
}  // namespace lowbit
