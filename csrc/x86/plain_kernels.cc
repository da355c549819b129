// The kernels on QuantizedMatrix's own layout (WeightArgs): int8 and float
// activations, the plain fp32 GEMM, activation quantization and the FWHT, written
// with 256-bit AVX2 + FMA + F16C intrinsics, compiled by every x86 kernel set (kernel_set.h; the
// AVX-512 sets compile these 256-bit kernels with EVEX encodings and 32 registers, and decode the
// float path in 512-bit vectors, float_leaf512.h). The table's entries are in the set's namespace,
// the rest has internal linkage.
#include "kernel_set.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../gemm/float_driver.h"
#include "../gemm/row_tiles.h"
#include "../gemm/stored_scale.h"
#include "float_leaf512.h"
#include "half.h"
#include "sgemm_panel.h"

namespace lowbit::LOWBIT_NS {

namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 16 packed bytes -> 32 codes: the low nibbles (columns 0-15), then the high nibbles (16-31).
inline __m256i unpack_u4(const uint8_t* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
}

}  // namespace

void quantize_act(const float* x, int64_t k, int8_t* q, float* d, int32_t* sum) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b * 32 < k; ++b) {
    const float* p = x + b * 32;
    __m256 v[4];
    for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(p + 8 * i);
    __m256 amax = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                                _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
    const float s = hmax(amax) / 127.0f;
    d[b] = s;
    __m256i* out = reinterpret_cast<__m256i*>(q + b * 32);
    if (s == 0.0f) {
      _mm256_storeu_si256(out, _mm256_setzero_si256());
      sum[b] = 0;
      continue;
    }
    // x / s as a true division (not a reciprocal multiply) so codes match the reference bit for bit.
    // Held to [-127, 127] as the reference holds them (a subnormal s gives codes up to about 190).
    const __m256 sv = _mm256_set1_ps(s);
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    __m256i i32[4];
    for (int i = 0; i < 4; ++i) {
      i32[i] = _mm256_cvtps_epi32(
          _mm256_round_ps(_mm256_div_ps(v[i], sv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      i32[i] = _mm256_min_epi32(_mm256_max_epi32(i32[i], lo), hi);
    }
    __m256i total = _mm256_add_epi32(_mm256_add_epi32(i32[0], i32[1]), _mm256_add_epi32(i32[2], i32[3]));
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
    t = _mm_hadd_epi32(t, t);
    t = _mm_hadd_epi32(t, t);
    sum[b] = _mm_cvtsi128_si32(t);
    const __m256i p16a = _mm256_packs_epi32(i32[0], i32[1]);
    const __m256i p16b = _mm256_packs_epi32(i32[2], i32[3]);
    const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    _mm256_storeu_si256(out, _mm256_permutevar8x32_epi32(p8, order));
  }
}

namespace {

template <SType S>
inline float load_scale(const WeightArgs& w, const uint8_t* p) {
  return stored_scale<S, half_to_float>(w, p);
}

// Per-block integer dot products of RM activation rows with RN weight rows.
// Every (row, column) pair runs the same instruction sequence whatever RM and
// RN are, so results do not depend on tiling or on the thread count.
//
// Each 8-lane partial is an exact integer sum of x * (w - z) over 4 columns, so
// the float accumulation never cancels a bias:
//  - 4-bit, no zero-points (symmetric, bias 8): vpmaddubsw(u, x) minus a
//    per-lane bias * sum(x) computed once per activation block;
//  - 4-bit with zero-points: signed u - z in [-15, 15] and the sign trick;
//  - 4-bit tables: vpshufb turns nibbles into signed values, then the sign trick;
//  - 8-bit signed: the sign trick; 8-bit unsigned: u - 128 and the sign trick,
//    with (z - 128) * sum(x) subtracted from lane 0.
// Half (group 16, tables only): lanes 0-3 hold the block's first 16 columns (the low
// nibbles) and lanes 4-7 its last 16, so each lane takes its own half's scale.
// Biased (tables only): lut_i8 + lut_bias is unsigned, so tables take the 4-bit bias path.
template <WCode C, SType S, bool Zeros, bool Half, bool Biased, int RM, int RN>
LOWBIT_TILE void tile_i8(const WeightArgs& w, const ActI8& x, int64_t i0, int64_t j0, float* y, int64_t ys) {
  __m256 acc[RM][RN];
  for (int r = 0; r < RM; ++r)
    for (int c = 0; c < RN; ++c) acc[r][c] = _mm256_setzero_ps();
  const int64_t nb = w.k / 32;
  const int64_t bpg = Half ? 1 : w.group / 32;
  const int64_t bb = w.block_bytes, sgb = w.scale_group_bytes;
  const bool prefetch_scales = sgb <= 4;  // a separate scale array (ggml blocks carry theirs)
  const float mul = w.scale_mul_i8;
  const __m256i ones16 = _mm256_set1_epi16(1);
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i nib = _mm256_set1_epi8(0x0F);
  __m256i lut = _mm256_setzero_si256();
  if (C == WCode::kLut4) {
    lut = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.lut_i8)));
    if (Biased) lut = _mm256_add_epi8(lut, _mm256_set1_epi8(static_cast<char>(w.lut_bias)));
  }
  // Lanes of vpmaddubsw(u, x) with unsigned u = value + bias carry bias * sum(x) too much.
  constexpr bool kBiasTrick = (C == WCode::kU4 && !Zeros) || (C == WCode::kLut4 && Biased);
  const int32_t bias_const = C == WCode::kLut4 ? w.lut_bias : w.bias;
  const uint8_t* wrow[RN];
  const uint8_t* srow[RN];
  const uint8_t* zrow[RN];
  for (int c = 0; c < RN; ++c) {
    wrow[c] = w.data + (j0 + c) * w.row_bytes;
    srow[c] = w.scales + (j0 + c) * w.scale_row_bytes;
    zrow[c] = Zeros ? w.zeros + (j0 + c) * w.zero_stride : nullptr;
  }
  const int8_t* xrow[RM];
  const float* drow[RM];
  const int32_t* sumrow[RM];
  for (int r = 0; r < RM; ++r) {
    xrow[r] = x.q + (i0 + r) * x.k;
    drow[r] = x.d + (i0 + r) * x.nb;
    sumrow[r] = x.sum + (i0 + r) * x.nb;
  }
  for (int64_t b = 0, g = 0, left = bpg; b < nb; ++b) {
    if (left == 0) {
      ++g;
      left = bpg;
    }
    --left;
    __m256i wv[RN], wabs[RN];
    __m256 sv[RN];
    // Weight rows are streamed once: fetch about 1 KiB ahead of each row, once per cache line.
    if (((b * bb) & 63) < bb) {
      for (int c = 0; c < RN; ++c) {
        _mm_prefetch(reinterpret_cast<const char*>(wrow[c] + b * bb + 1024), _MM_HINT_T0);
        if (prefetch_scales) _mm_prefetch(reinterpret_cast<const char*>(srow[c] + g * sgb + 256), _MM_HINT_T0);
      }
    }
    for (int c = 0; c < RN; ++c) {
      if (C == WCode::kU4 || C == WCode::kLut4) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wrow[c] + b * bb));
        wv[c] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), nib);
        if (C == WCode::kLut4) {
          wv[c] = _mm256_shuffle_epi8(lut, wv[c]);
          if (!Biased) wabs[c] = _mm256_abs_epi8(wv[c]);
        } else if (Zeros) {
          wv[c] = _mm256_sub_epi8(wv[c], _mm256_set1_epi8(static_cast<char>(zrow[c][g])));
          wabs[c] = _mm256_abs_epi8(wv[c]);
        }
      } else {
        wv[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wrow[c] + b * bb));
        if (C == WCode::kU8) wv[c] = _mm256_xor_si256(wv[c], flip);
        wabs[c] = _mm256_abs_epi8(wv[c]);
      }
      if (Half) {
        const float s0 = load_scale<S>(w, srow[c] + 2 * b * sgb) * mul;
        const float s1 = load_scale<S>(w, srow[c] + (2 * b + 1) * sgb) * mul;
        sv[c] = _mm256_set_m128(_mm_set1_ps(s1), _mm_set1_ps(s0));
      } else {
        sv[c] = _mm256_set1_ps(load_scale<S>(w, srow[c] + g * sgb) * mul);
      }
    }
    for (int r = 0; r < RM; ++r) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xrow[r] + b * 32));
      const __m256 xd = _mm256_set1_ps(drow[r][b]);
      __m256i lane_bias = _mm256_setzero_si256();
      if (kBiasTrick) {
        lane_bias = _mm256_mullo_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(ones8, xv), ones16),
                                       _mm256_set1_epi32(bias_const));
      }
      for (int c = 0; c < RN; ++c) {
        __m256i p32;
        if (kBiasTrick) {
          p32 = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(wv[c], xv), ones16), lane_bias);
        } else {
          p32 = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs[c], _mm256_sign_epi8(xv, wv[c])), ones16);
        }
        if (C == WCode::kU8) {
          const int32_t z = (Zeros ? zrow[c][g] : bias_const) - 128;
          // Lane 0 only; the other lanes must be zero (a cast would leave them undefined).
          p32 = _mm256_sub_epi32(p32, _mm256_setr_epi32(z * sumrow[r][b], 0, 0, 0, 0, 0, 0, 0));
        }
        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p32), _mm256_mul_ps(xd, sv[c]), acc[r][c]);
      }
    }
  }
  for (int r = 0; r < RM; ++r)
    for (int c = 0; c < RN; ++c) y[(i0 + r) * ys + j0 + c] = hsum(acc[r][c]);
}

