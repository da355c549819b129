// int8-activation GEMV/GEMM on the packed tiles of the ggml codes with block headers (kernels.h:
// kQ4K ... kTQ) for every NEON kernel set (kernel_set.h; helpers: packed_vec.h); a lane is one
// output row, 4 rows a quarter, as on the other packed passes. gemm_packed.cc hands these codes
// to gemm_i8_packed_block_headers.
//
// The block's term takes the scalar kernel's float operations in its order (see the x86 file,
// x86/gemm_packed_kquant.cc, for why d * sc and the q6_k half sums are exact), so every
// lane gives the scalar kernel's bits.
#include "packed_vec.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {
namespace {
namespace packed {
namespace kq {

constexpr int kSubs(PCode C) { return static_cast<int>(pcode_block_cols(C) / 32); }

// One quarter's codes of a block: the low nibbles as 4-bit codes (q2_k / q3_k: 2-bit planes),
// the high bits shifted in (byte-wise shifts; a negative count shifts right); iq4_xs's indices
// through the table, signed as sdot takes them.
template <PCode C>
inline void quarter_codes(const uint8_t* blk, int q, int8x16_t lut, int8x16_t w[8]) {
  uint8x16_t u[8];
  if (pcode_two_bit(C)) {
    quarter_planes<pcode_third_bit(C)>(blk, q, u);
  } else {
    for (int t = 0; t < 4; ++t) {
      const uint8x16_t v = vld1q_u8(blk + t * kPackRows * 4 + 16 * q);
      u[t] = vandq_u8(v, vdupq_n_u8(0x0F));
      u[4 + t] = vshrq_n_u8(v, 4);
    }
  }
  if (pcode_fifth_bit(C)) {
    const uint8x16_t plane = vld1q_u8(blk + 4 * kPackRows * 4 + 16 * q);
    for (int t = 0; t < 8; ++t) u[t] = vorrq_u8(u[t], vandq_u8(vshlq_u8(plane, vdupq_n_s8(static_cast<int8_t>(4 - t))), vdupq_n_u8(0x10)));
  } else if (C == PCode::kQ6K) {
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t plane = vld1q_u8(blk + (4 + h) * kPackRows * 4 + 16 * q);
      for (int s = 0; s < 4; ++s) {
        u[4 * h + s] = vorrq_u8(u[4 * h + s], vandq_u8(vshlq_u8(plane, vdupq_n_s8(static_cast<int8_t>(4 - 2 * s))), vdupq_n_u8(0x30)));
      }
    }
  }
  for (int t = 0; t < 8; ++t) w[t] = C == PCode::kIQ4XS ? vqtbl1q_s8(lut, u[t]) : vreinterpretq_s8_u8(u[t]);
}

// Four bytes at p widened to floats, unsigned or signed.
inline float32x4_t u8x4_f32(const uint8_t* p) {
  uint32_t four;
  __builtin_memcpy(&four, p, 4);
  return vcvtq_f32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(four))))));
}
inline float32x4_t s8x4_f32(const uint8_t* p) {
  uint32_t four;
  __builtin_memcpy(&four, p, 4);
  return vcvtq_f32_s32(vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_u32(vdup_n_u32(four))))));
}
inline float32x4_t f16x4(const uint8_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
}

