#include "probe.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

namespace lowbit {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double peak(PeakFn fn, ThreadPool& pool, int reps, Work* progress) {
  const int threads = pool.threads();
  // About 50 ms per rep per thread on a ~3 GHz core.
  const int64_t iters = 20'000'000;
  std::vector<double> rates;
  if (progress) progress->set_total(reps);
  for (int r = 0; r < reps && !work::cancelled(); ++r) {
    std::atomic<double> ops{0};
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(threads, [&](int64_t) {
      const double n = fn(iters);
      double cur = ops.load();
      while (!ops.compare_exchange_weak(cur, cur + n)) {
      }
    });
    rates.push_back(ops.load() / seconds_since(t0) / 1e9);
    if (progress) progress->advance(1);
  }
  return rates.empty() ? 0.0 : median(rates);
}

}  // namespace

double probe_read_bandwidth(const KernelTable& kt, ThreadPool& pool, int64_t bytes, int reps, Work* progress) {
  const int64_t n = std::max<int64_t>(1, bytes / 4);
  std::unique_ptr<float[]> buf(new float[n]);
  if (progress) progress->set_total(reps + 1);
  const int64_t chunk = 1 << 17;  // floats per task: 512 KiB, four 128 KiB streams
  const int64_t tasks = (n + chunk - 1) / chunk;
  // First touch from the pool, as the reads will be.
  pool.parallel_for(tasks, [&](int64_t t) {
    const int64_t b = t * chunk, e = std::min(n, b + chunk);
    std::fill(buf.get() + b, buf.get() + e, 1.0f);
  });
  if (progress) progress->advance(1);
  std::vector<double> rates;
  std::atomic<float> sink{0};
  for (int r = 0; r < reps && !work::cancelled(); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(tasks, [&](int64_t t) {
      const int64_t b = t * chunk, e = std::min(n, b + chunk);
      const float s = kt.read(buf.get() + b, e - b);
      if (s == -1.0f) sink.store(s);  // never true; keeps the read alive
    });
    rates.push_back(static_cast<double>(n) * 4 / seconds_since(t0) / 1e9);
    if (progress) progress->advance(1);
  }
  return rates.empty() ? 0.0 : median(rates);
}

double probe_fma_peak(const KernelTable& kt, ThreadPool& pool, int reps, Work* progress) {
  return peak(kt.fma_peak, pool, reps, progress);
}
double probe_dot_peak(const KernelTable& kt, ThreadPool& pool, int reps, Work* progress) {
  return peak(kt.dot_peak, pool, reps, progress);
}

}  // namespace lowbit
