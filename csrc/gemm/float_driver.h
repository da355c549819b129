// The fp32 drivers of every kernel set, written once over the set's float leaf F
// (x86/plain_kernels.cc, arm/plain_kernels.cc): matmul's float path on QuantizedMatrix's own
// layout (gemm_f32) and the plain fp32 GEMM (sgemm), each as dot-product row tiles below
// kPanelMinRows rows of x and packed panels (gemm/panel_gemm.h) from there, and the FWHT. F provides
//   Vec, kLanes               a float vector of kLanes lanes (a 32-column block is 32 / kLanes);
//   zero, set1, load, store, add, sub, hsum, fma(a, b, acc) = acc + a * b (fused);
//   fwht_lanes(v)             the Walsh-Hadamard butterflies inside one vector (strides < kLanes);
//   half_of(i)                with group-16 scales, which 16-column half of the block vector i
//                             of decode's output belongs to (0 or 1);
//   scale<S>(w, p)            one stored scale as a float;
//   decode<C>(w, blk, bias, s, out)
//                             one 32-column block as 32 / kLanes vectors, out[i] = s[i] * value,
//                             the same float32 rounding as dequantize();
//   kSgemmCols                weight rows per sgemm dot-product tile;
//   Panel                     the set's panel leaf (gemm/panel_gemm.h).
// (gemm_f32 alone needs no add, sub, fwht_lanes or kSgemmCols.)
// Internal linkage throughout, so each set compiles its own copy with its own flags.
#pragma once

#include <cstdint>

#include "../core/kernels.h"
#include "panel_gemm.h"
#include "row_tiles.h"

