// A persistent pool of worker threads. parallel_for hands out task indices
// through an atomic counter; the calling thread works too. One parallel region
// runs at a time (concurrent callers, e.g. several async matmuls, queue up).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

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

  // Runs fn(t) for t in [0, tasks), spread over the pool's threads.
  void parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn);

  static ThreadPool& global();
  // Cores this process may run on (the affinity mask), at least 1.
  static int available_cores();

 private:
  void worker_loop(uint64_t seen);
  void resize_locked(int n);

  std::mutex region_mu_;  // serialises parallel regions and resizing
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  std::atomic<int> threads_{1};
  uint64_t generation_ = 0;
  bool stop_ = false;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t tasks_ = 0;
  std::atomic<int64_t> next_{0};
  int active_ = 0;  // workers still in the current region
};

}  // namespace lowbit
