// The NEON kernels on QuantizedMatrix's own layout (WeightArgs): int8 and float activations, the
// plain fp32 GEMM, activation quantization and the FWHT, compiled by every NEON kernel set
// (kernel_set.h: LOWBIT_NEON_DOT, LOWBIT_NEON_MMLA). The table's entries are in the set's
// namespace, the rest has internal linkage.
#include "kernel_set.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../gemm/float_driver.h"
#include "../gemm/row_tiles.h"
#include "../gemm/stored_scale.h"
#include "half.h"
#include "sgemm_panel.h"

namespace lowbit::LOWBIT_NS {

namespace {

inline float hsum(float32x4_t v) { return vaddvq_f32(v); }

template <SType S>
inline float load_scale(const WeightArgs& w, const uint8_t* p) {
  return stored_scale<S, half_to_float>(w, p);
}

// The scales of one block as a lane vector matching dot32_halves' lanes (Half) or any lanes.
template <SType S, bool Half>
inline float32x4_t block_scales(const WeightArgs& w, const uint8_t* srow, int64_t b, int64_t g, int64_t sgb, float mul) {
  if (!Half) return vdupq_n_f32(load_scale<S>(w, srow + g * sgb) * mul);
  const float s0 = load_scale<S>(w, srow + 2 * b * sgb) * mul, s1 = load_scale<S>(w, srow + (2 * b + 1) * sgb) * mul;
  return vcombine_f32(vdup_n_f32(s0), vdup_n_f32(s1));
}

}  // namespace

void quantize_act(const float* x, int64_t k, int8_t* q, float* d, int32_t* sum) {
  for (int64_t b = 0; b * 32 < k; ++b) {
    const float* p = x + b * 32;
    float32x4_t v[8];
    float32x4_t amax = vdupq_n_f32(0.0f);
    for (int i = 0; i < 8; ++i) {
      v[i] = vld1q_f32(p + 4 * i);
      amax = vmaxq_f32(amax, vabsq_f32(v[i]));
    }
    const float s = vmaxvq_f32(amax) / 127.0f;
    d[b] = s;
    if (s == 0.0f) {
      vst1q_s8(q + b * 32, vdupq_n_s8(0));
      vst1q_s8(q + b * 32 + 16, vdupq_n_s8(0));
      sum[b] = 0;
      continue;
    }
    // A true division and round-to-nearest-even (fcvtns): the reference's codes exactly.
    const float32x4_t sv = vdupq_n_f32(s);
    int32x4_t i32[8];
    int32x4_t total = vdupq_n_s32(0);
    // Held to [-127, 127] as the reference holds them (a subnormal s gives codes up to about 190).
    for (int i = 0; i < 8; ++i) {
      i32[i] = vmaxq_s32(vminq_s32(vcvtnq_s32_f32(vdivq_f32(v[i], sv)), vdupq_n_s32(127)), vdupq_n_s32(-127));
      total = vaddq_s32(total, i32[i]);
    }
    sum[b] = vaddvq_s32(total);
    for (int h = 0; h < 2; ++h) {
      const int16x8_t lo = vcombine_s16(vqmovn_s32(i32[4 * h]), vqmovn_s32(i32[4 * h + 1]));
      const int16x8_t hi = vcombine_s16(vqmovn_s32(i32[4 * h + 2]), vqmovn_s32(i32[4 * h + 3]));
      vst1q_s8(q + b * 32 + 16 * h, vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)));
    }
  }
}

