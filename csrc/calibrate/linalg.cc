#include "linalg.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lowbit {
namespace {

// Fixed tile sizes (never derived from the thread count), so results are bit-identical
// for any number of threads.
constexpr int64_t kTile = 64;
constexpr int64_t kBlock = 128;

int64_t tiles(int64_t n) { return (n + kTile - 1) / kTile; }

}  // namespace

void accumulate_xtx(const float* x, int64_t rows, int64_t k, double* acc, const KernelTable& kt, ThreadPool& pool) {
  // Columns of x become rows, so sgemm's y = a b^T gives X^T X directly.
  std::vector<float> xt(static_cast<size_t>(k * rows));
  pool.parallel_for(tiles(k), [&](int64_t t) {
    for (int64_t c = t * kTile; c < std::min(k, (t + 1) * kTile); ++c)
      for (int64_t r = 0; r < rows; ++r) xt[c * rows + r] = x[r * k + c];
  });
  const int64_t nt = tiles(k);
  // Lower-triangle tiles only; the upper triangle is mirrored.
  pool.parallel_for(nt * (nt + 1) / 2, [&](int64_t t) {
    int64_t ti = static_cast<int64_t>((std::sqrt(8.0 * static_cast<double>(t) + 1.0) - 1.0) / 2.0);
    while (ti * (ti + 1) / 2 > t) --ti;
    while ((ti + 1) * (ti + 2) / 2 <= t) ++ti;
    const int64_t tj = t - ti * (ti + 1) / 2;
    const int64_t i0 = ti * kTile, i1 = std::min(k, i0 + kTile), j0 = tj * kTile, j1 = std::min(k, j0 + kTile);
    float tmp[kTile * kTile];
    kt.sgemm(xt.data() + i0 * rows, rows, xt.data() + j0 * rows, rows, rows, i1 - i0, 0, j1 - j0, tmp, kTile);
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t j = j0; j < j1; ++j) {
        const double v = tmp[(i - i0) * kTile + (j - j0)];
        acc[i * k + j] += v;
        if (i != j && ti != tj) acc[j * k + i] += v;
      }
    }
    if (ti == tj) {
      // A diagonal tile holds both triangles already; keep it exactly symmetric.
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < i; ++j) acc[j * k + i] = acc[i * k + j];
    }
  });
}

namespace {

// Multiply-adds of the block [j0, j1) of a blocked n x n triangular factorization or inverse:
// the block times what lies beyond it, so the blocks of one matrix add up to triangular_work_units.
int64_t block_units(int64_t n, int64_t j0, int64_t j1) {
  return ((n - j0) * (n - j0) - (n - j1) * (n - j1)) * (n - j0) / 6 + 1;
}

}  // namespace

int64_t triangular_work_units(int64_t n) {
  int64_t u = 0;
  for (int64_t j0 = 0; j0 < n; j0 += kBlock) u += block_units(n, j0, std::min(n, j0 + kBlock));
  return u;
}

