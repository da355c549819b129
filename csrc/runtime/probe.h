// Machine limits measured on the machine we run on, so benchmark fractions
// hold anywhere: streaming read bandwidth, fp32 FMA peak, int8 dot peak.
#pragma once

#include <cstdint>

#include "../core/kernels.h"
#include "thread_pool.h"
#include "work.h"

namespace lowbit {

// Median GB/s of `reps` multi-threaded reads of a `bytes` buffer. `progress` (optional) counts the
// first touch and each rep; a cancelled probe (work.h) returns early with a meaningless figure.
double probe_read_bandwidth(const KernelTable& kt, ThreadPool& pool, int64_t bytes, int reps, Work* progress = nullptr);
// Median G-ops/s of the table's fma_peak / dot_peak loops on every pool thread; `progress` counts reps.
double probe_fma_peak(const KernelTable& kt, ThreadPool& pool, int reps, Work* progress = nullptr);
double probe_dot_peak(const KernelTable& kt, ThreadPool& pool, int reps, Work* progress = nullptr);

}  // namespace lowbit
