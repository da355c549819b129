#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#if defined(__linux__)
#include <sched.h>
#elif defined(_WIN32)
#include "win32.h"
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LOWBIT_PAUSE() _mm_pause()
#elif defined(__aarch64__) && defined(__GNUC__)
#define LOWBIT_PAUSE() __asm__ volatile("yield")
#else
#define LOWBIT_PAUSE() std::this_thread::yield()
#endif

namespace lowbit {
namespace {

int env_int(const char* name, int lo, int hi, int fallback) {
  if (const char* env = std::getenv(name)) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= lo && v <= hi) return static_cast<int>(v);
  }
  return fallback;
}

// Polls `done()` for up to `us` microseconds; true if it became true.
template <typename F>
bool spin_until(int us, F&& done) {
  if (us <= 0) return done();
  const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  for (int i = 0;; ++i) {
    if (done()) return true;
    LOWBIT_PAUSE();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() >= end) return done();
  }
}

}  // namespace

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
#elif defined(_WIN32)
  // The process's affinity mask (`start /affinity`, job objects) where it describes every processor the
  // process may use: machines of one processor group (up to 64 logical processors).
  DWORD_PTR process = 0, system = 0;
  if (GetActiveProcessorCount(ALL_PROCESSOR_GROUPS) <= 64 && GetProcessAffinityMask(GetCurrentProcess(), &process, &system)) {
    int n = 0;
    for (DWORD_PTR m = process; m != 0; m &= m - 1) ++n;
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
    p->set_spin_us(env_int("LOWBIT_SPIN_US", 0, 1000000, 100));
    p->set_threads(env_int("LOWBIT_NUM_THREADS", 1, 1024, available_cores()));
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
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  stop_ = false;
  threads_ = n;
  // A worker starts from the generation current at its creation, so a region
  // opened before it first runs is not missed.
  for (int i = 0; i + 1 < n; ++i) workers_.emplace_back(&ThreadPool::worker_loop, this, generation_.load());
}

void ThreadPool::worker_loop(uint64_t seen) {
  for (;;) {
    if (!spin_until(spin_us_.load(std::memory_order_relaxed),
                    [&] { return generation_.load(std::memory_order_acquire) != seen; })) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      sleepers_.fetch_sub(1);
    }
    const std::function<void(int64_t)>* fn;
    Work* work;
    int64_t tasks;
    {
      // The region's fields were written under mu_ before the generation moved.
      std::lock_guard<std::mutex> lock(mu_);
      seen = generation_.load();
      if (stop_) return;
      fn = fn_;
      work = work_;
      tasks = tasks_;
    }
    {
      Work::Scope scope(work);
      run_tasks(tasks, *fn, work);
    }
    // The last worker out tells a caller that may be waiting. Under mu_, not through a flag the caller
    // sets (a store-then-load handshake on two atomics): qemu's aarch64-on-x86 translation does not keep a
    // release store before a later acquire load, and a lost wake-up hung the caller there. An uncontended
    // lock and a notify without waiters cost no system call.
    if (active_.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      done_.notify_one();
    }
  }
}

void ThreadPool::run_tasks(int64_t tasks, const std::function<void(int64_t)>& fn, const Work* work) {
  for (int64_t t; (t = next_.fetch_add(1)) < tasks;) {
    if (work && work->cancelled()) {
      next_.store(tasks);
      return;
    }
    fn(t);
  }
}

void ThreadPool::parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn) {
  if (tasks <= 0) return;
  Work* work = Work::current();
  std::lock_guard<std::mutex> region(region_mu_);
  if (workers_.empty() || tasks == 1) {
    for (int64_t t = 0; t < tasks && !(work && work->cancelled()); ++t) fn(t);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    work_ = work;
    tasks_ = tasks;
    next_ = 0;
    active_ = static_cast<int>(workers_.size());
    generation_.fetch_add(1, std::memory_order_release);
  }
  // A worker counted in sleepers_ checks the generation under mu_ before it waits, so
  // one that is not yet counted will see the new generation and not sleep.
  if (sleepers_.load() > 0) wake_.notify_all();
  run_tasks(tasks, fn, work);
  if (!spin_until(spin_us_.load(std::memory_order_relaxed), [&] { return active_.load(std::memory_order_acquire) == 0; })) {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return active_.load() == 0; });
  }
  std::lock_guard<std::mutex> lock(mu_);
  fn_ = nullptr;
  work_ = nullptr;
}

void run_grid(ThreadPool& pool, int64_t mt, int64_t nt, int64_t macs, const std::function<void(int64_t, int64_t)>& fn) {
  auto task = [&](int64_t t) { fn(t / nt, t % nt); };
  if (macs < kMinParallelWork) {
    for (int64_t t = 0; t < mt * nt; ++t) task(t);
  } else {
    pool.parallel_for(mt * nt, task);
  }
}

void run_chunks(ThreadPool& pool, int64_t m, int64_t n, int64_t k, int64_t rows_per_task, int64_t cols_per_task,
                const std::function<void(int64_t, int64_t, int64_t, int64_t)>& fn) {
  run_grid(pool, (m + rows_per_task - 1) / rows_per_task, (n + cols_per_task - 1) / cols_per_task, m * n * k,
           [&](int64_t mi, int64_t ni) {
             fn(mi * rows_per_task, std::min(m, (mi + 1) * rows_per_task), ni * cols_per_task,
                std::min(n, (ni + 1) * cols_per_task));
           });
}

}  // namespace lowbit
