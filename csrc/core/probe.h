// Machine limits measured on the machine we run on, so benchmark fractions
// hold anywhere: streaming read bandwidth, fp32 FMA peak, int8 dot peak.
#pragma once

#include <cstdint>

#include "kernels.h"
#include "thread_pool.h"

namespace lowbit {

// Median GB/s of `reps` multi-threaded reads of a `bytes` buffer.
double probe_read_bandwidth(const KernelTable& kt, ThreadPool& pool, int64_t bytes, int reps);
// Median G-ops/s of the table's fma_peak / dot_peak loops on every pool thread.
double probe_fma_peak(const KernelTable& kt, ThreadPool& pool, int reps);
double probe_dot_peak(const KernelTable& kt, ThreadPool& pool, int reps);

}  // namespace lowbit
