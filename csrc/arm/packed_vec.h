// The helpers of the NEON packed int8-activation kernels (the tile layout of PackedArgs,
// core/kernels.h) that every NEON kernel set compiles (kernel_set.h): sdot by lane (or its
// vmull pairs), scale loads, the decoders of each packed code for one quarter of a tile.
// Internal linkage.
#pragma once

#include "kernel_set.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {
namespace {
namespace packed {

// acc + per-lane sums of w (4 rows x 4 columns) times the 4 activations at lane `t` of x.
template <int T>
inline int32x4_t dot_lane(int32x4_t acc, int8x16_t w, int8x16_t x) {
#if LOWBIT_NEON_DOT
  return vdotq_laneq_s32(acc, w, x, T);
#else
  const int8x16_t xb = vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(x), T));
  const int16x8_t lo = vmull_s8(vget_low_s8(w), vget_low_s8(xb)), hi = vmull_high_s8(w, xb);
  return vaddq_s32(acc, vpaddq_s32(vpaddlq_s16(lo), vpaddlq_s16(hi)));
#endif
}

// Four stored scales, decoded, times mul (the reference's stored * scale_mul_i8).
template <SType S>
inline float32x4_t load_scales(const uint8_t* p, float32x4_t mul) {
  float32x4_t s;
  if (S == SType::kF32) {
    s = vld1q_f32(reinterpret_cast<const float*>(p));
  } else if (S == SType::kF16) {
    s = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
  } else {
    uint32_t four;
    __builtin_memcpy(&four, p, 4);
    const uint32x4_t b = vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(four)))));
    if (S == SType::kE8M0) {
      // 2^(b - 127): the byte is the float's exponent field; 0 is the subnormal 2^-127, 255 NaN.
      uint32x4_t bits = vshlq_n_u32(b, 23);
      bits = vbslq_u32(vceqq_u32(b, vdupq_n_u32(0)), vdupq_n_u32(0x00400000), bits);
      bits = vbslq_u32(vceqq_u32(b, vdupq_n_u32(255)), vdupq_n_u32(0x7FC00000), bits);
      s = vreinterpretq_f32_u32(bits);
    } else {
      // E4M3 shifted into a binary16 (bias 15 vs 7: times 2^8); 0x7F / 0xFF is NaN.
      const uint32x4_t em = vandq_u32(b, vdupq_n_u32(0x7F));
      const uint32x4_t h = vorrq_u32(vshlq_n_u32(vandq_u32(b, vdupq_n_u32(0x80)), 8), vshlq_n_u32(em, 7));
      s = vmulq_n_f32(vcvt_f32_f16(vreinterpret_f16_u16(vmovn_u32(h))), 256.0f);
      s = vbslq_f32(vceqq_u32(em, vdupq_n_u32(0x7F)), vdupq_n_f32(__builtin_nanf("")), s);
    }
  }
  return vmulq_f32(s, mul);
}

// One quarter's codes in 2-bit planes (core/packed_planes.h): u[4h + s] holds columns 16h + 4s..+3,
// 3-bit codes with their third bit from chunk 2 (byte-wise shifts; a negative count shifts right).
template <bool kThird>
inline void quarter_planes(const uint8_t* blk, int q, uint8x16_t u[8]) {
  for (int h = 0; h < 2; ++h) {
    const uint8x16_t plane = vld1q_u8(blk + h * kPackRows * 4 + 16 * q);
    for (int s = 0; s < 4; ++s) u[4 * h + s] = vandq_u8(vshlq_u8(plane, vdupq_n_s8(static_cast<int8_t>(-2 * s))), vdupq_n_u8(0x03));
  }
  if (kThird) {
    const uint8x16_t plane = vld1q_u8(blk + 2 * kPackRows * 4 + 16 * q);
    for (int t = 0; t < 8; ++t) u[t] = vorrq_u8(u[t], vandq_u8(vshlq_u8(plane, vdupq_n_s8(static_cast<int8_t>(2 - t))), vdupq_n_u8(0x04)));
  }
}

// One quarter (4 rows) of one block: the integer sums over columns 0-15 and 16-31.
template <PCode C>
inline void quarter_dot(const uint8_t* blk, int q, int8x16_t lut, int8x16_t xlo, int8x16_t xhi, int32x4_t out[2]) {
  int8x16_t w[8];
  if (pcode_two_bit(C)) {
    uint8x16_t u[8];
    quarter_planes<pcode_third_bit(C)>(blk, q, u);
    for (int t = 0; t < 8; ++t) w[t] = vreinterpretq_s8_u8(u[t]);
  } else if (C == PCode::kU8) {
    for (int t = 0; t < 8; ++t)
      w[t] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(blk + t * kPackRows * 4 + 16 * q), vdupq_n_u8(0x80)));
  } else {
    for (int t = 0; t < 4; ++t) {
      const uint8x16_t v = vld1q_u8(blk + t * kPackRows * 4 + 16 * q);
      uint8x16_t lo = vandq_u8(v, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(v, 4);
      if (C == PCode::kLut4) {
        w[t] = vqtbl1q_s8(lut, lo);
        w[4 + t] = vqtbl1q_s8(lut, hi);
      } else {
        w[t] = vreinterpretq_s8_u8(lo);
        w[4 + t] = vreinterpretq_s8_u8(hi);
      }
    }
  }
  int32x4_t s0 = vdupq_n_s32(0), s1 = vdupq_n_s32(0);
  s0 = dot_lane<0>(s0, w[0], xlo);
  s1 = dot_lane<0>(s1, w[4], xhi);
  s0 = dot_lane<1>(s0, w[1], xlo);
  s1 = dot_lane<1>(s1, w[5], xhi);
  s0 = dot_lane<2>(s0, w[2], xlo);
  s1 = dot_lane<2>(s1, w[6], xhi);
  s0 = dot_lane<3>(s0, w[3], xlo);
  s1 = dot_lane<3>(s1, w[7], xhi);
  out[0] = s0;
  out[1] = s1;
}

// Stores a tile's RM rows of accumulators (4 weight rows per quarter, from weight row row0) at
// y + r * ys + row0, clipped to the matrix's n rows.
template <int RM>
inline void store_tile(const float32x4_t (&acc)[RM][4], int quarters, int64_t n, int64_t row0, float* y, int64_t ys) {
  for (int r = 0; r < RM; ++r) {
    float* yr = y + r * ys + row0;
    for (int q = 0; q < quarters; ++q) {
      if (row0 + 4 * q + 4 <= n) {
        vst1q_f32(yr + 4 * q, acc[r][q]);
      } else {
        float tmp[4];
        vst1q_f32(tmp, acc[r][q]);
        for (int l = 0; row0 + 4 * q + l < n; ++l) yr[4 * q + l] = tmp[l];
      }
    }
  }
}

}  // namespace packed
}  // namespace
}  // namespace lowbit::LOWBIT_NS