template <PCode C, int RM>
void tile_rows(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t i0, int64_t t, float* y,
               int64_t ys) {
  constexpr int kSub = kSubs(C);
  const int64_t row0 = t * kPackRows, cb = w.code_block_bytes();
  const int quarters = static_cast<int>((w.n - row0 + 3) / 4 < 4 ? (w.n - row0 + 3) / 4 : 4);
  const int8x16_t lut = C == PCode::kIQ4XS ? vld1q_s8(w.lut) : vdupq_n_s8(0);
  float32x4_t acc[RM][4];
  for (int r = 0; r < RM; ++r)
    for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_f32(0.0f);
  const uint8_t* p = w.data + t * w.tile_bytes;
  for (int64_t s = 0; s < w.k / w.block_cols(); ++s) {
    const uint8_t* head = p;
    p += w.header_bytes();
    for (int sub = 0; sub < kSub; ++sub, p += cb) {
      const int64_t b = s * kSub + sub;
      __builtin_prefetch(p + 1024);
      for (int q = 0; q < quarters; ++q) {
        int8x16_t wv[8];
        quarter_codes<C>(p, q, lut, wv);
        const float32x4_t d = f16x4(head + 8 * q);
        const float32x4_t dmin = pcode_has_dmin(C) ? f16x4(head + 2 * kPackRows + 8 * q) : vdupq_n_f32(0.0f);
        // q4_k / q5_k: d * sc and dmin * m; q6_k / q3_k: the halves' scales; iq4_xs: d * sc.
        float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
        int32x4_t sc0 = vdupq_n_s32(0), sc1 = vdupq_n_s32(0), m0 = vdupq_n_s32(0), m1 = vdupq_n_s32(0);
        if (pcode_signed_halves(C)) {
          s0 = s8x4_f32(head + (2 + 2 * sub) * kPackRows + 4 * q);
          s1 = s8x4_f32(head + (3 + 2 * sub) * kPackRows + 4 * q);
        } else if (C == PCode::kQ4K || C == PCode::kQ5K) {
          s0 = vmulq_f32(d, u8x4_f32(head + (4 + sub) * kPackRows + 4 * q));
          s1 = vmulq_f32(dmin, u8x4_f32(head + (12 + sub) * kPackRows + 4 * q));
        } else if (C == PCode::kIQ4XS) {
          s0 = vmulq_f32(d, s8x4_f32(head + (2 + sub) * kPackRows + 4 * q));
        } else if (C == PCode::kQ2K) {
          const int32x4_t b0 = vcvtq_s32_f32(u8x4_f32(head + (4 + 2 * sub) * kPackRows + 4 * q));
          const int32x4_t b1 = vcvtq_s32_f32(u8x4_f32(head + (5 + 2 * sub) * kPackRows + 4 * q));
          sc0 = vandq_s32(b0, vdupq_n_s32(15));
          sc1 = vandq_s32(b1, vdupq_n_s32(15));
          m0 = vshrq_n_s32(b0, 4);
          m1 = vshrq_n_s32(b1, 4);
        }
        for (int r = 0; r < RM; ++r) {
          const int64_t i = i0 + r;
          const int8_t* xb = x.q + i * x.k + b * 32;
          const int8x16_t xlo = vld1q_s8(xb), xhi = vld1q_s8(xb + 16);
          int32x4_t d0 = vdupq_n_s32(0), d1 = vdupq_n_s32(0);
          d0 = dot_lane<0>(d0, wv[0], xlo);
          d1 = dot_lane<0>(d1, wv[4], xhi);
          d0 = dot_lane<1>(d0, wv[1], xlo);
          d1 = dot_lane<1>(d1, wv[5], xhi);
          d0 = dot_lane<2>(d0, wv[2], xlo);
          d1 = dot_lane<2>(d1, wv[6], xhi);
          d0 = dot_lane<3>(d0, wv[3], xlo);
          d1 = dot_lane<3>(d1, wv[7], xhi);
          const int32_t S = x.sum[i * x.nb + b];
          float32x4_t term;
          if (pcode_signed_halves(C)) {
            const int bias = C == PCode::kQ6K ? 32 : 4;
            const int32_t* hs = half_sum + i * 2 * x.nb + 2 * b;
            const float32x4_t h0 = vcvtq_f32_s32(vsubq_s32(d0, vdupq_n_s32(bias * hs[0])));
            const float32x4_t h1 = vcvtq_f32_s32(vsubq_s32(d1, vdupq_n_s32(bias * hs[1])));
            term = vmulq_f32(d, vaddq_f32(vmulq_f32(h0, s0), vmulq_f32(h1, s1)));
          } else if (C == PCode::kQ2K) {
            const int32_t* hs = half_sum + i * 2 * x.nb + 2 * b;
            const int32x4_t ib = vaddq_s32(vmulq_s32(sc0, d0), vmulq_s32(sc1, d1));
            const int32x4_t mb = vaddq_s32(vmulq_n_s32(m0, hs[0]), vmulq_n_s32(m1, hs[1]));
            term = vsubq_f32(vmulq_f32(d, vcvtq_f32_s32(ib)), vmulq_f32(dmin, vcvtq_f32_s32(mb)));
          } else if (C == PCode::kIQ4XS) {
            term = vmulq_f32(vcvtq_f32_s32(vaddq_s32(d0, d1)), s0);
          } else if (C == PCode::kQ4_1 || C == PCode::kQ5_1) {
            term = vaddq_f32(vmulq_f32(d, vcvtq_f32_s32(vaddq_s32(d0, d1))), vmulq_f32(dmin, vdupq_n_f32(static_cast<float>(S))));
          } else if (pcode_code_offset(C)) {
            term = vmulq_f32(d, vcvtq_f32_s32(vsubq_s32(vaddq_s32(d0, d1), vdupq_n_s32(pcode_code_offset(C) * S))));
          } else {
            const float xs = static_cast<float>(S);
            term = vsubq_f32(vmulq_f32(vcvtq_f32_s32(vaddq_s32(d0, d1)), s0), vmulq_f32(s1, vdupq_n_f32(xs)));
          }
          acc[r][q] = vaddq_f32(acc[r][q], vmulq_f32(vdupq_n_f32(x.d[i * x.nb + b]), term));
        }
      }
    }
  }
  store_tile<RM>(acc, quarters, w.n, row0, y + i0 * ys, ys);
}

template <PCode C>
void gemm(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0, int64_t t1, float* y,
          int64_t ys) {
  for (int64_t t = t0; t < t1; ++t) {
    int64_t i = 0;
    for (; i + 2 <= m; i += 2) tile_rows<C, 2>(w, x, hs, i, t, y, ys);
    for (; i < m; ++i) tile_rows<C, 1>(w, x, hs, i, t, y, ys);
  }
}

}  // namespace kq
}  // namespace packed
}  // namespace

void gemm_i8_packed_block_headers(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0,
                                  int64_t t1, float* y, int64_t ys) {
  visit_block_header_code(w.code,
                          [&](auto code) { packed::kq::gemm<decltype(code)::value>(w, x, hs, m, t0, t1, y, ys); });
}

}  // namespace lowbit::LOWBIT_NS
