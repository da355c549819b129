// Calibration statistics and the closed-form calibration methods: per-input-channel
// activation statistics with the Hessian proxy, SmoothQuant, and the straight-through
// estimator of fake quantization.
#pragma once

#include <cstdint>

#include "../core/kernels.h"
#include "../core/layout.h"
#include "../runtime/thread_pool.h"

namespace lowbit {

// Adds a batch x [n, k]: absmax[j] = max(absmax[j], |x_ij|), sum_abs[j] += sum_i |x_ij|
// (double), and, when xtx is set, xtx += X^T X (double, [k, k]).
void accumulate_stats(const float* x, int64_t n, int64_t k, float* absmax, double* sum_abs, double* xtx,
                      const KernelTable& kt, ThreadPool& pool);

// SmoothQuant: s_j = max|X_j|^alpha / max|W_j|^(1 - alpha), clamped to [1e-5, 1e5] (a channel
// with no weight or no activation keeps s_j = 1); w_out = W diag(s), so X diag(s)^-1 (W diag(s))^T
// equals X W^T. w: [rows, cols], act_absmax: [cols].
void smooth_quant(const float* w, int64_t rows, int64_t cols, const float* act_absmax, double alpha, float* w_out,
                  float* s_out, ThreadPool& pool);

// The straight-through estimator's backward pass for fake quantization with q's int
// codes: grad passes where w lies inside its group's representable range
// [s (qmin - z), s (qmax - z)] and is zeroed where quantization clipped it.
void ste_backward(const float* w, const QMatrixView& q, const float* grad, float* out, ThreadPool& pool);

}  // namespace lowbit
