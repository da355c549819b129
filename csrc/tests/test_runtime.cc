// The thread pool under load: many regions back to back, with workers and callers that go to sleep
// between them (the handshake a lost wake-up would hang), a watchdog turning a hang into a failure.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "../runtime/thread_pool.h"
#include "check.h"

#if defined(__linux__)
#include <sched.h>
#elif defined(_WIN32)
#include "../runtime/win32.h"
#endif

namespace lowbit::tests {

void test_thread_pool() {
  // A hang here would stall the whole test run (and CI): fail loudly instead.
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 1200 && !finished.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!finished.load()) {
      std::fprintf(stderr, "FAIL thread pool: 50000 regions did not finish within 120 s (a lost wake-up)\n");
      std::_Exit(1);
    }
  });
  for (const int spin : {0, 100}) {
    ThreadPool pool;
    pool.set_threads(3);
    pool.set_spin_us(spin);
    std::atomic<int64_t> sum{0};
    int64_t want = 0;
    // spin 0: every region ends with the caller or a worker asleep, the path qemu's aarch64 hung on
    // (about one region in 50000 before the fix).
    const int regions = spin == 0 ? 50000 : 5000;
    for (int r = 0; r < regions; ++r) {
      pool.parallel_for(4, [&](int64_t t) { sum.fetch_add(t + r, std::memory_order_relaxed); });
      want += 6 + 4 * static_cast<int64_t>(r);
    }
    CHECK(sum.load() == want, "thread pool (spin %d us): region sums %lld, expected %lld", spin,
          static_cast<long long>(sum.load()), static_cast<long long>(want));
    // Resizing between regions (the tests change the thread count often).
    for (int n = 1; n <= 4; ++n) {
      pool.set_threads(n);
      std::atomic<int> hits{0};
      pool.parallel_for(100, [&](int64_t) { hits.fetch_add(1); });
      CHECK(hits.load() == 100, "thread pool: %d of 100 tasks ran with %d threads", hits.load(), n);
    }
  }
  finished.store(true);
  watchdog.join();

  // The default thread count follows the process's affinity (taskset, `start /affinity`, job objects),
  // not the machine's processor count: restricted to one processor, one thread.
#if defined(__linux__)
  cpu_set_t before, one;
  if (sched_getaffinity(0, sizeof before, &before) == 0 && CPU_COUNT(&before) > 1) {
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &before)) {
        CPU_SET(c, &one);
        break;
      }
    }
    if (sched_setaffinity(0, sizeof one, &one) == 0) {
      CHECK(ThreadPool::available_cores() == 1, "thread pool: %d cores available under an affinity of one", ThreadPool::available_cores());
      sched_setaffinity(0, sizeof before, &before);
    }
  }
#elif defined(_WIN32)
  DWORD_PTR process = 0, system = 0;
  if (GetProcessAffinityMask(GetCurrentProcess(), &process, &system) && (process & (process - 1)) != 0) {
    if (SetProcessAffinityMask(GetCurrentProcess(), process & (~process + 1))) {
      CHECK(ThreadPool::available_cores() == 1, "thread pool: %d cores available under an affinity of one", ThreadPool::available_cores());
      SetProcessAffinityMask(GetCurrentProcess(), process);
    }
  }
#endif
}

}  // namespace lowbit::tests
