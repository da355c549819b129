#include "calibrate.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/qmatrix.h"
#include "linalg.h"

namespace lowbit {

void accumulate_stats(const float* x, int64_t n, int64_t k, float* absmax, double* sum_abs, double* xtx,
                      const KernelTable& kt, ThreadPool& pool) {
  constexpr int64_t kCols = 256;
  pool.parallel_for((k + kCols - 1) / kCols, [&](int64_t t) {
    const int64_t c0 = t * kCols, c1 = std::min(k, c0 + kCols);
    for (int64_t r = 0; r < n; ++r) {
      const float* row = x + r * k;
      for (int64_t c = c0; c < c1; ++c) {
        const float a = std::fabs(row[c]);
        absmax[c] = std::max(absmax[c], a);
        sum_abs[c] += a;
      }
    }
  });
  if (xtx) accumulate_xtx(x, n, k, xtx, kt, pool);
}

void smooth_quant(const float* w, int64_t rows, int64_t cols, const float* act_absmax, double alpha, float* w_out,
                  float* s_out, ThreadPool& pool) {
  std::vector<float> wmax(static_cast<size_t>(cols), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) wmax[c] = std::max(wmax[c], std::fabs(w[r * cols + c]));
  for (int64_t c = 0; c < cols; ++c) {
    if (act_absmax[c] == 0.0f || wmax[c] == 0.0f) {
      s_out[c] = 1.0f;
      continue;
    }
    const double s = std::pow(static_cast<double>(act_absmax[c]), alpha) / std::pow(static_cast<double>(wmax[c]), 1.0 - alpha);
    s_out[c] = static_cast<float>(std::min(1e5, std::max(1e-5, s)));
  }
  pool.parallel_for((rows + 63) / 64, [&](int64_t t) {
    for (int64_t r = t * 64; r < std::min(rows, (t + 1) * 64); ++r)
      for (int64_t c = 0; c < cols; ++c) w_out[r * cols + c] = w[r * cols + c] * s_out[c];
  });
}

void ste_backward(const float* w, const QMatrixView& q, const float* grad, float* out, ThreadPool& pool) {
  const QuantLayout& L = q.layout;
  const float qmin = static_cast<float>(L.qmin()), qmax = static_cast<float>(L.qmax());
  pool.parallel_for((L.rows + 63) / 64, [&](int64_t t) {
    for (int64_t r = t * 64; r < std::min(L.rows, (t + 1) * 64); ++r) {
      for (int64_t c = 0; c < L.cols; ++c) {
        const int64_t idx = L.scale_index(r, c);
        const float s = scale_at(q, idx);
        const float z = q.zeros ? static_cast<float>(q.zeros[idx]) : 0.0f;
        // The dequantized range's ends, rounded as dequantize() rounds them.
        const float lo = s * (qmin - z), hi = s * (qmax - z);
        const float v = w[r * L.cols + c];
        out[r * L.cols + c] = (v >= lo && v <= hi) ? grad[r * L.cols + c] : 0.0f;
      }
    }
  });
}

}  // namespace lowbit