namespace {

// One 32-block of a weight row as two signed int8x16 halves, columns 0-15 and
// 16-31 (4-bit: the low nibbles, then the high ones), with the bias folded in where
// it fits in int8: 4-bit u - z in [-15, 15]; tables looked up with tbl;
// unsigned 8-bit as u - 128 (the caller subtracts the rest of the bias); signed
// 8-bit as is.
template <WCode C>
inline void load_weights(const uint8_t* blk, int z, int8x16_t lut, int8x16_t& w0, int8x16_t& w1) {
  if (C == WCode::kU4 || C == WCode::kLut4) {
    const uint8x16_t v = vld1q_u8(blk);
    const uint8x16_t lo = vandq_u8(v, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(v, 4);
    if (C == WCode::kLut4) {
      w0 = vqtbl1q_s8(lut, lo);
      w1 = vqtbl1q_s8(lut, hi);
      return;
    }
    const int8x16_t zv = vdupq_n_s8(static_cast<int8_t>(z));
    w0 = vsubq_s8(vreinterpretq_s8_u8(lo), zv);
    w1 = vsubq_s8(vreinterpretq_s8_u8(hi), zv);
  } else {
    uint8x16_t a = vld1q_u8(blk), c = vld1q_u8(blk + 16);
    if (C == WCode::kU8) {
      a = veorq_u8(a, vdupq_n_u8(0x80));
      c = veorq_u8(c, vdupq_n_u8(0x80));
    }
    w0 = vreinterpretq_s8_u8(a);
    w1 = vreinterpretq_s8_u8(c);
  }
}

inline int8x16_t load_lut(const WeightArgs& w) { return w.lut_i8 ? vld1q_s8(w.lut_i8) : vdupq_n_s8(0); }

template <WCode C>
inline int block_bias(const WeightArgs& w, const uint8_t* zrow, int64_t g) {
  const int z = zrow ? zrow[g] : w.bias;
  return C == WCode::kU4 ? z : 0;
}

// 8-bit unsigned codes: the part of the bias not folded into the weights.
template <WCode C>
inline int32x4_t minus_rest_of_bias(int32x4_t p, const WeightArgs& w, const uint8_t* zrow, int64_t g, int32_t xsum) {
  if (C != WCode::kU8) return p;
  const int32_t z = (zrow ? zrow[g] : w.bias) - 128;
  return vsubq_s32(p, vsetq_lane_s32(z * xsum, vdupq_n_s32(0), 0));
}

template <WCode C, SType S, bool Half, int RM, int RN>
LOWBIT_TILE void tile_i8(const WeightArgs& w, const ActI8& x, int64_t i0, int64_t j0, float* y, int64_t ys) {
  float32x4_t acc[RM][RN];
  for (int r = 0; r < RM; ++r)
    for (int c = 0; c < RN; ++c) acc[r][c] = vdupq_n_f32(0.0f);
  const int64_t nb = w.k / 32, bpg = Half ? 1 : w.group / 32;
  const int64_t bb = w.block_bytes, sgb = w.scale_group_bytes;
  const int8x16_t lut = load_lut(w);
  const uint8_t* wrow[RN];
  const uint8_t* srow[RN];
  const uint8_t* zrow[RN];
  for (int c = 0; c < RN; ++c) {
    wrow[c] = w.data + (j0 + c) * w.row_bytes;
    srow[c] = w.scales + (j0 + c) * w.scale_row_bytes;
    zrow[c] = w.zeros ? w.zeros + (j0 + c) * w.zero_stride : nullptr;
  }
  for (int64_t b = 0, g = 0, left = bpg; b < nb; ++b) {
    if (left == 0) {
      ++g;
      left = bpg;
    }
    --left;
    int8x16_t w0[RN], w1[RN];
    float32x4_t sv[RN];
    for (int c = 0; c < RN; ++c) {
      __builtin_prefetch(wrow[c] + b * bb + 1024);
      load_weights<C>(wrow[c] + b * bb, block_bias<C>(w, zrow[c], g), lut, w0[c], w1[c]);
      sv[c] = block_scales<S, Half>(w, srow[c], b, g, sgb, w.scale_mul_i8);
    }
    for (int r = 0; r < RM; ++r) {
      const int8_t* xp = x.q + (i0 + r) * x.k + b * 32;
      const int8x16_t x0 = vld1q_s8(xp), x1 = vld1q_s8(xp + 16);
      const float32x4_t xd = vdupq_n_f32(x.d[(i0 + r) * x.nb + b]);
      const int32_t xs = x.sum[(i0 + r) * x.nb + b];
      for (int c = 0; c < RN; ++c) {
        const int32x4_t d = Half ? dot32_halves(w0[c], x0, w1[c], x1) : dot32(w0[c], x0, w1[c], x1);
        const int32x4_t p = minus_rest_of_bias<C>(d, w, zrow[c], g, xs);
        acc[r][c] = vfmaq_f32(acc[r][c], vcvtq_f32_s32(p), vmulq_f32(xd, sv[c]));
      }
    }
  }
  for (int r = 0; r < RM; ++r)
    for (int c = 0; c < RN; ++c) y[(i0 + r) * ys + j0 + c] = hsum(acc[r][c]);
}

#if LOWBIT_NEON_MMLA
// 2 x rows by 2 weight rows with smmla: each int32 lane is one (row, column)
// pair's exact block sum, [r0c0, r0c1, r1c0, r1c1].
template <WCode C, SType S>
void tile_i8_mmla(const WeightArgs& w, const ActI8& x, int64_t i0, int64_t j0, float* y, int64_t ys) {
  float32x4_t acc = vdupq_n_f32(0.0f);
  const int64_t nb = w.k / 32, bpg = w.group / 32;
  const int64_t bb = w.block_bytes, sgb = w.scale_group_bytes;
  const int8x16_t lut = load_lut(w);
  const uint8_t* wr[2] = {w.data + j0 * w.row_bytes, w.data + (j0 + 1) * w.row_bytes};
  const uint8_t* sr[2] = {w.scales + j0 * w.scale_row_bytes, w.scales + (j0 + 1) * w.scale_row_bytes};
  const uint8_t* zr[2] = {w.zeros ? w.zeros + j0 * w.zero_stride : nullptr,
                          w.zeros ? w.zeros + (j0 + 1) * w.zero_stride : nullptr};
  const int8_t* xr[2] = {x.q + i0 * x.k, x.q + (i0 + 1) * x.k};
  for (int64_t b = 0, g = 0, left = bpg; b < nb; ++b) {
    if (left == 0) {
      ++g;
      left = bpg;
    }
    --left;
    int8x16_t a0, a1, b0, b1;
    load_weights<C>(wr[0] + b * bb, block_bias<C>(w, zr[0], g), lut, a0, a1);
    load_weights<C>(wr[1] + b * bb, block_bias<C>(w, zr[1], g), lut, b0, b1);
    const int8x16_t x00 = vld1q_s8(xr[0] + b * 32), x01 = vld1q_s8(xr[0] + b * 32 + 16);
    const int8x16_t x10 = vld1q_s8(xr[1] + b * 32), x11 = vld1q_s8(xr[1] + b * 32 + 16);
    // smmla(acc, A, B): A holds 2 rows of 8, B 2 columns of 8; 8 bytes per step.
    int32x4_t p = vdupq_n_s32(0);
    const int8x16_t xs_[2][2] = {{x00, x01}, {x10, x11}};
    const int8x16_t ws_[2][2] = {{a0, a1}, {b0, b1}};
    for (int h = 0; h < 2; ++h) {
      const int8x16_t xa = xs_[0][h], xb = xs_[1][h], wa = ws_[0][h], wb = ws_[1][h];
      p = vmmlaq_s32(p, vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(xa), vreinterpretq_s64_s8(xb))),
                     vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(wa), vreinterpretq_s64_s8(wb))));
      p = vmmlaq_s32(p, vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(xa), vreinterpretq_s64_s8(xb))),
                     vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(wa), vreinterpretq_s64_s8(wb))));
    }
    const float d0 = x.d[i0 * x.nb + b], d1 = x.d[(i0 + 1) * x.nb + b];
    const float s0 = load_scale<S>(w, sr[0] + g * sgb) * w.scale_mul_i8;
    const float s1 = load_scale<S>(w, sr[1] + g * sgb) * w.scale_mul_i8;
    if (C == WCode::kU8) {
      const int32_t z0 = (zr[0] ? zr[0][g] : w.bias) - 128, z1 = (zr[1] ? zr[1][g] : w.bias) - 128;
      const int32_t xs0 = x.sum[i0 * x.nb + b], xs1 = x.sum[(i0 + 1) * x.nb + b];
      const int32_t bias[4] = {z0 * xs0, z1 * xs0, z0 * xs1, z1 * xs1};
      p = vsubq_s32(p, vld1q_s32(bias));
    }
    const float sc[4] = {d0 * s0, d0 * s1, d1 * s0, d1 * s1};
    acc = vfmaq_f32(acc, vcvtq_f32_s32(p), vld1q_f32(sc));
  }
  y[i0 * ys + j0] = vgetq_lane_f32(acc, 0);
  y[i0 * ys + j0 + 1] = vgetq_lane_f32(acc, 1);
  y[(i0 + 1) * ys + j0] = vgetq_lane_f32(acc, 2);
  y[(i0 + 1) * ys + j0 + 1] = vgetq_lane_f32(acc, 3);
}
#endif