template <WCode C, SType S, bool Zeros, bool Half, bool Biased, int RN>
void rows_i8(const WeightArgs& w, const ActI8& x, int64_t m, int64_t j0, float* y, int64_t ys) {
  for_row_tiles(m, [&](auto rm, int64_t i) {
    tile_i8<C, S, Zeros, Half, Biased, decltype(rm)::value, RN>(w, x, i, j0, y, ys);
  });
}

template <WCode C, SType S, bool Zeros, bool Half, bool Biased = false>
void gemm_i8_t(const WeightArgs& w, const ActI8& x, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ys) {
  int64_t j = n0;
  if (m == 1) {
    for (; j + 4 <= n1; j += 4) tile_i8<C, S, Zeros, Half, Biased, 1, 4>(w, x, 0, j, y, ys);
  } else {
    for (; j + 2 <= n1; j += 2) rows_i8<C, S, Zeros, Half, Biased, 2>(w, x, m, j, y, ys);
  }
  for (; j < n1; ++j) rows_i8<C, S, Zeros, Half, Biased, 1>(w, x, m, j, y, ys);
}

}  // namespace

// Only the (code, scale, zero-point, half) combinations the formats produce are built.
void gemm_i8(const WeightArgs& w, const ActI8& x, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ys) {
  const bool z = w.zeros != nullptr, f16 = w.stype == SType::kF16, half = w.group == 16;
  switch (w.code) {
    // Never handed these (matmul multiplies 2- and 3-bit codes packed or with the scalar kernels).
    case WCode::kU2: case WCode::kU3: return;
    case WCode::kU4:
      if (f16) return z ? gemm_i8_t<WCode::kU4, SType::kF16, true, false>(w, x, m, n0, n1, y, ys)
                        : gemm_i8_t<WCode::kU4, SType::kF16, false, false>(w, x, m, n0, n1, y, ys);
      return z ? gemm_i8_t<WCode::kU4, SType::kF32, true, false>(w, x, m, n0, n1, y, ys)
               : gemm_i8_t<WCode::kU4, SType::kF32, false, false>(w, x, m, n0, n1, y, ys);
    case WCode::kS8:
      if (f16) return gemm_i8_t<WCode::kS8, SType::kF16, false, false>(w, x, m, n0, n1, y, ys);
      return gemm_i8_t<WCode::kS8, SType::kF32, false, false>(w, x, m, n0, n1, y, ys);
    case WCode::kU8:
      if (f16) return z ? gemm_i8_t<WCode::kU8, SType::kF16, true, false>(w, x, m, n0, n1, y, ys)
                        : gemm_i8_t<WCode::kU8, SType::kF16, false, false>(w, x, m, n0, n1, y, ys);
      return z ? gemm_i8_t<WCode::kU8, SType::kF32, true, false>(w, x, m, n0, n1, y, ys)
               : gemm_i8_t<WCode::kU8, SType::kF32, false, false>(w, x, m, n0, n1, y, ys);
    case WCode::kLut4:
      switch (w.stype) {
        case SType::kF32: return half ? gemm_i8_t<WCode::kLut4, SType::kF32, false, true>(w, x, m, n0, n1, y, ys)
                                      : gemm_i8_t<WCode::kLut4, SType::kF32, false, false>(w, x, m, n0, n1, y, ys);
        case SType::kF16: return half ? gemm_i8_t<WCode::kLut4, SType::kF16, false, true>(w, x, m, n0, n1, y, ys)
                                      : gemm_i8_t<WCode::kLut4, SType::kF16, false, false>(w, x, m, n0, n1, y, ys);
        // E2M1 (mxfp4, nvfp4): a table with a bias (lut_bias is 12).
        case SType::kE8M0: return gemm_i8_t<WCode::kLut4, SType::kE8M0, false, false, true>(w, x, m, n0, n1, y, ys);
        case SType::kE4M3: return gemm_i8_t<WCode::kLut4, SType::kE4M3, false, true, true>(w, x, m, n0, n1, y, ys);
      }
      return;
    case WCode::kE4M3:
    case WCode::kE5M2: return;  // float path only (the driver never sends them here)
  }
}

