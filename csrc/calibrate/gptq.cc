#include "gptq.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../core/float_formats.h"
#include "../core/qmatrix.h"
#include "linalg.h"

namespace lowbit {
namespace {

constexpr int64_t kRowsPerTile = 64;

// A scale group's parameters with quantize_matrix's float32 arithmetic: s as stored
// (float16-rounded if so), z the zero-point.
struct Params {
  float s = 0.0f, z = 0.0f;
};

Params params_of(const float* v, int64_t n, const QuantLayout& L) {
  float lo = 0.0f, hi = 0.0f, amax = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
    amax = std::max(amax, std::fabs(v[i]));
  }
  Params p;
  if (L.scheme == Scheme::kSymmetric) {
    p.s = amax / static_cast<float>(L.qmax());
  } else {
    p.s = (hi - lo) / static_cast<float>((1 << L.bits) - 1);
  }
  if (L.scale_type == ScaleType::kF16) p.s = fp16_to_fp32(fp32_to_fp16(p.s));
  if (L.scheme == Scheme::kAsymmetric && p.s != 0.0f) {
    p.z = std::min(std::max(std::nearbyint(-lo / p.s), 0.0f), static_cast<float>(L.qmax()));
  }
  return p;
}

inline int code_of(float v, const Params& p, const QuantLayout& L) {
  if (p.s == 0.0f) return static_cast<int>(p.z);
  const float q = std::nearbyint(v / p.s) + p.z;
  return static_cast<int>(std::min(std::max(q, static_cast<float>(L.qmin())), static_cast<float>(L.qmax())));
}

void store_params(const Params& p, int64_t idx, const QuantLayout& L, void* scales, uint8_t* zeros) {
  if (L.scale_type == ScaleType::kF16) {
    static_cast<uint16_t*>(scales)[idx] = fp32_to_fp16(p.s);
  } else {
    static_cast<float*>(scales)[idx] = p.s;
  }
  if (zeros) zeros[idx] = static_cast<uint8_t>(p.z);
}

// U with U^T U = H^-1, upper triangular, from one Cholesky and one triangular inverse: with J the
// reversal, J H J = M M^T gives U = J M^-1 J. `a` holds J H J on entry and U on success (unspecified
// otherwise): the factorisation works in place and U takes its buffer, as n x n floats are
// gigabytes at n = 16384.
bool inverse_cholesky_upper(std::vector<float>& a, int64_t n, const KernelTable& kt, ThreadPool& pool,
                            Work* progress) {
  if (!cholesky_lower(a.data(), n, kt, pool, progress)) return false;
  std::vector<float> m_inv(static_cast<size_t>(n * n));
  invert_lower(a.data(), m_inv.data(), n, kt, pool, progress);
  std::fill(a.begin(), a.end(), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) a[i * n + j] = m_inv[(n - 1 - i) * n + (n - 1 - j)];
  return true;
}

}  // namespace

