#include "matmul.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "matmul_ref.h"

namespace lowbit {
namespace {

// Work is split into fixed-size chunks of output columns (and of x rows for
// large m). Chunk sizes never depend on the thread count, and every kernel
// computes each output element with the same instruction sequence wherever it
// falls, so results are bit-identical for any number of threads.
constexpr int64_t kColsPerTask = 16;
constexpr int64_t kRowsPerTask = 64;

const float kUnitScale = 1.0f;

WeightArgs weight_args(const QMatrixView& q) {
  const QuantLayout& L = q.layout;
  WeightArgs w;
  w.data = q.data;
  w.row_bytes = L.row_bytes();
  w.k = L.cols;
  const bool sym = L.scheme == Scheme::kSymmetric;
  w.code = L.bits == 4 ? WCode::kU4 : (sym ? WCode::kS8 : WCode::kU8);
  w.bias = (L.bits == 4 && sym) ? 8 : 0;
  w.scales = q.scales;
  w.zeros = q.zeros;
  switch (L.granularity) {
    case Granularity::kTensor:
      w.scale_stride = 0;
      w.group = L.cols;
      break;
    case Granularity::kRow:
      w.scale_stride = 1;
      w.group = L.cols;
      break;
    case Granularity::kGroup:
      w.scale_stride = L.groups_per_row();
      w.group = L.group_size;
      break;
    case Granularity::kColumn:
      // Column scales are folded into x, column zero-points into a per-row
      // correction (see matmul); the kernels see unit scales and raw codes.
      w.scales = &kUnitScale;
      w.scale_stride = 0;
      w.group = L.cols;
      w.zeros = nullptr;
      break;
  }
  return w;
}

// Reorders each 32-column block as its 16 even columns then its 16 odd ones:
// the order in which the 4-bit kernels unpack low and high nibbles.
template <typename T>
void permute_even_odd(T* row, int64_t k) {
  T tmp[32];
  for (int64_t b = 0; b < k; b += 32) {
    for (int i = 0; i < 16; ++i) {
      tmp[i] = row[b + 2 * i];
      tmp[16 + i] = row[b + 2 * i + 1];
    }
    std::copy(tmp, tmp + 32, row + b);
  }
}

void run_tasks(ThreadPool& pool, int64_t m, int64_t n,
               const std::function<void(int64_t i0, int64_t i1, int64_t n0, int64_t n1)>& fn) {
  const int64_t mt = (m + kRowsPerTask - 1) / kRowsPerTask;
  const int64_t nt = (n + kColsPerTask - 1) / kColsPerTask;
  pool.parallel_for(mt * nt, [&](int64_t t) {
    // Column chunks vary fastest so concurrent tasks share the same x rows.
    const int64_t mi = t / nt, ni = t % nt;
    fn(mi * kRowsPerTask, std::min(m, (mi + 1) * kRowsPerTask), ni * kColsPerTask,
       std::min(n, (ni + 1) * kColsPerTask));
  });
}

}  // namespace

void matmul(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, Activations act, float* y,
            ThreadPool& pool) {
  const QuantLayout& L = q.layout;
  const int64_t k = L.cols, n = L.rows;
  const WeightArgs w = weight_args(q);
  const bool simd = kernels.simd_shapes && k % 32 == 0 && w.group % 32 == 0;
  const KernelTable& kt = simd ? kernels : ref::kTable;
  const bool column = L.granularity == Granularity::kColumn;
  const bool permute = simd && L.bits == 4;

  // x' = x * diag(column scales), 4-bit SIMD: permuted per block. Only copied when needed.
  std::vector<float> xbuf;
  const float* xp = x;
  if (column || (permute && act == Activations::kFloat)) {
    xbuf.assign(x, x + m * k);
    if (column) {
      for (int64_t i = 0; i < m; ++i)
        for (int64_t c = 0; c < k; ++c) xbuf[i * k + c] *= q.scales[c];
    }
    xp = xbuf.data();
  }
  // Column zero-points: y -= sum_c x'_c z_c, the same for every output column.
  std::vector<float> correction;
  const bool column_zeros = column && q.zeros != nullptr;

  if (act == Activations::kFloat) {
    if (column_zeros) {
      correction.resize(m);
      for (int64_t i = 0; i < m; ++i) {
        double c = 0.0;
        for (int64_t j = 0; j < k; ++j) c += static_cast<double>(xp[i * k + j]) * q.zeros[j];
        correction[i] = static_cast<float>(c);
      }
    }
    if (permute) {
      for (int64_t i = 0; i < m; ++i) permute_even_odd(xbuf.data() + i * k, k);
    }
    run_tasks(pool, m, n, [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
      kt.gemm_f32(w, xp + i0 * k, k, i1 - i0, n0, n1, y + i0 * n, n);
    });
  } else {
    const int64_t nb = (k + kActBlock - 1) / kActBlock;
    std::vector<int8_t> xq(static_cast<size_t>(m * k));
    std::vector<float> xd(static_cast<size_t>(m * nb));
    std::vector<int32_t> xs(static_cast<size_t>(m * nb));
    if (column_zeros) correction.resize(m);
    pool.parallel_for(m, [&](int64_t i) {
      int8_t* qi = xq.data() + i * k;
      kt.quantize_act(xp + i * k, k, qi, xd.data() + i * nb, xs.data() + i * nb);
      if (column_zeros) {
        float c = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
          int32_t isum = 0;
          for (int64_t j = b * kActBlock; j < std::min(k, (b + 1) * kActBlock); ++j) isum += qi[j] * q.zeros[j];
          c += xd[i * nb + b] * static_cast<float>(isum);
        }
        correction[i] = c;
      }
      if (permute) permute_even_odd(qi, k);
    });
    const ActI8 a{xq.data(), xd.data(), xs.data(), k, nb};
    run_tasks(pool, m, n, [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
      const ActI8 ai{a.q + i0 * k, a.d + i0 * nb, a.sum + i0 * nb, k, nb};
      kt.gemm_i8(w, ai, i1 - i0, n0, n1, y + i0 * n, n);
    });
  }
  if (column_zeros) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) y[i * n + j] -= correction[i];
  }
}

void sgemm(const KernelTable& kernels, const float* x, const float* w, int64_t m, int64_t n, int64_t k, float* y,
           ThreadPool& pool) {
  run_tasks(pool, m, n, [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
    kernels.sgemm(x + i0 * k, k, w, k, k, i1 - i0, n0, n1, y + i0 * n, n);
  });
}

}  // namespace lowbit
