#include "awq.h"

#include <algorithm>
#include <cmath>

#include "../core/qbuffers.h"
#include "../core/qmatrix.h"
#include "../formats/quantize.h"
#include "../gemm/matmul.h"

namespace lowbit {
namespace {

// The per-channel scales for one alpha: meanAbs^alpha, normalised by sqrt(max * min) as AWQ does.
std::vector<float> scales_for(const std::vector<double>& mean_abs, double alpha) {
  const int64_t k = static_cast<int64_t>(mean_abs.size());
  std::vector<double> s(static_cast<size_t>(k));
  double lo = INFINITY, hi = 0.0;
  for (int64_t c = 0; c < k; ++c) {
    s[c] = std::max(std::pow(mean_abs[c], alpha), 1e-4);
    lo = std::min(lo, s[c]);
    hi = std::max(hi, s[c]);
  }
  const double norm = std::sqrt(hi * lo);
  std::vector<float> out(static_cast<size_t>(k));
  for (int64_t c = 0; c < k; ++c) out[c] = static_cast<float>(s[c] / norm);
  return out;
}

// Each group of each row clipped to r * [lo, hi] (r * amax for symmetric), r chosen from
// {1, 0.95, ..., 0.55} to minimise d^T H_g d, d the group's quantization error and H_g = X_g^T X_g.
void clip_search(std::vector<float>& ws, const std::vector<float>& xs, int64_t n, const QuantLayout& L,
                 ThreadPool& pool) {
  const int64_t rows = L.rows, cols = L.cols;
  const int64_t G = L.granularity == Granularity::kGroup ? L.group_size : cols;
  const int64_t ng = cols / G;
  const bool sym = L.scheme == Scheme::kSymmetric;
  const float qmax = static_cast<float>(L.qmax()), qmin = static_cast<float>(L.qmin());
  const float levels = sym ? qmax : static_cast<float>((1 << L.bits) - 1);
  pool.parallel_for(ng, [&](int64_t g) {
    // H_g in double from the scaled activations.
    std::vector<double> hg(static_cast<size_t>(G * G), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const float* xr = xs.data() + i * cols + g * G;
      for (int64_t a = 0; a < G; ++a)
        for (int64_t b = 0; b <= a; ++b) hg[a * G + b] += static_cast<double>(xr[a]) * xr[b];
    }
    for (int64_t a = 0; a < G; ++a)
      for (int64_t b = 0; b < a; ++b) hg[b * G + a] = hg[a * G + b];
    std::vector<float> d(static_cast<size_t>(G));
    for (int64_t r = 0; r < rows; ++r) {
      float* v = ws.data() + r * cols + g * G;
      float lo = 0.0f, hi = 0.0f, amax = 0.0f;
      for (int64_t a = 0; a < G; ++a) {
        lo = std::min(lo, v[a]);
        hi = std::max(hi, v[a]);
        amax = std::max(amax, std::fabs(v[a]));
      }
      double best = INFINITY;
      float best_ratio = 1.0f;
      for (int step = 0; step < 10; ++step) {
        const float ratio = 1.0f - 0.05f * static_cast<float>(step);
        const float clo = sym ? -ratio * amax : ratio * lo, chi = sym ? ratio * amax : ratio * hi;
        const float s = sym ? chi / levels : (chi - clo) / levels;
        const float z = (sym || s == 0.0f) ? 0.0f : std::nearbyint(-clo / s);
        for (int64_t a = 0; a < G; ++a) {
          const float c = std::min(std::max(v[a], clo), chi);
          const float q = s == 0.0f ? z : std::min(std::max(std::nearbyint(c / s) + z, qmin), qmax);
          d[a] = v[a] - s * (q - z);
        }
        double e = 0.0;
        for (int64_t a = 0; a < G; ++a) {
          double t = 0.0;
          for (int64_t b = 0; b < G; ++b) t += hg[a * G + b] * d[b];
          e += d[a] * t;
        }
        if (e < best) {
          best = e;
          best_ratio = ratio;
        }
      }
      if (best_ratio < 1.0f) {
        const float clo = sym ? -best_ratio * amax : best_ratio * lo, chi = sym ? best_ratio * amax : best_ratio * hi;
        for (int64_t a = 0; a < G; ++a) v[a] = std::min(std::max(v[a], clo), chi);
      }
    }
  });
}

}  // namespace

AwqResult awq_quantize(const float* w, const float* x, int64_t n, const QuantLayout& L, const AwqOptions& o,
                       uint8_t* data, void* scales, uint8_t* zeros, float* tensor_scale, float* s_out,
                       const KernelTable& kt, ThreadPool& pool, Work* progress) {
  const int64_t rows = L.rows, cols = L.cols;
  AwqResult res;
  // Units: the layer's output (n * rows * cols multiply-adds) once, then per grid point the scaled
  // copies and the quantization (4 passes over the weights) and the quantized layer's output.
  const int64_t wpass = rows * cols, product = n * rows * cols;
  if (progress) progress->set_total(product + o.grid * (4 * wpass + product) + 4 * wpass);
  auto advance = [&](int64_t u) {
    if (progress) progress->advance(u);
  };
  std::vector<double> mean_abs(static_cast<size_t>(cols), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < cols; ++c) mean_abs[c] += std::fabs(x[i * cols + c]);
  for (double& m : mean_abs) m /= static_cast<double>(n);

  // The layer's float output on the calibration batch, the target of every candidate.
  std::vector<float> y(static_cast<size_t>(n * rows)), yh(y.size());
  sgemm(kt, x, w, n, rows, cols, y.data(), pool);
  advance(product);

  std::vector<float> ws(static_cast<size_t>(rows * cols)), xs(static_cast<size_t>(n * cols));
  QuantizedBuffers buf(L);
  double best = INFINITY;
  for (int i = 0; i < o.grid; ++i) {
    if (work::cancelled()) return res;
    const double alpha = static_cast<double>(i) / o.grid;
    const std::vector<float> s = scales_for(mean_abs, alpha);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) ws[r * cols + c] = w[r * cols + c] * s[c];
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < cols; ++c) xs[r * cols + c] = x[r * cols + c] / s[c];
    if (const char* err = quantize_matrix(ws.data(), L, buf.data.data(), buf.scales.data(),
                                          buf.zeros.empty() ? nullptr : buf.zeros.data(), &buf.tensor_scale, &pool)) {
      res.error = err;
      return res;
    }
    advance(4 * wpass);
    matmul(kt, buf.view(), xs.data(), n, Activations::kFloat, yh.data(), pool);
    advance(product);
    double e = 0.0;
    for (size_t j = 0; j < y.size(); ++j) e += (static_cast<double>(y[j]) - yh[j]) * (static_cast<double>(y[j]) - yh[j]);
    res.errors.push_back(e);
    if (e < best) {
      best = e;
      res.alpha = alpha;
    }
  }

  const std::vector<float> s = scales_for(mean_abs, res.alpha);
  std::copy(s.begin(), s.end(), s_out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) ws[r * cols + c] = w[r * cols + c] * s[c];
  if (o.clip_search) {
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < cols; ++c) xs[r * cols + c] = x[r * cols + c] / s[c];
    clip_search(ws, xs, n, L, pool);
  }
  if (work::cancelled()) return res;
  res.error = quantize_matrix(ws.data(), L, data, scales, zeros, tensor_scale, &pool);
  advance(4 * wpass);
  return res;
}

}  // namespace lowbit