namespace lowbit {
namespace {
namespace float_driver {

template <class F>
constexpr int kBlockVecs = 32 / F::kLanes;

// The scale vectors of block b (group g) of one weight row, decode's s.
template <class F, SType S, bool Half>
inline void block_scales(const WeightArgs& w, const uint8_t* srow, int64_t b, int64_t g, typename F::Vec* sv) {
  const int64_t sgb = w.scale_group_bytes;
  if (Half) {
    const typename F::Vec s0 = F::set1(F::template scale<S>(w, srow + 2 * b * sgb) * w.scale_mul);
    const typename F::Vec s1 = F::set1(F::template scale<S>(w, srow + (2 * b + 1) * sgb) * w.scale_mul);
    for (int i = 0; i < kBlockVecs<F>; ++i) sv[i] = F::half_of(i) ? s1 : s0;
  } else {
    const typename F::Vec s0 = F::set1(F::template scale<S>(w, srow + g * sgb) * w.scale_mul);
    for (int i = 0; i < kBlockVecs<F>; ++i) sv[i] = s0;
  }
}

template <class F, WCode C, SType S, bool Half, int RM, int RN>
LOWBIT_TILE void tile_f32(const WeightArgs& w, const float* x, int64_t xs, int64_t i0, int64_t j0, float* y, int64_t ys) {
  using Vec = typename F::Vec;
  constexpr int V = kBlockVecs<F>;
  Vec acc[RM][RN];
  for (int r = 0; r < RM; ++r)
    for (int c = 0; c < RN; ++c) acc[r][c] = F::zero();
  const int64_t nb = w.k / 32;
  const int64_t bpg = Half ? 1 : w.group / 32;
  for (int64_t b = 0, g = 0, left = bpg; b < nb; ++b) {
    if (left == 0) {
      ++g;
      left = bpg;
    }
    --left;
    for (int c = 0; c < RN; ++c) {
      Vec sv[V];
      block_scales<F, S, Half>(w, w.scales + (j0 + c) * w.scale_row_bytes, b, g, sv);
      const int bias = w.zeros ? w.zeros[(j0 + c) * w.zero_stride + g] : w.bias;
      Vec wf[V];
      F::template decode<C>(w, w.data + (j0 + c) * w.row_bytes + b * w.block_bytes, bias, sv, wf);
      for (int r = 0; r < RM; ++r) {
        const float* xp = x + (i0 + r) * xs + b * 32;
        for (int i = 0; i < V; ++i) acc[r][c] = F::fma(F::load(xp + F::kLanes * i), wf[i], acc[r][c]);
      }
    }
  }
  for (int r = 0; r < RM; ++r)
    for (int c = 0; c < RN; ++c) y[(i0 + r) * ys + j0 + c] = F::hsum(acc[r][c]);
}

// Dequantizes weight rows [j, j + nr), columns [kk0, kk0 + kc) (whole 32-blocks) into a
// transposed fp32 panel, the same values decode gives tile_f32.
template <class F, WCode C, SType S, bool Half>
void pack_panel_f32(const WeightArgs& w, int64_t j, int nr, int64_t kk0, int64_t kc, float* panel, float* rows) {
  using Vec = typename F::Vec;
  constexpr int V = kBlockVecs<F>;
  for (int c = 0; c < nr; ++c) {
    const int64_t row = j + c;
    for (int64_t bi = 0; bi < kc / 32; ++bi) {
      const int64_t b = kk0 / 32 + bi;
      const int64_t g = Half ? b : b * 32 / w.group;
      Vec sv[V];
      block_scales<F, S, Half>(w, w.scales + row * w.scale_row_bytes, b, g, sv);
      const int bias = w.zeros ? w.zeros[row * w.zero_stride + g] : w.bias;
      Vec wf[V];
      F::template decode<C>(w, w.data + row * w.row_bytes + b * w.block_bytes, bias, sv, wf);
      for (int i = 0; i < V; ++i) F::store(rows + c * kPanelKC + bi * 32 + F::kLanes * i, wf[i]);
    }
  }
  pack_panel_b<typename F::Panel>(rows, kPanelKC, nr, kc, panel);
}

template <class F, WCode C, SType S, bool Half>
void gemm_f32_t(const WeightArgs& w, const float* x, int64_t xs, int64_t m, int64_t n0, int64_t n1, float* y,
                int64_t ys) {
  using P = typename F::Panel;
  if (m >= kPanelMinRows) {
    float* rows = panel_buffers<P>().rows;
    return panel_gemm<P>(x, xs, w.k, m, n0, n1, y, ys, [&](int64_t j, int nr, int64_t kk0, int64_t kc, float* panel) {
      pack_panel_f32<F, C, S, Half>(w, j, nr, kk0, kc, panel, rows);
    });
  }
  const auto rows = [&](auto rn, int64_t j) {
    for_row_tiles(m, [&](auto rm, int64_t i) {
      tile_f32<F, C, S, Half, decltype(rm)::value, decltype(rn)::value>(w, x, xs, i, j, y, ys);
    });
  };
  int64_t j = n0;
  for (; j + 2 <= n1; j += 2) rows(std::integral_constant<int, 2>(), j);
  for (; j < n1; ++j) rows(std::integral_constant<int, 1>(), j);
}

template <class F, WCode C>
void f32_by_scale(const WeightArgs& w, const float* x, int64_t xs, int64_t m, int64_t n0, int64_t n1, float* y,
                  int64_t ys) {
  if (w.stype == SType::kF16) return gemm_f32_t<F, C, SType::kF16, false>(w, x, xs, m, n0, n1, y, ys);
  return gemm_f32_t<F, C, SType::kF32, false>(w, x, xs, m, n0, n1, y, ys);
}

template <class F, int RM, int RN>
LOWBIT_TILE void tile_sgemm(const float* x, int64_t xs, const float* w, int64_t ws, int64_t k, int64_t i0, int64_t j0, float* y,
                int64_t ys) {
  using Vec = typename F::Vec;
  Vec acc[RM][RN];
  for (int r = 0; r < RM; ++r)
    for (int c = 0; c < RN; ++c) acc[r][c] = F::zero();
  int64_t kk = 0;
  for (; kk + F::kLanes <= k; kk += F::kLanes) {
    Vec wv[RN];
    for (int c = 0; c < RN; ++c) wv[c] = F::load(w + (j0 + c) * ws + kk);
    for (int r = 0; r < RM; ++r) {
      const Vec xv = F::load(x + (i0 + r) * xs + kk);
      for (int c = 0; c < RN; ++c) acc[r][c] = F::fma(xv, wv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < RM; ++r) {
    for (int c = 0; c < RN; ++c) {
      float t = F::hsum(acc[r][c]);
      for (int64_t q = kk; q < k; ++q) t += x[(i0 + r) * xs + q] * w[(j0 + c) * ws + q];
      y[(i0 + r) * ys + j0 + c] = t;
    }
  }
}

}  // namespace float_driver

// The gemm_f32 entry (core/kernels.h): only the (code, scale, half) combinations the formats produce
// are built.
template <class F>
void gemm_f32_of(const WeightArgs& w, const float* x, int64_t xs, int64_t m, int64_t n0, int64_t n1, float* y,
                 int64_t ys) {
  using namespace float_driver;
  const bool half = w.group == 16;
  switch (w.code) {
    // Never handed these (matmul multiplies 2- and 3-bit codes packed or with the scalar kernels).
    case WCode::kU2: case WCode::kU3: return;
    case WCode::kU4: return f32_by_scale<F, WCode::kU4>(w, x, xs, m, n0, n1, y, ys);
    case WCode::kS8: return f32_by_scale<F, WCode::kS8>(w, x, xs, m, n0, n1, y, ys);
    case WCode::kU8: return f32_by_scale<F, WCode::kU8>(w, x, xs, m, n0, n1, y, ys);
    case WCode::kE4M3: return f32_by_scale<F, WCode::kE4M3>(w, x, xs, m, n0, n1, y, ys);
    case WCode::kE5M2: return f32_by_scale<F, WCode::kE5M2>(w, x, xs, m, n0, n1, y, ys);
    case WCode::kLut4:
      switch (w.stype) {
        case SType::kF32: return half ? gemm_f32_t<F, WCode::kLut4, SType::kF32, true>(w, x, xs, m, n0, n1, y, ys)
                                      : gemm_f32_t<F, WCode::kLut4, SType::kF32, false>(w, x, xs, m, n0, n1, y, ys);
        case SType::kF16: return half ? gemm_f32_t<F, WCode::kLut4, SType::kF16, true>(w, x, xs, m, n0, n1, y, ys)
                                      : gemm_f32_t<F, WCode::kLut4, SType::kF16, false>(w, x, xs, m, n0, n1, y, ys);
        case SType::kE8M0: return gemm_f32_t<F, WCode::kLut4, SType::kE8M0, false>(w, x, xs, m, n0, n1, y, ys);
        case SType::kE4M3: return gemm_f32_t<F, WCode::kLut4, SType::kE4M3, true>(w, x, xs, m, n0, n1, y, ys);
      }
  }
}

// The sgemm entry (core/kernels.h).
template <class F>
void sgemm_of(const float* x, int64_t xs, const float* w, int64_t ws, int64_t k, int64_t m, int64_t n0, int64_t n1,
              float* y, int64_t ys) {
  using namespace float_driver;
  using P = typename F::Panel;
  if (m >= kPanelMinRows) {
    return panel_gemm<P>(x, xs, k, m, n0, n1, y, ys, [&](int64_t j, int nr, int64_t kk0, int64_t kc, float* panel) {
      pack_panel_b<P>(w + j * ws + kk0, ws, nr, kc, panel);
    });
  }
  const auto rows = [&](auto rn, int64_t j) {
    for_row_tiles(m, [&](auto rm, int64_t i) {
      tile_sgemm<F, decltype(rm)::value, decltype(rn)::value>(x, xs, w, ws, k, i, j, y, ys);
    });
  };
  int64_t j = n0;
  for (; j + F::kSgemmCols <= n1; j += F::kSgemmCols) rows(std::integral_constant<int, F::kSgemmCols>(), j);
  for (; j < n1; ++j) rows(std::integral_constant<int, 1>(), j);
}

// The fwht entry (core/kernels.h): n a power of two >= kLanes; every butterfly one add or subtract.
template <class F>
void fwht_of(float* v, int64_t n) {
  for (int64_t i = 0; i < n; i += F::kLanes) F::store(v + i, F::fwht_lanes(F::load(v + i)));
  for (int64_t h = F::kLanes; h < n; h *= 2) {
    for (int64_t i = 0; i < n; i += 2 * h) {
      for (int64_t j = i; j < i + h; j += F::kLanes) {
        const typename F::Vec a = F::load(v + j), b = F::load(v + j + h);
        F::store(v + j, F::add(a, b));
        F::store(v + j + h, F::sub(a, b));
      }
    }
  }
}

}  // namespace
}  // namespace lowbit

// Defines a kernel set's gemm_f32 entry (core/kernels.h) over DecodeLeaf and its sgemm and fwht
// entries over Leaf (the same leaf, or a wider one for gemm_f32), in the set's namespace.
#define LOWBIT_FLOAT_ENTRIES(DecodeLeaf, Leaf)                                                                 \
  void gemm_f32(const WeightArgs& w, const float* x, int64_t xs, int64_t m, int64_t n0, int64_t n1, float* y,  \
                int64_t ys) {                                                                                  \
    ::lowbit::gemm_f32_of<DecodeLeaf>(w, x, xs, m, n0, n1, y, ys);                                             \
  }                                                                                                            \
  void sgemm(const float* x, int64_t xs, const float* w, int64_t ws, int64_t k, int64_t m, int64_t n0,         \
             int64_t n1, float* y, int64_t ys) {                                                               \
    ::lowbit::sgemm_of<Leaf>(x, xs, w, ws, k, m, n0, n1, y, ys);                                               \
  }                                                                                                            \
  void fwht(float* v, int64_t n) { ::lowbit::fwht_of<Leaf>(v, n); }

