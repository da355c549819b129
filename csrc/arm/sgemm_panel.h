// fp32 GEMM on packed panels for the NEON sets (the scheme of csrc/x86/sgemm_panel.h):
// an 8 x 12 tile of y in 24 of the 32 q registers; per k, three loads of the weight panel
// and eight load-and-broadcasts from x's rows feed 24 FMAs, where the dot-product kernels
// spent a load per FMA. Blocking, packing and loops: gemm/panel_gemm.h. For plain_kernels.cc, which
// routes sgemm and the float path here from kPanelMinRows rows of x.
#pragma once

#include "kernel_set.h"

#include <algorithm>
#include <cstdint>

#include "../gemm/panel_gemm.h"

namespace lowbit::LOWBIT_NS {
namespace {

constexpr int kPanelMR = 8;
constexpr int kPanelNR = 12;

// The transpose of 4 rows of 4 floats.
inline void transpose4(float32x4_t r[4]) {
  const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
  const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
  r[0] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
  r[1] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
  r[2] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
  r[3] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
}

// y tile (rows x cols of kPanelMR x kPanelNR) = (first ? 0 : y) + x rows (stride xs) * b panel.
// Rows past `rows` re-read the last row (never stored), so no row of x is read out of bounds.
void panel_ukernel(const float* x, int64_t xs, const float* b, int64_t kc, float* y, int64_t ys, int rows, int cols,
                   bool first) {
  const float* xr[kPanelMR];
#pragma GCC unroll 8
  for (int r = 0; r < kPanelMR; ++r) xr[r] = x + std::min(r, rows - 1) * xs;
  float32x4_t acc[kPanelMR][3];
#pragma GCC unroll 8
  for (int r = 0; r < kPanelMR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = vdupq_n_f32(0.0f);
  for (int64_t kk = 0; kk < kc; ++kk) {
    const float* bk = b + kk * kPanelNR;
    const float32x4_t b0 = vld1q_f32(bk), b1 = vld1q_f32(bk + 4), b2 = vld1q_f32(bk + 8);
#pragma GCC unroll 8
    for (int r = 0; r < kPanelMR; ++r) {
      const float32x4_t av = vld1q_dup_f32(xr[r] + kk);
      acc[r][0] = vfmaq_f32(acc[r][0], av, b0);
      acc[r][1] = vfmaq_f32(acc[r][1], av, b1);
      acc[r][2] = vfmaq_f32(acc[r][2], av, b2);
    }
  }
  if (rows == kPanelMR && cols == kPanelNR) {
#pragma GCC unroll 8
    for (int r = 0; r < kPanelMR; ++r) {
      float* yr = y + r * ys;
      for (int c = 0; c < 3; ++c) vst1q_f32(yr + 4 * c, first ? acc[r][c] : vaddq_f32(vld1q_f32(yr + 4 * c), acc[r][c]));
    }
    return;
  }
  float tile[kPanelMR][kPanelNR];
  for (int r = 0; r < kPanelMR; ++r)
    for (int c = 0; c < 3; ++c) vst1q_f32(tile[r] + 4 * c, acc[r][c]);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) y[r * ys + c] = first ? tile[r][c] : y[r * ys + c] + tile[r][c];
}

// The set's panel leaf (gemm/panel_gemm.h): the micro-kernel and a 4 x 4 transpose for packing.
struct PanelLeaf {
  static constexpr int kMR = kPanelMR, kNR = kPanelNR;
  static constexpr auto ukernel = panel_ukernel;
  using TVec = float32x4_t;
  static constexpr int kT = 4;
  static TVec tload(const float* p) { return vld1q_f32(p); }
  static void tstore(float* p, TVec v) { vst1q_f32(p, v); }
  static constexpr auto transpose = transpose4;
};

}  // namespace
}  // namespace lowbit::LOWBIT_NS
