// fp32 GEMM on packed panels (the BLIS / MLAS SGEMM scheme), for matmulF32 and the float
// path from a few rows of x up: y[i][j] = sum_k x[i][k] * b_j[k] with the weight rows b_j
// produced panel by panel by a caller-supplied packer (copied from an fp32 matrix, or
// dequantized from a QuantizedMatrix).
//
// Per block of kPanelKC columns, kPanelNR weight rows are packed transposed (one row of the
// panel = the kPanelNR weights of one k, two vector loads). The micro-kernel keeps a
// kPanelMR x kPanelNR tile of y in registers: per k, 2 loads and kPanelMR broadcasts
// straight from x's rows feed 2 * kPanelMR FMAs, where the dot-product kernels spent a load
// per FMA and ran out of cache bandwidth (hence no scaling with threads). x is not packed
// (as in MLAS): its kPanelMR x kPanelKC slice is 6-8 KiB of L1 and its block of the caller's
// rows stays in L2 while every panel streams past; packing it cost a quarter of the time. The blocking, the packing loop
// and the loops around the micro-kernel are ISA-independent (gemm/panel_gemm.h), so results
// never depend on how work is divided.
//
// For plain_kernels.cc (matmulF32 and the float path) of every x86 kernel set (kernel_set.h); LOWBIT_VEC
// picks ymm (6 x 16 tile, 12 accumulators of 16 registers) or zmm (8 x 32, 16 of 32).
#pragma once

#include "kernel_set.h"

#include <algorithm>
#include <cstdint>

#include "../gemm/panel_gemm.h"

namespace lowbit::LOWBIT_NS {
namespace {

#if LOWBIT_VEC == 512
using PVec = __m512;
constexpr int kPanelV = 16;
constexpr int kPanelMR = 8;
inline PVec pv_load(const float* p) { return _mm512_loadu_ps(p); }
inline PVec pv_set1(float v) { return _mm512_set1_ps(v); }
inline PVec pv_zero() { return _mm512_setzero_ps(); }
inline PVec pv_fma(PVec a, PVec b, PVec c) { return _mm512_fmadd_ps(a, b, c); }
inline PVec pv_add(PVec a, PVec b) { return _mm512_add_ps(a, b); }
inline void pv_store(float* p, PVec v) { _mm512_storeu_ps(p, v); }
#else
using PVec = __m256;
constexpr int kPanelV = 8;
constexpr int kPanelMR = 6;
inline PVec pv_load(const float* p) { return _mm256_loadu_ps(p); }
inline PVec pv_set1(float v) { return _mm256_set1_ps(v); }
inline PVec pv_zero() { return _mm256_setzero_ps(); }
inline PVec pv_fma(PVec a, PVec b, PVec c) { return _mm256_fmadd_ps(a, b, c); }
inline PVec pv_add(PVec a, PVec b) { return _mm256_add_ps(a, b); }
inline void pv_store(float* p, PVec v) { _mm256_storeu_ps(p, v); }
#endif
constexpr int kPanelNR = 2 * kPanelV;

inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// y tile (rows x cols of kPanelMR x kPanelNR) = (first ? 0 : y) + x rows (stride xs) * b panel.
// Rows past `rows` re-read the last row (never stored), so no row of x is read out of bounds.
void panel_ukernel(const float* x, int64_t xs, const float* b, int64_t kc, float* y, int64_t ys, int rows, int cols,
                   bool first) {
  const float* xr[kPanelMR];
#pragma GCC unroll 8
  for (int r = 0; r < kPanelMR; ++r) xr[r] = x + std::min(r, rows - 1) * xs;
  PVec acc[kPanelMR][2];
#pragma GCC unroll 8
  for (int r = 0; r < kPanelMR; ++r) acc[r][0] = acc[r][1] = pv_zero();
  for (int64_t kk = 0; kk < kc; ++kk) {
    const PVec b0 = pv_load(b + kk * kPanelNR), b1 = pv_load(b + kk * kPanelNR + kPanelV);
#pragma GCC unroll 8
    for (int r = 0; r < kPanelMR; ++r) {
      const PVec av = pv_set1(xr[r][kk]);
      acc[r][0] = pv_fma(av, b0, acc[r][0]);
      acc[r][1] = pv_fma(av, b1, acc[r][1]);
    }
  }
  if (rows == kPanelMR && cols == kPanelNR) {
#pragma GCC unroll 8
    for (int r = 0; r < kPanelMR; ++r) {
      float* yr = y + r * ys;
      if (first) {
        pv_store(yr, acc[r][0]);
        pv_store(yr + kPanelV, acc[r][1]);
      } else {
        pv_store(yr, pv_add(pv_load(yr), acc[r][0]));
        pv_store(yr + kPanelV, pv_add(pv_load(yr + kPanelV), acc[r][1]));
      }
    }
    return;
  }
  alignas(64) float tile[kPanelMR][kPanelNR];
  for (int r = 0; r < kPanelMR; ++r) {
    pv_store(tile[r], acc[r][0]);
    pv_store(tile[r] + kPanelV, acc[r][1]);
  }
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) y[r * ys + c] = first ? tile[r][c] : y[r * ys + c] + tile[r][c];
}

// The set's panel leaf (gemm/panel_gemm.h): the micro-kernel and an 8 x 8 transpose for packing.
struct PanelLeaf {
  static constexpr int kMR = kPanelMR, kNR = kPanelNR;
  static constexpr auto ukernel = panel_ukernel;
  using TVec = __m256;
  static constexpr int kT = 8;
  static TVec tload(const float* p) { return _mm256_loadu_ps(p); }
  static void tstore(float* p, TVec v) { _mm256_storeu_ps(p, v); }
  static constexpr auto transpose = transpose8;
};

}  // namespace
}  // namespace lowbit::LOWBIT_NS
