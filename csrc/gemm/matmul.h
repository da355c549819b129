// y = x * dequantize(q)^T without materialising the float weights.
#pragma once

#include <cstdint>

#include "../core/kernels.h"
#include "../core/layout.h"
#include "../runtime/thread_pool.h"

namespace lowbit {

enum class Activations : uint8_t { kFloat, kInt8 };

// The kernels' view of q (column granularity: unit scales, raw codes; see matmul()).
WeightArgs weight_args(const QMatrixView& q);

// x: row-major [m, q.cols]; y: row-major [m, q.rows]. `kernels` is the table to
// run (normally active_kernels()); shapes its SIMD kernels do not take (cols or
// group size not a multiple of 32) run the scalar reference kernels.
void matmul(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, Activations act, float* y,
            ThreadPool& pool);

// Plain fp32 y = x * w^T (w row-major [n, k]), threaded like matmul: the baseline.
void sgemm(const KernelTable& kernels, const float* x, const float* w, int64_t m, int64_t n, int64_t k, float* y,
           ThreadPool& pool);

}  // namespace lowbit
