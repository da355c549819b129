// Dense float32 linear algebra for calibration (Hessians, GPTQ). Row-major
// n x n matrices; blocked so that the O(n^3) work runs in the dispatched sgemm
// kernel and on the thread pool. Results do not depend on the thread count.
#pragma once

#include <cstdint>

#include "../core/kernels.h"
#include "../runtime/thread_pool.h"
#include "../runtime/work.h"

namespace lowbit {

// acc[i * k + j] += sum_r x[r * k + i] * x[r * k + j] for a row-major [rows, k] batch:
// X^T X, accumulated in double across calls (each call's product is formed in float32).
void accumulate_xtx(const float* x, int64_t rows, int64_t k, double* acc, const KernelTable& kt, ThreadPool& pool);

// In place: the lower triangle of `a` becomes L with L L^T = a (the upper triangle
// is zeroed). Returns false, leaving `a` unspecified, when a pivot is not positive
// (a is not positive definite in float32) or the current Work was cancelled.
// `progress` (optional) advances by about n^3 / 6 multiply-adds in all.
bool cholesky_lower(float* a, int64_t n, const KernelTable& kt, ThreadPool& pool, Work* progress = nullptr);

// x = l^-1 for a lower-triangular l with a nonzero diagonal (x is lower triangular); unspecified
// when cancelled. `progress` as for cholesky_lower.
void invert_lower(const float* l, float* x, int64_t n, const KernelTable& kt, ThreadPool& pool,
                  Work* progress = nullptr);

// The multiply-adds cholesky_lower and invert_lower each report for an n x n matrix.
int64_t triangular_work_units(int64_t n);

}  // namespace lowbit