template <WCode C, SType S, bool Half, int RN>
void rows_i8(const WeightArgs& w, const ActI8& x, int64_t m, int64_t j0, float* y, int64_t ys) {
  for_row_tiles(m, [&](auto rm, int64_t i) { tile_i8<C, S, Half, decltype(rm)::value, RN>(w, x, i, j0, y, ys); });
}

template <WCode C, SType S, bool Half>
void gemm_i8_t(const WeightArgs& w, const ActI8& x, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ys) {
  int64_t j = n0;
  if (m == 1) {
    for (; j + 4 <= n1; j += 4) tile_i8<C, S, Half, 1, 4>(w, x, 0, j, y, ys);
  } else {
#if LOWBIT_NEON_MMLA
    // Pairs of x rows by pairs of weight rows go through smmla (whose lanes cover whole
    // blocks, so not with group-16 scales); the tiling depends only on the fixed task
    // chunks, never on the thread count.
    if (!Half) {
      for (; j + 2 <= n1; j += 2) {
        int64_t i = 0;
        for (; i + 2 <= m; i += 2) tile_i8_mmla<C, S>(w, x, i, j, y, ys);
        if (i < m) tile_i8<C, S, Half, 1, 2>(w, x, i, j, y, ys);
      }
    }
#endif
    for (; j + 4 <= n1; j += 4) rows_i8<C, S, Half, 4>(w, x, m, j, y, ys);
  }
  for (; j < n1; ++j) rows_i8<C, S, Half, 1>(w, x, m, j, y, ys);
}

