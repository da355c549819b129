#include "thread_pool.h"

#include <cstdlib>

#if defined(__linux__)
#include <sched.h>
#endif

namespace lowbit {

ThreadPool::~ThreadPool() {
  std::lock_guard<std::mutex> region(region_mu_);
  resize_locked(1);
}

int ThreadPool::available_cores() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

ThreadPool& ThreadPool::global() {
  // Leaked on purpose: worker threads must not be joined from static destructors
  // while Node tears the process down.
  static ThreadPool* pool = [] {
    auto* p = new ThreadPool();
    int n = available_cores();
    if (const char* env = std::getenv("LOWBIT_NUM_THREADS")) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (end != env && *end == '\0' && v >= 1 && v <= 1024) n = static_cast<int>(v);
    }
    p->set_threads(n);
    return p;
  }();
  return *pool;
}

void ThreadPool::set_threads(int n) {
  if (n < 1) n = 1;
  std::lock_guard<std::mutex> region(region_mu_);
  resize_locked(n);
}

void ThreadPool::resize_locked(int n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    ++generation_;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  stop_ = false;
  threads_ = n;
  // A worker starts from the generation current at its creation, so a region
  // opened before it first runs is not missed.
  for (int i = 0; i + 1 < n; ++i) workers_.emplace_back(&ThreadPool::worker_loop, this, generation_);
}

void ThreadPool::worker_loop(uint64_t seen) {
  for (;;) {
    const std::function<void(int64_t)>* fn;
    int64_t tasks;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (stop_) return;
      fn = fn_;
      tasks = tasks_;
    }
    for (int64_t t; (t = next_.fetch_add(1)) < tasks;) (*fn)(t);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn) {
  if (tasks <= 0) return;
  std::lock_guard<std::mutex> region(region_mu_);
  if (workers_.empty() || tasks == 1) {
    for (int64_t t = 0; t < tasks; ++t) fn(t);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    tasks_ = tasks;
    next_ = 0;
    active_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  for (int64_t t; (t = next_.fetch_add(1)) < tasks;) fn(t);
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return active_ == 0; });
  fn_ = nullptr;
}

}  // namespace lowbit
