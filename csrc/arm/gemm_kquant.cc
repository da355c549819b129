// int8-activation kernels on ggml's K-quant super-blocks as GGUF stores them (kernels.h,
// GemmI8KQuantFn), NEON, compiled by every NEON kernel set (kernel_set.h: dot32, LOWBIT_NEON_DOT:
// sdot where the set has it, else vmull / vpadal pairs). No repacking: per
// super-block the codes are unpacked once into 256 bytes (values 0..63, so signed int8 works
// for both operands of sdot) and reused by every row of x; the eight 32-column block sums are
// reduced with pairwise adds into lanes that meet the block scales as integers, so every
// I_b and M_b is exact, as the contract asks. gemm_i8_kquant is the set's table entry.
#include "kernel_set.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace lowbit::LOWBIT_NS {
namespace {

namespace kq {

// Four lane partials of w . x over 16 columns (q6_k needs its 16-column halves apart).
inline int32x4_t dot16(int8x16_t w, int8x16_t x) {
#if LOWBIT_NEON_DOT
  return vdotq_s32(vdupq_n_s32(0), w, x);
#else
  // |w * x| <= 63 * 128: two products fit an int16 lane.
  return vpaddq_s32(vpaddlq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(x))), vpaddlq_s16(vmull_high_s8(w, x)));
#endif
}

// Lane b of the result: the sum of v[b]'s four lanes.
inline int32x4_t reduce4(const int32x4_t* v) {
  return vpaddq_s32(vpaddq_s32(v[0], v[1]), vpaddq_s32(v[2], v[3]));
}

inline float f16(const uint8_t* p) {
  __fp16 h;
  __builtin_memcpy(&h, p, 2);
  return static_cast<float>(h);
}

// One super-block's codes (column order) into 256 bytes; q4_k / q5_k also their 6-bit scales
// (sm[0..7]) and mins (sm[8..15]).
template <KQuant kKind>
inline void unpack_block(const uint8_t* blk, uint8_t* codes, uint8_t* sm) {
  const uint8x16_t low4 = vdupq_n_u8(0x0F);
  if constexpr (kKind == KQuant::kQ6K) {
    // Per 128 columns h: low bits in 64 bytes (a: quarters 0 and 2, b: 1 and 3, low then high
    // nibble), high bits in 32 bytes, two per quarter.
    const uint8x16_t m2 = vdupq_n_u8(0x30);
    for (int h = 0; h < 2; ++h) {
      for (int e = 0; e < 2; ++e) {
        const uint8x16_t a = vld1q_u8(blk + 64 * h + 16 * e);
        const uint8x16_t b = vld1q_u8(blk + 64 * h + 32 + 16 * e);
        const uint8x16_t top = vld1q_u8(blk + 128 + 32 * h + 16 * e);
        uint8_t* c = codes + 128 * h + 16 * e;
        vst1q_u8(c, vorrq_u8(vandq_u8(a, low4), vandq_u8(vshlq_n_u8(top, 4), m2)));
        vst1q_u8(c + 32, vorrq_u8(vandq_u8(b, low4), vandq_u8(vshlq_n_u8(top, 2), m2)));
        vst1q_u8(c + 64, vorrq_u8(vshrq_n_u8(a, 4), vandq_u8(top, m2)));
        vst1q_u8(c + 96, vorrq_u8(vshrq_n_u8(b, 4), vandq_u8(vshrq_n_u8(top, 2), m2)));
      }
    }
  } else {
    // 12 bytes: scales 0-3 and mins 0-3 in the low 6 bits of bytes 0-7, the top 2 bits of scales and
    // mins 4-7 in their high 2 bits, the low 4 bits of scales / mins 4-7 in the nibbles of bytes 8-11.
    uint32_t u[3];
    __builtin_memcpy(u, blk + 4, 12);
    const uint32_t m6 = 0x3F3F3F3F, m4 = 0x0F0F0F0F, m2 = 0x03030303;
    const uint32_t out[4] = {u[0] & m6, (u[2] & m4) | (((u[0] >> 6) & m2) << 4), u[1] & m6,
                             ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4)};
    __builtin_memcpy(sm, out, 16);
    constexpr bool kFive = kKind == KQuant::kQ5K;
    const uint8_t* ql = blk + (kFive ? 48 : 16);
    const uint8x16_t bit4 = vdupq_n_u8(0x10);
    for (int e = 0; e < 2; ++e) {
      // q5_k: bits 2p and 2p + 1 of qh byte i are the fifth bits of columns 64p + i and 64p + 32 + i.
      uint8x16_t top = kFive ? vld1q_u8(blk + 16 + 16 * e) : vdupq_n_u8(0);
      for (int p = 0; p < 4; ++p) {
        const uint8x16_t raw = vld1q_u8(ql + 32 * p + 16 * e);
        uint8x16_t lo = vandq_u8(raw, low4), hi = vshrq_n_u8(raw, 4);
        if constexpr (kFive) {
          lo = vorrq_u8(lo, vandq_u8(vshlq_n_u8(top, 4), bit4));
          hi = vorrq_u8(hi, vandq_u8(vshlq_n_u8(top, 3), bit4));
          top = vshrq_n_u8(top, 2);
        }
        vst1q_u8(codes + 64 * p + 16 * e, lo);
        vst1q_u8(codes + 64 * p + 32 + 16 * e, hi);
      }
    }
  }
}