template <WCode C>
void i8_by_scale(const WeightArgs& w, const ActI8& x, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ys) {
  if (w.stype == SType::kF16) return gemm_i8_t<C, SType::kF16, false>(w, x, m, n0, n1, y, ys);
  return gemm_i8_t<C, SType::kF32, false>(w, x, m, n0, n1, y, ys);
}

}  // namespace

// Only the (code, scale, half) combinations the formats produce are built.
void gemm_i8(const WeightArgs& w, const ActI8& x, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ys) {
  const bool half = w.group == 16;
  switch (w.code) {
    // Never handed these (matmul multiplies 2- and 3-bit codes packed or with the scalar kernels).
    case WCode::kU2: case WCode::kU3: return;
    case WCode::kU4: return i8_by_scale<WCode::kU4>(w, x, m, n0, n1, y, ys);
    case WCode::kS8: return i8_by_scale<WCode::kS8>(w, x, m, n0, n1, y, ys);
    case WCode::kU8: return i8_by_scale<WCode::kU8>(w, x, m, n0, n1, y, ys);
    case WCode::kLut4:
      switch (w.stype) {
        case SType::kF32: return half ? gemm_i8_t<WCode::kLut4, SType::kF32, true>(w, x, m, n0, n1, y, ys)
                                      : gemm_i8_t<WCode::kLut4, SType::kF32, false>(w, x, m, n0, n1, y, ys);
        case SType::kF16: return half ? gemm_i8_t<WCode::kLut4, SType::kF16, true>(w, x, m, n0, n1, y, ys)
                                      : gemm_i8_t<WCode::kLut4, SType::kF16, false>(w, x, m, n0, n1, y, ys);
        case SType::kE8M0: return gemm_i8_t<WCode::kLut4, SType::kE8M0, false>(w, x, m, n0, n1, y, ys);
        case SType::kE4M3: return gemm_i8_t<WCode::kLut4, SType::kE4M3, true>(w, x, m, n0, n1, y, ys);
      }
      return;
    case WCode::kE4M3:
    case WCode::kE5M2: return;  // float path only (the driver never sends them here)
  }
}

