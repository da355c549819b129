// A persistent pool of worker threads. parallel_for hands out task indices
// through an atomic counter; the calling thread works too. One parallel region
// runs at a time (concurrent callers, e.g. several async matmuls, queue up).
// Between regions workers spin for a short while (spin_us) before sleeping, so a
// decode loop's back-to-back calls do not pay a futex wake-up each (as ORT's and
// ggml's pools do); spin_us = 0 sleeps at once. The caller's current Work (work.h) is current on
// the workers for the region, and once it is cancelled the region's remaining tasks are skipped.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "work.h"

namespace lowbit {

class ThreadPool {
 public:
  ThreadPool() = default;
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Threads used by parallel_for, the caller included (>= 1).
  void set_threads(int n);
  int threads() const { return threads_.load(); }
  // Microseconds an idle worker polls for the next region before it sleeps.
  void set_spin_us(int us) { spin_us_.store(us < 0 ? 0 : us); }
  int spin_us() const { return spin_us_.load(); }

  // Runs fn(t) for t in [0, tasks), spread over the pool's threads.
  void parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn);

  static ThreadPool& global();
  // Cores this process may run on (the affinity mask), at least 1.
  static int available_cores();

 private:
  void worker_loop(uint64_t seen);
  // Takes task indices of the open region until none are left or `work` is cancelled.
  void run_tasks(int64_t tasks, const std::function<void(int64_t)>& fn, const Work* work);
  void resize_locked(int n);

  std::mutex region_mu_;  // serialises parallel regions and resizing
  std::mutex mu_;         // guards sleeping and waking
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  std::atomic<int> threads_{1};
  std::atomic<int> spin_us_{100};
  std::atomic<uint64_t> generation_{0};  // bumped (under mu_) to open a region or to stop
  std::atomic<int> sleepers_{0};         // workers waiting on wake_ (changed under mu_)
  bool stop_ = false;
  const std::function<void(int64_t)>* fn_ = nullptr;
  Work* work_ = nullptr;
  int64_t tasks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};  // workers still in the current region
};

// Below this many multiply-adds a matmul finishes before other threads could join in.
constexpr int64_t kMinParallelWork = int64_t{1} << 18;

// Runs fn(mi, ni) for every cell of an mt x nt grid of tasks (row chunks of x times column chunks of the
// output; the column index varies fastest, so concurrent tasks share rows of x). A call of fewer than
// kMinParallelWork multiply-adds (`macs`) runs on the calling thread, in the same cells, so its results
// are the same bits as on the pool.
void run_grid(ThreadPool& pool, int64_t mt, int64_t nt, int64_t macs, const std::function<void(int64_t, int64_t)>& fn);

// run_grid over the output of an m x k times k x n product cut into chunks of rows_per_task rows of x and
// cols_per_task columns of the output: fn(i0, i1, n0, n1) for each. The chunks never depend on the
// thread count, so neither do the results.
void run_chunks(ThreadPool& pool, int64_t m, int64_t n, int64_t k, int64_t rows_per_task, int64_t cols_per_task,
                const std::function<void(int64_t i0, int64_t i1, int64_t n0, int64_t n1)>& fn);

}  // namespace lowbit