// Weight row `wrow` against rows [0, m) of x (x, hs and y already offset to the first row).
template <KQuant kKind>
void row_times_x(const KQuantArgs& w, const ActI8& x, const int32_t* hs, int64_t m, const uint8_t* wrow, float* y,
                 int64_t y_stride) {
  constexpr int64_t kBytes = kKind == KQuant::kQ4K ? 144 : kKind == KQuant::kQ5K ? 176 : 210;
  alignas(16) uint8_t codes[256];
  alignas(16) uint8_t sm[16];
  constexpr int kRows = 4;  // accumulators kept in registers across super-blocks
  for (int64_t i0 = 0; i0 < m; i0 += kRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kRows, m - i0));
    float32x4_t acc[kRows][2];
    for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = vdupq_n_f32(0.0f);
    for (int64_t s = 0; s < w.k / 256; ++s) {
      const uint8_t* blk = wrow + s * kBytes;
      unpack_block<kKind>(blk, codes, sm);
      const float d = f16(kKind == KQuant::kQ6K ? blk + 208 : blk);
      const float dmin = kKind == KQuant::kQ6K ? 0.0f : f16(blk + 2);
      int32x4_t scale[4], mins[2];  // q6_k: 16 half scales; q4_k / q5_k: 8 scales and 8 mins
      if constexpr (kKind == KQuant::kQ6K) {
        const int8x16_t sc = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 192));
        const int16x8_t lo = vmovl_s8(vget_low_s8(sc)), hi = vmovl_high_s8(sc);
        scale[0] = vmovl_s16(vget_low_s16(lo));
        scale[1] = vmovl_high_s16(lo);
        scale[2] = vmovl_s16(vget_low_s16(hi));
        scale[3] = vmovl_high_s16(hi);
      } else {
        const uint16x8_t sc = vmovl_u8(vld1_u8(sm)), mn = vmovl_u8(vld1_u8(sm + 8));
        scale[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(sc)));
        scale[1] = vreinterpretq_s32_u32(vmovl_high_u16(sc));
        mins[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(mn)));
        mins[1] = vreinterpretq_s32_u32(vmovl_high_u16(mn));
      }
      for (int r = 0; r < rows; ++r) {
        const int8_t* xq = x.q + (i0 + r) * x.k + s * 256;
        const float* xd = x.d + (i0 + r) * x.nb + s * 8;
        int32x4_t ib[2];  // I_b for blocks 0-3 and 4-7
        if constexpr (kKind == KQuant::kQ6K) {
          // Half sums (16 columns each) minus 32 times the activation sums: the codes' bias.
          const int32_t* h = hs + (i0 + r) * 2 * x.nb + s * 16;
          int32x4_t p[4];
          for (int q4 = 0; q4 < 4; ++q4) {
            int32x4_t v[4];
            for (int t = 0; t < 4; ++t) {
              const int at = 64 * q4 + 16 * t;
              v[t] = dot16(vld1q_s8(reinterpret_cast<const int8_t*>(codes + at)), vld1q_s8(xq + at));
            }
            const int32x4_t half = vsubq_s32(reduce4(v), vshlq_n_s32(vld1q_s32(h + 4 * q4), 5));
            p[q4] = vmulq_s32(scale[q4], half);
          }
          ib[0] = vpaddq_s32(p[0], p[1]);
          ib[1] = vpaddq_s32(p[2], p[3]);
        } else {
          for (int g = 0; g < 2; ++g) {
            int32x4_t v[4];
            for (int t = 0; t < 4; ++t) {
              const int at = 128 * g + 32 * t;
              v[t] = dot32(vld1q_s8(reinterpret_cast<const int8_t*>(codes + at)), vld1q_s8(xq + at),
                           vld1q_s8(reinterpret_cast<const int8_t*>(codes + at + 16)), vld1q_s8(xq + at + 16));
            }
            ib[g] = vmulq_s32(reduce4(v), scale[g]);
          }
        }
        for (int g = 0; g < 2; ++g) {
          const float32x4_t xdv = vld1q_f32(xd + 4 * g);
          acc[r][g] = vfmaq_f32(acc[r][g], vmulq_n_f32(xdv, d), vcvtq_f32_s32(ib[g]));
          if constexpr (kKind != KQuant::kQ6K) {
            const int32x4_t xs = vld1q_s32(x.sum + (i0 + r) * x.nb + s * 8 + 4 * g);
            acc[r][g] = vfmsq_f32(acc[r][g], vmulq_n_f32(xdv, dmin), vcvtq_f32_s32(vmulq_s32(xs, mins[g])));
          }
        }
      }
    }
    for (int r = 0; r < rows; ++r) y[(i0 + r) * y_stride] = vaddvq_f32(vaddq_f32(acc[r][0], acc[r][1]));
  }
}

template <KQuant kKind>
void gemm(const KQuantArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t n0, int64_t n1, float* y,
          int64_t y_stride) {
  for (int64_t j = n0; j < n1; ++j) row_times_x<kKind>(w, x, hs, m, w.data + j * w.row_bytes, y + j, y_stride);
}

}  // namespace kq
}  // namespace

void gemm_i8_kquant(const KQuantArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t n0, int64_t n1,
                    float* y, int64_t y_stride) {
  visit_kquant(w.kind, [&](auto kind) { kq::gemm<decltype(kind)::value>(w, x, half_sum, m, n0, n1, y, y_stride); });
}

}  // namespace lowbit::LOWBIT_NS