namespace {

// 8 fp8 bytes -> 2 x 4 floats via the fp16 converter: E5M2 is the top byte of a
// binary16; E4M3's bits shifted into binary16 (bias 15) and rescaled by 2^8.
template <WCode C>
inline void fp8_to_f32(const uint8_t* p, float32x4_t& lo, float32x4_t& hi) {
  const uint16x8_t u = vmovl_u8(vld1_u8(p));
  if (C == WCode::kE5M2) {
    const float16x8_t h = vreinterpretq_f16_u16(vshlq_n_u16(u, 8));
    lo = vcvt_f32_f16(vget_low_f16(h));
    hi = vcvt_high_f32_f16(h);
    return;
  }
  const uint16x8_t em = vandq_u16(u, vdupq_n_u16(0x7F));
  const uint16x8_t bits = vorrq_u16(vshlq_n_u16(vandq_u16(u, vdupq_n_u16(0x80)), 8), vshlq_n_u16(em, 7));
  const float16x8_t h = vreinterpretq_f16_u16(bits);
  // All-ones lanes where the code is NaN, widened by sign extension.
  const int16x8_t nan = vreinterpretq_s16_u16(vceqq_u16(em, vdupq_n_u16(0x7F)));
  const float32x4_t k = vdupq_n_f32(256.0f), qnan = vdupq_n_f32(__builtin_nanf(""));
  lo = vbslq_f32(vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(nan))), qnan,
                 vmulq_f32(vcvt_f32_f16(vget_low_f16(h)), k));
  hi = vbslq_f32(vreinterpretq_u32_s32(vmovl_high_s16(nan)), qnan, vmulq_f32(vcvt_high_f32_f16(h), k));
}

// 16 nibble codes -> 16 floats of a 16-entry table (4 vectors), with tbl over the
// table's 64 bytes: each code becomes the byte indices 4c .. 4c + 3.
inline void lut_f32(const uint8x16x4_t& tab, uint8x16_t codes, float32x4_t out[4]) {
  const uint8x16_t off = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
  for (int k = 0; k < 4; ++k) {
    const uint8_t b = static_cast<uint8_t>(4 * k);
    const uint8x16_t sel = {b, b, b, b, static_cast<uint8_t>(b + 1), static_cast<uint8_t>(b + 1),
                            static_cast<uint8_t>(b + 1), static_cast<uint8_t>(b + 1), static_cast<uint8_t>(b + 2),
                            static_cast<uint8_t>(b + 2), static_cast<uint8_t>(b + 2), static_cast<uint8_t>(b + 2),
                            static_cast<uint8_t>(b + 3), static_cast<uint8_t>(b + 3), static_cast<uint8_t>(b + 3),
                            static_cast<uint8_t>(b + 3)};
    const uint8x16_t idx = vaddq_u8(vshlq_n_u8(vqtbl1q_u8(codes, sel), 2), off);
    out[k] = vreinterpretq_f32_u8(vqtbl4q_u8(tab, idx));
  }
}

