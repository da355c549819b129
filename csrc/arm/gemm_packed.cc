// int8-activation GEMV/GEMM on prepared weights (the tile layout of PackedArgs, core/kernels.h)
// for every NEON kernel set (kernel_set.h: LOWBIT_NEON_DOT selects sdot); gemm_i8_packed is the
// set's table entry, the codes with block headers go on to gemm_packed_kquant.cc.
//
// A 16-row tile is 4 quarters of 4 rows; one 16-byte load of a chunk is 4 columns of one
// quarter's 4 rows, and `sdot v, w, x.4b[t]` multiplies it by 4 activations picked by lane,
// summing each row into its own i32 lane: no horizontal sums, no activation reordering.
// Codes enter as signed bytes (4-bit codes and table values as they are, 8-bit codes as
// u - 128), and the bias or zero-point is one integer subtraction per block, as on x86.
#include "packed_vec.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {
namespace {
namespace packed {

template <PCode C, SType S, bool Z, bool H, int RM>
void tile_rows(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t i0, int64_t t, float* y,
               int64_t ys) {
  const int64_t nb = w.k / 32, sb = w.scale_bytes(), bpg = H ? 1 : w.group / 32;
  const float32x4_t mul = vdupq_n_f32(w.scale_mul);
  const int8x16_t lut = C == PCode::kLut4 ? vld1q_s8(w.lut) : vdupq_n_s8(0);
  // Codes enter signed: 8-bit ones as u - 128, so their bias (or zero-point) is 128 lower.
  const int bias = C == PCode::kLut4 ? 0 : w.bias - (C == PCode::kU8 ? 128 : 0);
  const int64_t row0 = t * kPackRows;
  const int quarters = static_cast<int>((w.n - row0 + 3) / 4 < 4 ? (w.n - row0 + 3) / 4 : 4);
  float32x4_t acc[RM][4];
  for (int r = 0; r < RM; ++r)
    for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_f32(0.0f);
  const uint8_t* p = w.data + t * w.tile_bytes;
  float32x4_t sv[2][4];
  int32x4_t zv[4];
  for (int64_t b = 0, left = 0; b < nb; ++b) {
    if (left == 0) {
      for (int q = 0; q < 4; ++q) {
        sv[0][q] = load_scales<S>(p + 4 * q * sb, mul);
        if (H) sv[1][q] = load_scales<S>(p + (kPackRows + 4 * q) * sb, mul);
      }
      p += (H ? 2 : 1) * kPackRows * sb;
      if (Z) {
        for (int q = 0; q < 4; ++q) {
          uint32_t four;
          __builtin_memcpy(&four, p + 4 * q, 4);
          zv[q] = vsubq_s32(vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(four)))))),
                            vdupq_n_s32(C == PCode::kU8 ? 128 : 0));
        }
        p += kPackRows;
      }
      left = bpg;
    }
    --left;
    __builtin_prefetch(p + 1024);
    for (int r = 0; r < RM; ++r) {
      const int64_t i = i0 + r;
      const int8_t* xb = x.q + i * x.k + b * 32;
      const int8x16_t xlo = vld1q_s8(xb), xhi = vld1q_s8(xb + 16);
      const float d = x.d[i * x.nb + b];
      const int32_t sum = x.sum[i * x.nb + b];
      for (int q = 0; q < quarters; ++q) {
        int32x4_t s[2];
        quarter_dot<C>(p, q, lut, xlo, xhi, s);
        if (H) {
          // Two scales per block (tables only: no bias, no zero-points).
          acc[r][q] = vfmaq_f32(acc[r][q], vcvtq_f32_s32(s[0]), vmulq_n_f32(sv[0][q], d));
          acc[r][q] = vfmaq_f32(acc[r][q], vcvtq_f32_s32(s[1]), vmulq_n_f32(sv[1][q], d));
        } else {
          int32x4_t isum = vaddq_s32(s[0], s[1]);
          if (Z) isum = vsubq_s32(isum, vmulq_n_s32(zv[q], sum));
          else if (bias != 0) isum = vsubq_s32(isum, vdupq_n_s32(bias * sum));
          acc[r][q] = vfmaq_f32(acc[r][q], vcvtq_f32_s32(isum), vmulq_n_f32(sv[0][q], d));
        }
      }
    }
    p += w.code_block_bytes();
  }
  (void)half_sum;  // signed codes need no per-half bias
  store_tile<RM>(acc, quarters, w.n, row0, y + i0 * ys, ys);
}

template <PCode C, SType S, bool Z, bool H>
void gemm_t(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0, int64_t t1, float* y,
            int64_t ys) {
  for (int64_t t = t0; t < t1; ++t) {
    int64_t i = 0;
    for (; i + 2 <= m; i += 2) tile_rows<C, S, Z, H, 2>(w, x, hs, i, t, y, ys);
    for (; i < m; ++i) tile_rows<C, S, Z, H, 1>(w, x, hs, i, t, y, ys);
  }
}

template <PCode C>
void by_scale(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0, int64_t t1, float* y,
              int64_t ys) {
  const bool h = w.group == 16;
  switch (w.stype) {
    case SType::kF32:
      if (w.zeros) return gemm_t<C, SType::kF32, true, false>(w, x, hs, m, t0, t1, y, ys);
      return h ? gemm_t<C, SType::kF32, false, true>(w, x, hs, m, t0, t1, y, ys)
               : gemm_t<C, SType::kF32, false, false>(w, x, hs, m, t0, t1, y, ys);
    case SType::kF16:
      if (w.zeros) return gemm_t<C, SType::kF16, true, false>(w, x, hs, m, t0, t1, y, ys);
      return h ? gemm_t<C, SType::kF16, false, true>(w, x, hs, m, t0, t1, y, ys)
               : gemm_t<C, SType::kF16, false, false>(w, x, hs, m, t0, t1, y, ys);
    case SType::kE8M0: return gemm_t<C, SType::kE8M0, false, false>(w, x, hs, m, t0, t1, y, ys);
    case SType::kE4M3: return gemm_t<C, SType::kE4M3, false, true>(w, x, hs, m, t0, t1, y, ys);
  }
}

}  // namespace packed
}  // namespace

void gemm_i8_packed(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0, int64_t t1,
                    float* y, int64_t ys) {
  switch (w.code) {
    case PCode::kU4: return packed::by_scale<PCode::kU4>(w, x, hs, m, t0, t1, y, ys);
    case PCode::kU2: return packed::by_scale<PCode::kU2>(w, x, hs, m, t0, t1, y, ys);
    case PCode::kU3: return packed::by_scale<PCode::kU3>(w, x, hs, m, t0, t1, y, ys);
    case PCode::kU8: return packed::by_scale<PCode::kU8>(w, x, hs, m, t0, t1, y, ys);
    case PCode::kLut4: return packed::by_scale<PCode::kLut4>(w, x, hs, m, t0, t1, y, ys);
    case PCode::kQ4K: case PCode::kQ5K: case PCode::kQ6K: case PCode::kQ2K: case PCode::kQ3K:
    case PCode::kIQ4XS: case PCode::kQ4_1: case PCode::kQ5_0: case PCode::kQ5_1: case PCode::kTQ:
      return gemm_i8_packed_block_headers(w, x, hs, m, t0, t1, y, ys);
  }
}

}  // namespace lowbit::LOWBIT_NS