bool cholesky_lower(float* a, int64_t n, const KernelTable& kt, ThreadPool& pool, Work* progress) {
  for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
    const int64_t j1 = std::min(n, j0 + kBlock), nb = j1 - j0;
    if (work::cancelled()) return false;
    // 1. The diagonal block (earlier blocks are already subtracted), unblocked, double sums.
    for (int64_t j = j0; j < j1; ++j) {
      double d = a[j * n + j];
      for (int64_t q = j0; q < j; ++q) d -= static_cast<double>(a[j * n + q]) * a[j * n + q];
      if (!(d > 0.0) || !std::isfinite(d)) return false;
      const double ljj = std::sqrt(d);
      a[j * n + j] = static_cast<float>(ljj);
      for (int64_t i = j + 1; i < j1; ++i) {
        double s = a[i * n + j];
        for (int64_t q = j0; q < j; ++q) s -= static_cast<double>(a[i * n + q]) * a[j * n + q];
        a[i * n + j] = static_cast<float>(s / ljj);
      }
    }
    if (j1 == n) {
      if (progress) progress->advance(block_units(n, j0, j1));
      break;
    }
    // 2. The panel below it: each row solves against the block's transpose.
    const int64_t rest = n - j1;
    pool.parallel_for(tiles(rest), [&](int64_t t) {
      for (int64_t i = j1 + t * kTile; i < std::min(n, j1 + (t + 1) * kTile); ++i) {
        for (int64_t j = j0; j < j1; ++j) {
          double s = a[i * n + j];
          for (int64_t q = j0; q < j; ++q) s -= static_cast<double>(a[i * n + q]) * a[j * n + q];
          a[i * n + j] = static_cast<float>(s / a[j * n + j]);
        }
      }
    });
    // 3. The trailing lower triangle minus panel * panel^T, by row tiles (sgemm). Most of the block's
    // work: its progress is reported tile by tile (a block of a 4096-column Hessian takes ~0.5 s).
    const int64_t units = block_units(n, j0, j1), share = units / tiles(rest);
    pool.parallel_for(tiles(rest), [&](int64_t t) {
      const int64_t r0 = j1 + t * kTile, r1 = std::min(n, r0 + kTile), cols = r1 - j1;
      std::vector<float> tmp(static_cast<size_t>((r1 - r0) * cols));
      kt.sgemm(a + r0 * n + j0, n, a + j1 * n + j0, n, nb, r1 - r0, 0, cols, tmp.data(), cols);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = j1; c <= r; ++c) a[r * n + c] -= tmp[(r - r0) * cols + (c - j1)];
      if (progress) progress->advance(share);
    });
    if (progress) progress->advance(units - share * tiles(rest));
  }
  for (int64_t i = 0; i < n; ++i) std::fill(a + i * n + i + 1, a + (i + 1) * n, 0.0f);
  return true;
}

void invert_lower(const float* l, float* x, int64_t n, const KernelTable& kt, ThreadPool& pool, Work* progress) {
  // Block row I of x: x_II = l_II^-1 and x_IJ = -l_II^-1 (l_I,<I x_<I,J). The product runs in sgemm,
  // which wants x's columns contiguous: keep x^T alongside.
  std::vector<float> xt(static_cast<size_t>(n * n), 0.0f);
  std::fill(x, x + n * n, 0.0f);
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t i1 = std::min(n, i0 + kBlock), nb = i1 - i0;
    if (work::cancelled()) return;
    // t = l[I, <I] * x[<I, <I], into x[I, <I] (then solved in place). x is lower triangular:
    // for columns from c0 on, rows above c0 are zero, so the product starts at c0.
    if (i0 > 0) {
      pool.parallel_for(tiles(i0), [&](int64_t t) {
        const int64_t c0 = t * kTile, c1 = std::min(i0, c0 + kTile);
        kt.sgemm(l + i0 * n + c0, n, xt.data() + c0 * n + c0, n, i0 - c0, nb, 0, c1 - c0, x + i0 * n + c0, n);
      });
    }
    // Columns are independent: x[r, c] = (rhs - sum_{i0 <= q < r} l[r, q] x[q, c]) / l[r, r],
    // rhs = -t[r, c] left of the block, the identity inside it. Progress tile by tile, as in cholesky_lower:
    // block row I costs about what block n - i1 of a factorization does (the work grows with i1 here).
    const int64_t units = block_units(n, n - i1, n - i0), share = units / tiles(i1);
    pool.parallel_for(tiles(i1), [&](int64_t t) {
      const int64_t c0 = t * kTile, c1 = std::min(i1, c0 + kTile);
      for (int64_t c = c0; c < c1; ++c) {
        for (int64_t r = std::max(i0, c); r < i1; ++r) {
          double s = c < i0 ? -static_cast<double>(x[r * n + c]) : (r == c ? 1.0 : 0.0);
          for (int64_t q = std::max(i0, c); q < r; ++q) s -= static_cast<double>(l[r * n + q]) * x[q * n + c];
          x[r * n + c] = static_cast<float>(s / l[r * n + r]);
        }
      }
      if (progress) progress->advance(share);
    });
    // x's new rows into xt's columns, column by column: the writes run along xt's rows, and the block's
    // rows stay in cache for the reads.
    for (int64_t c = 0; c < i1; ++c)
      for (int64_t r = std::max(i0, c); r < i1; ++r) xt[c * n + r] = x[r * n + c];
    if (progress) progress->advance(units - share * tiles(i1));
  }
}

}  // namespace lowbit