// The float path's leaf (gemm/float_driver.h): 128-bit vectors, 8 per 32-column block.
struct FloatLeaf {
  using Vec = float32x4_t;
  using Panel = PanelLeaf;
  static constexpr int kLanes = 4;
  static constexpr int kSgemmCols = 4;
  // decode's order: vectors 0-3 hold the block's first 16 columns, 4-7 the last 16.
  static constexpr int half_of(int i) { return i >> 2; }
  static Vec zero() { return vdupq_n_f32(0.0f); }
  static Vec set1(float v) { return vdupq_n_f32(v); }
  static Vec load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, Vec v) { vst1q_f32(p, v); }
  static Vec add(Vec a, Vec b) { return vaddq_f32(a, b); }
  static Vec sub(Vec a, Vec b) { return vsubq_f32(a, b); }
  static Vec fma(Vec a, Vec b, Vec acc) { return vfmaq_f32(acc, a, b); }
  static float hsum(Vec v) { return lowbit::LOWBIT_NS::hsum(v); }
  // Strides 1 and 2 inside the vector (partner by lane reversal, combined as v * sign + partner,
  // exactly a + b / a - b).
  static Vec fwht_lanes(Vec x) {
    const float32x4_t s1 = {1, -1, 1, -1}, s2 = {1, 1, -1, -1};
    x = vaddq_f32(vmulq_f32(x, s1), vrev64q_f32(x));
    return vaddq_f32(vmulq_f32(x, s2), vextq_f32(x, x, 2));
  }
  template <SType S>
  static float scale(const WeightArgs& w, const uint8_t* p) {
    return load_scale<S>(w, p);
  }
  // s * value for one 32-block, columns in order (4-bit: the low nibbles are columns
  // 0-15): the same float32 rounding as dequantize(). s[i] scales out[i].
  template <WCode C>
  static void decode(const WeightArgs& w, const uint8_t* blk, int bias, const float32x4_t s[8],
                           float32x4_t out[8]) {
    if (C == WCode::kE4M3 || C == WCode::kE5M2) {
      for (int i = 0; i < 4; ++i) {
        fp8_to_f32<C>(blk + 8 * i, out[2 * i], out[2 * i + 1]);
        out[2 * i] = vmulq_f32(s[2 * i], out[2 * i]);
        out[2 * i + 1] = vmulq_f32(s[2 * i + 1], out[2 * i + 1]);
      }
      return;
    }
    if (C == WCode::kLut4) {
      const uint8x16_t v = vld1q_u8(blk);
      const uint8x16x4_t tab = vld1q_u8_x4(reinterpret_cast<const uint8_t*>(w.lut_f32));
      lut_f32(tab, vandq_u8(v, vdupq_n_u8(0x0F)), out);
      lut_f32(tab, vshrq_n_u8(v, 4), out + 4);
      for (int i = 0; i < 8; ++i) out[i] = vmulq_f32(s[i], out[i]);
      return;
    }
    int16x8_t h[4];
    const int16x8_t bv = vdupq_n_s16(static_cast<int16_t>(bias));
    if (C == WCode::kU4) {
      const uint8x16_t v = vld1q_u8(blk);
      const uint8x16_t lo = vandq_u8(v, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(v, 4);
      h[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(lo)));
      h[1] = vreinterpretq_s16_u16(vmovl_high_u8(lo));
      h[2] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(hi)));
      h[3] = vreinterpretq_s16_u16(vmovl_high_u8(hi));
    } else if (C == WCode::kS8) {
      const int8x16_t a = vld1q_s8(reinterpret_cast<const int8_t*>(blk));
      const int8x16_t c = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 16));
      h[0] = vmovl_s8(vget_low_s8(a));
      h[1] = vmovl_high_s8(a);
      h[2] = vmovl_s8(vget_low_s8(c));
      h[3] = vmovl_high_s8(c);
    } else {
      const uint8x16_t a = vld1q_u8(blk), c = vld1q_u8(blk + 16);
      h[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(a)));
      h[1] = vreinterpretq_s16_u16(vmovl_high_u8(a));
      h[2] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(c)));
      h[3] = vreinterpretq_s16_u16(vmovl_high_u8(c));
    }
    for (int i = 0; i < 4; ++i) {
      const int16x8_t d = vsubq_s16(h[i], bv);
      out[2 * i] = vmulq_f32(s[2 * i], vcvtq_f32_s32(vmovl_s16(vget_low_s16(d))));
      out[2 * i + 1] = vmulq_f32(s[2 * i + 1], vcvtq_f32_s32(vmovl_high_s16(d)));
    }
  }
};

}  // namespace

LOWBIT_FLOAT_ENTRIES(FloatLeaf, FloatLeaf)

}  // namespace lowbit::LOWBIT_NS