GptqResult gptq_quantize(const float* w, const float* h, const QuantLayout& L, const GptqOptions& o, uint8_t* data,
                         void* scales, uint8_t* zeros, const KernelTable& kt, ThreadPool& pool,
                         Work* progress) {
  const int64_t rows = L.rows, n = L.cols, B = o.block;
  GptqResult res;
  // Units: multiply-adds of the factorization and inverse, then of the sweep (each row meets each
  // column's updates of the columns after it: about rows * n^2 / 2).
  if (progress) progress->set_total(2 * triangular_work_units(n) + rows * (n * (n + 1) / 2));

  // Column order: natural, or by decreasing H_ii (act-order; ties keep the lower index).
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  if (o.act_order) {
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return h[a * n + a] > h[b * n + b]; });
  }
  // A column no input ever touched (H_ii = 0) is quantized as zero with unit curvature.
  std::vector<char> dead(static_cast<size_t>(n), 0);
  double mean_diag = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    dead[i] = h[i * n + i] == 0.0f;
    mean_diag += dead[i] ? 1.0 : h[i * n + i];
  }
  mean_diag /= static_cast<double>(n);

  // u: first J (H + lambda I) J with H's rows and columns in sweep order (J the reversal), then, once
  // the factorisation succeeds, U.
  std::vector<float> u(static_cast<size_t>(n * n));
  res.lambda = o.damp * mean_diag;
  for (;; ++res.retries) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        const int64_t a = perm[i], b = perm[j];
        float v = (dead[a] || dead[b]) ? 0.0f : h[a * n + b];
        if (i == j) v = static_cast<float>((dead[a] ? 1.0 : static_cast<double>(v)) + res.lambda);
        u[(n - 1 - i) * n + (n - 1 - j)] = v;
      }
    }
    if (inverse_cholesky_upper(u, n, kt, pool, progress)) break;
    if (work::cancelled()) return res;
    if (res.retries == 6) {
      res.error = "the Hessian is not positive definite even with dampening multiplied by 10^6; "
                  "check the calibration data (NaN-free, more rows than a few)";
      return res;
    }
    res.lambda *= 10.0;
  }
  // u^T with rows contiguous, the sgemm operand of the lazy updates; in 64 x 64 tiles, as a plain
  // column walk misses the cache on nearly every element of a large n.
  std::vector<float> ut(static_cast<size_t>(n * n));
  constexpr int64_t kT = 64;
  for (int64_t i0 = 0; i0 < n; i0 += kT)
    for (int64_t j0 = i0; j0 < n; j0 += kT)
      for (int64_t i = i0; i < std::min(n, i0 + kT); ++i)
        for (int64_t j = std::max(i, j0); j < std::min(n, j0 + kT); ++j) ut[j * n + i] = u[i * n + j];

  // Scales fixed before the sweep: tensor, row, and group with act-order (static groups).
  const bool dynamic_groups = L.granularity == Granularity::kGroup && !o.act_order;
  const int64_t gpr = L.groups_per_row(), G = L.granularity == Granularity::kGroup ? L.group_size : n;
  std::vector<Params> fixed;
  if (L.granularity == Granularity::kTensor) {
    std::vector<float> all(w, w + rows * n);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < n; ++c)
        if (dead[c]) all[r * n + c] = 0.0f;
    fixed.push_back(params_of(all.data(), rows * n, L));
    store_params(fixed[0], 0, L, scales, zeros);
  } else if (!dynamic_groups) {
    fixed.resize(static_cast<size_t>(L.num_scales()));
    std::vector<float> seg(static_cast<size_t>(G));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t g = 0; g < gpr; ++g) {
        for (int64_t c = 0; c < G; ++c) seg[c] = dead[g * G + c] ? 0.0f : w[r * n + g * G + c];
        fixed[r * gpr + g] = params_of(seg.data(), G, L);
        store_params(fixed[r * gpr + g], r * gpr + g, L, scales, zeros);
      }
    }
  }

  const int64_t rb = L.row_bytes();
  std::fill(data, data + rows * rb, uint8_t{0});
  const int64_t ntiles = (rows + kRowsPerTile - 1) / kRowsPerTile;
  pool.parallel_for(ntiles, [&](int64_t t) {
    const int64_t r0 = t * kRowsPerTile, r1 = std::min(rows, r0 + kRowsPerTile), R = r1 - r0;
    // wt: the tile's rows in sweep order, with the lazy updates of finished blocks;
    // w1: the current block, with the updates inside it.
    std::vector<float> wt(static_cast<size_t>(R * n)), w1(static_cast<size_t>(R * B)), err(static_cast<size_t>(R * B));
    std::vector<float> tmp;
    std::vector<int> codes(static_cast<size_t>(R * n));
    std::vector<Params> cur(static_cast<size_t>(R));
    for (int64_t r = 0; r < R; ++r)
      for (int64_t i = 0; i < n; ++i) wt[r * n + i] = dead[perm[i]] ? 0.0f : w[(r0 + r) * n + perm[i]];
    for (int64_t i1 = 0; i1 < n; i1 += B) {
      if (work::cancelled()) return;
      const int64_t i2 = std::min(n, i1 + B), nb = i2 - i1;
      for (int64_t r = 0; r < R; ++r) std::copy(wt.begin() + r * n + i1, wt.begin() + r * n + i2, w1.begin() + r * B);
      for (int64_t i = i1; i < i2; ++i) {
        const float* urow = u.data() + i * n;
        const float d = urow[i];
        const int64_t c = perm[i];
        for (int64_t r = 0; r < R; ++r) {
          Params p;
          if (dynamic_groups) {
            // As the sweep reaches a group: its values as of this block's start.
            if (c % G == 0) {
              cur[r] = params_of(wt.data() + r * n + i, std::min(G, n - i), L);
              store_params(cur[r], (r0 + r) * gpr + c / G, L, scales, zeros);
            }
            p = cur[r];
          } else {
            p = L.granularity == Granularity::kTensor ? fixed[0] : fixed[(r0 + r) * gpr + c / G];
          }
          float* wr = w1.data() + r * B - i1;
          const int q = code_of(wr[i], p, L);
          codes[r * n + c] = q;
          const float e = (wr[i] - p.s * static_cast<float>(q - static_cast<int>(p.z))) / d;
          err[r * B + (i - i1)] = e;
          for (int64_t j = i + 1; j < i2; ++j) wr[j] -= e * urow[j];
        }
      }
      if (i2 < n) {
        // wt[:, i2:] -= err * u[i1:i2, i2:]   (sgemm: err [R, nb] times ut[i2:, i1:i2]^T)
        const int64_t rest = n - i2;
        tmp.resize(static_cast<size_t>(R * rest));
        kt.sgemm(err.data(), B, ut.data() + i2 * n + i1, n, nb, R, 0, rest, tmp.data(), rest);
        for (int64_t r = 0; r < R; ++r)
          for (int64_t j = 0; j < rest; ++j) wt[r * n + i2 + j] -= tmp[r * rest + j];
      }
      // Columns [i1, i2) each updated the columns after them: sum of (n - i) for i in [i1, i2).
      if (progress) progress->advance(R * (nb * (2 * n - i1 - i2 + 1) / 2));
    }
    for (int64_t r = 0; r < R; ++r) {
      uint8_t* row = data + (r0 + r) * rb;
      for (int64_t c = 0; c < n; ++c) {
        put_element_code(L, row, c, stored_int_code(L, codes[r * n + c]));
      }
    }
  });
  return res;
}

}  // namespace lowbit