namespace {

// 8 bytes -> 8 floats of an fp8 format, via the fp16 converter: E5M2 is the top
// byte of a binary16; E4M3's bits shifted into binary16 (bias 15) and rescaled by 2^8.
template <WCode C>
inline __m256 fp8_to_ps(const uint8_t* p) {
  const __m128i u = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  if (C == WCode::kE5M2) return _mm256_cvtph_ps(_mm_slli_epi16(u, 8));
  const __m128i em = _mm_and_si128(u, _mm_set1_epi16(0x7F));
  const __m128i h = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(u, _mm_set1_epi16(0x80)), 8), _mm_slli_epi16(em, 7));
  const __m256 f = _mm256_mul_ps(_mm256_cvtph_ps(h), _mm256_set1_ps(256.0f));
  const __m256 nan = _mm256_castsi256_ps(_mm256_cvtepi16_epi32(_mm_cmpeq_epi16(em, _mm_set1_epi16(0x7F))));
  return _mm256_blendv_ps(f, _mm256_set1_ps(__builtin_nanf("")), nan);
}

// The float path's leaf (gemm/float_driver.h): 256-bit vectors, 4 per 32-column block (the 512-bit
// sets decode with float_leaf512.h and run sgemm and the FWHT on this one).
struct FloatLeaf {
  using Vec = __m256;
  using Panel = PanelLeaf;
  static constexpr int kLanes = 8;
  static constexpr int kSgemmCols = 3;
  // decode's order: vectors 0 and 1 hold the block's first 16 columns, 2 and 3 the last 16.
  static constexpr int half_of(int i) { return i >> 1; }
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec set1(float v) { return _mm256_set1_ps(v); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static Vec fma(Vec a, Vec b, Vec acc) { return _mm256_fmadd_ps(a, b, acc); }
  static float hsum(Vec v) { return lowbit::LOWBIT_NS::hsum(v); }
  // Strides 1, 2 and 4 inside the vector (partner = a lane permutation, combined as v * sign +
  // partner: even positions a + b, odd ones b_partner - v = a - b exactly).
  static Vec fwht_lanes(Vec x) {
    const __m256 s1 = _mm256_setr_ps(1, -1, 1, -1, 1, -1, 1, -1);
    const __m256 s2 = _mm256_setr_ps(1, 1, -1, -1, 1, 1, -1, -1);
    const __m256 s4 = _mm256_setr_ps(1, 1, 1, 1, -1, -1, -1, -1);
    x = _mm256_add_ps(_mm256_mul_ps(x, s1), _mm256_permute_ps(x, 0xB1));
    x = _mm256_add_ps(_mm256_mul_ps(x, s2), _mm256_permute_ps(x, 0x4E));
    return _mm256_add_ps(_mm256_mul_ps(x, s4), _mm256_permute2f128_ps(x, x, 1));
  }
  template <SType S>
  static float scale(const WeightArgs& w, const uint8_t* p) {
    return load_scale<S>(w, p);
  }
  // Dequantizes one 32-column block of a weight row into 4 vectors, columns in order
  // (4-bit: the low nibbles are columns 0-15), s[i] the scale of vector i: s * value,
  // the same float32 rounding as dequantize().
  template <WCode C>
  static void decode(const WeightArgs& w, const uint8_t* blk, int bias, const __m256 s[4], __m256 out[4]) {
    if (C == WCode::kE4M3 || C == WCode::kE5M2) {
      for (int i = 0; i < 4; ++i) out[i] = _mm256_mul_ps(s[i], fp8_to_ps<C>(blk + 8 * i));
      return;
    }
    __m256i codes[4];
    if (C == WCode::kU4 || C == WCode::kLut4) {
      const __m256i u = unpack_u4(blk);
      const __m128i lo = _mm256_castsi256_si128(u), hi = _mm256_extracti128_si256(u, 1);
      codes[0] = _mm256_cvtepu8_epi32(lo);
      codes[1] = _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8));
      codes[2] = _mm256_cvtepu8_epi32(hi);
      codes[3] = _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8));
    } else {
      for (int i = 0; i < 4; ++i) {
        const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 8 * i));
        codes[i] = C == WCode::kS8 ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
      }
    }
    if (C == WCode::kLut4) {
      const __m256 lo = _mm256_loadu_ps(w.lut_f32), hi = _mm256_loadu_ps(w.lut_f32 + 8);
      for (int i = 0; i < 4; ++i) {
        const __m256 v =
            _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, codes[i]), _mm256_permutevar8x32_ps(hi, codes[i]),
                             _mm256_castsi256_ps(_mm256_slli_epi32(codes[i], 28)));
        out[i] = _mm256_mul_ps(s[i], v);
      }
      return;
    }
    const __m256i bv = _mm256_set1_epi32(bias);
    for (int i = 0; i < 4; ++i) out[i] = _mm256_mul_ps(s[i], _mm256_cvtepi32_ps(_mm256_sub_epi32(codes[i], bv)));
  }
};

}  // namespace

#if LOWBIT_VEC == 512
LOWBIT_FLOAT_ENTRIES(FloatLeaf512, FloatLeaf)
#else
LOWBIT_FLOAT_ENTRIES(FloatLeaf, FloatLeaf)
#endif

}  // namespace lowbit::LOWBIT_NS
