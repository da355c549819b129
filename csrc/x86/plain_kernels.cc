// The kernels on QuantizedMatrix's own layout (WeightArgs): int8 and float
// activations, the plain fp32 GEMM, activation quantization and the FWHT, written
// with 256-bit AVX2 + FMA + F16C intrinsics, compiled by every x86 kernel set (kernel_set.h; the
// AVX-512 sets compile these 256-bit kernels with EVEX encodings and 32 registers). The table's
// entries are in the set's namespace, the rest has internal linkage.
#include "kernel_set.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

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

// 16 packed bytes -> 32 codes: the low nibbles (even columns), then the high nibbles (odd columns).
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
    const __m256 sv = _mm256_set1_ps(s);
    __m256i i32[4];
    for (int i = 0; i < 4; ++i) {
      i32[i] = _mm256_cvtps_epi32(
          _mm256_round_ps(_mm256_div_ps(v[i], sv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
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

// A stored scale, decoded: fp16 natively, E8M0 and E4M3 through the driver's 256-entry table.
template <SType S>
inline float load_scale(const WeightArgs& w, const uint8_t* p) {
  if (S == SType::kF32) {
    float f;
    __builtin_memcpy(&f, p, 4);
    return f;
  }
  if (S == SType::kF16) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
  }
  return w.scale_lut[*p];
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
// Half (group 16, tables only): lanes 0, 1, 4, 5 hold the block's first 16 columns
// and lanes 2, 3, 6, 7 its last 16 (even columns in bytes 0-15, odd in 16-31), so
// each lane takes its own half's scale.
// Biased (tables only): lut_i8 + lut_bias is unsigned, so tables take the 4-bit bias path.
template <WCode C, SType S, bool Zeros, bool Half, bool Biased, int RM, int RN>
void tile_i8(const WeightArgs& w, const ActI8& x, int64_t i0, int64_t j0, float* y, int64_t ys) {
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
        sv[c] = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_unpacklo_ps(_mm_set_ss(s0), _mm_set_ss(s1))),
                                         _mm256_setr_epi32(0, 0, 1, 1, 0, 0, 1, 1));
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
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) tile_i8<C, S, Zeros, Half, Biased, 4, RN>(w, x, i, j0, y, ys);
  switch (m - i) {
    case 3: tile_i8<C, S, Zeros, Half, Biased, 3, RN>(w, x, i, j0, y, ys); break;
    case 2: tile_i8<C, S, Zeros, Half, Biased, 2, RN>(w, x, i, j0, y, ys); break;
    case 1: tile_i8<C, S, Zeros, Half, Biased, 1, RN>(w, x, i, j0, y, ys); break;
    default: break;
  }
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

// Dequantizes one 32-column block of a weight row into 4 vectors, in the
// kernel's column order (4-bit: low nibbles, then high), s[i] the scale of vector i:
// s * value, the same float32 rounding as dequantize().
template <WCode C>
inline void decode_block(const WeightArgs& w, const uint8_t* blk, int bias, const __m256 s[4], __m256 out[4]) {
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
      const __m256 v = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, codes[i]), _mm256_permutevar8x32_ps(hi, codes[i]),
                                        _mm256_castsi256_ps(_mm256_slli_epi32(codes[i], 28)));
      out[i] = _mm256_mul_ps(s[i], v);
    }
    return;
  }
  const __m256i bv = _mm256_set1_epi32(bias);
  for (int i = 0; i < 4; ++i) out[i] = _mm256_mul_ps(s[i], _mm256_cvtepi32_ps(_mm256_sub_epi32(codes[i], bv)));
}

template <WCode C, SType S, bool Half, int RM, int RN>
void tile_f32(const WeightArgs& w, const float* x, int64_t xs, int64_t i0, int64_t j0, float* y, int64_t ys) {
  __m256 acc[RM][RN];
  for (int r = 0; r < RM; ++r)
    for (int c = 0; c < RN; ++c) acc[r][c] = _mm256_setzero_ps();
  const int64_t nb = w.k / 32;
  const int64_t bpg = Half ? 1 : w.group / 32;
  const int64_t sgb = w.scale_group_bytes;
  for (int64_t b = 0, g = 0, left = bpg; b < nb; ++b) {
    if (left == 0) {
      ++g;
      left = bpg;
    }
    --left;
    for (int c = 0; c < RN; ++c) {
      const uint8_t* srow = w.scales + (j0 + c) * w.scale_row_bytes;
      __m256 sv[4];
      if (Half) {
        // Vectors 0 and 2 hold the first 16 columns, 1 and 3 the last 16.
        sv[0] = sv[2] = _mm256_set1_ps(load_scale<S>(w, srow + 2 * b * sgb) * w.scale_mul);
        sv[1] = sv[3] = _mm256_set1_ps(load_scale<S>(w, srow + (2 * b + 1) * sgb) * w.scale_mul);
      } else {
        sv[0] = sv[1] = sv[2] = sv[3] = _mm256_set1_ps(load_scale<S>(w, srow + g * sgb) * w.scale_mul);
      }
      const int bias = w.zeros ? w.zeros[(j0 + c) * w.zero_stride + g] : w.bias;
      __m256 wf[4];
      decode_block<C>(w, w.data + (j0 + c) * w.row_bytes + b * w.block_bytes, bias, sv, wf);
      for (int r = 0; r < RM; ++r) {
        const float* xp = x + (i0 + r) * xs + b * 32;
        for (int i = 0; i < 4; ++i) acc[r][c] = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 8 * i), wf[i], acc[r][c]);
      }
    }
  }
  for (int r = 0; r < RM; ++r)
    for (int c = 0; c < RN; ++c) y[(i0 + r) * ys + j0 + c] = hsum(acc[r][c]);
}

template <WCode C, SType S, bool Half, int RN>
void rows_f32(const WeightArgs& w, const float* x, int64_t xs, int64_t m, int64_t j0, float* y, int64_t ys) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) tile_f32<C, S, Half, 4, RN>(w, x, xs, i, j0, y, ys);
  switch (m - i) {
    case 3: tile_f32<C, S, Half, 3, RN>(w, x, xs, i, j0, y, ys); break;
    case 2: tile_f32<C, S, Half, 2, RN>(w, x, xs, i, j0, y, ys); break;
    case 1: tile_f32<C, S, Half, 1, RN>(w, x, xs, i, j0, y, ys); break;
    default: break;
  }
}

// Dequantizes weight rows [j, j + nr), columns [kk0, kk0 + kc) (whole 32-blocks) into a
// transposed fp32 panel for panel_gemm, the same values decode_block gives tile_f32.
template <WCode C, SType S, bool Half>
void pack_panel_f32(const WeightArgs& w, int64_t j, int nr, int64_t kk0, int64_t kc, float* panel, float* rows) {
  const int64_t sgb = w.scale_group_bytes;
  for (int c = 0; c < nr; ++c) {
    const int64_t row = j + c;
    const uint8_t* srow = w.scales + row * w.scale_row_bytes;
    for (int64_t bi = 0; bi < kc / 32; ++bi) {
      const int64_t b = kk0 / 32 + bi;
      const int64_t g = Half ? b : b * 32 / w.group;
      __m256 sv[4];
      if (Half) {
        sv[0] = sv[2] = _mm256_set1_ps(load_scale<S>(w, srow + 2 * b * sgb) * w.scale_mul);
        sv[1] = sv[3] = _mm256_set1_ps(load_scale<S>(w, srow + (2 * b + 1) * sgb) * w.scale_mul);
      } else {
        sv[0] = sv[1] = sv[2] = sv[3] = _mm256_set1_ps(load_scale<S>(w, srow + g * sgb) * w.scale_mul);
      }
      const int bias = w.zeros ? w.zeros[row * w.zero_stride + g] : w.bias;
      __m256 wf[4];
      decode_block<C>(w, w.data + row * w.row_bytes + b * w.block_bytes, bias, sv, wf);
      for (int i = 0; i < 4; ++i) _mm256_storeu_ps(rows + c * kPanelKC + bi * 32 + 8 * i, wf[i]);
    }
  }
  pack_panel_b(rows, kPanelKC, nr, kc, panel);
}

template <WCode C, SType S, bool Half>
void gemm_f32_t(const WeightArgs& w, const float* x, int64_t xs, int64_t m, int64_t n0, int64_t n1, float* y,
                int64_t ys) {
  if (m >= kPanelMinRows) {
    float* rows = panel_buffers().rows;
    return panel_gemm(x, xs, w.k, m, n0, n1, y, ys, [&](int64_t j, int nr, int64_t kk0, int64_t kc, float* panel) {
      pack_panel_f32<C, S, Half>(w, j, nr, kk0, kc, panel, rows);
    });
  }
  int64_t j = n0;
  for (; j + 2 <= n1; j += 2) rows_f32<C, S, Half, 2>(w, x, xs, m, j, y, ys);
  for (; j < n1; ++j) rows_f32<C, S, Half, 1>(w, x, xs, m, j, y, ys);
}

template <WCode C>
void f32_by_scale(const WeightArgs& w, const float* x, int64_t xs, int64_t m, int64_t n0, int64_t n1, float* y,
                  int64_t ys) {
  if (w.stype == SType::kF16) return gemm_f32_t<C, SType::kF16, false>(w, x, xs, m, n0, n1, y, ys);
  return gemm_f32_t<C, SType::kF32, false>(w, x, xs, m, n0, n1, y, ys);
}

}  // namespace

void gemm_f32(const WeightArgs& w, const float* x, int64_t xs, int64_t m, int64_t n0, int64_t n1, float* y,
              int64_t ys) {
  const bool half = w.group == 16;
  switch (w.code) {
    // Never handed these (matmul multiplies 2- and 3-bit codes packed or with the scalar kernels).
    case WCode::kU2: case WCode::kU3: return;
    case WCode::kU4: return f32_by_scale<WCode::kU4>(w, x, xs, m, n0, n1, y, ys);
    case WCode::kS8: return f32_by_scale<WCode::kS8>(w, x, xs, m, n0, n1, y, ys);
    case WCode::kU8: return f32_by_scale<WCode::kU8>(w, x, xs, m, n0, n1, y, ys);
    case WCode::kE4M3: return f32_by_scale<WCode::kE4M3>(w, x, xs, m, n0, n1, y, ys);
    case WCode::kE5M2: return f32_by_scale<WCode::kE5M2>(w, x, xs, m, n0, n1, y, ys);
    case WCode::kLut4:
      switch (w.stype) {
        case SType::kF32: return half ? gemm_f32_t<WCode::kLut4, SType::kF32, true>(w, x, xs, m, n0, n1, y, ys)
                                      : gemm_f32_t<WCode::kLut4, SType::kF32, false>(w, x, xs, m, n0, n1, y, ys);
        case SType::kF16: return half ? gemm_f32_t<WCode::kLut4, SType::kF16, true>(w, x, xs, m, n0, n1, y, ys)
                                      : gemm_f32_t<WCode::kLut4, SType::kF16, false>(w, x, xs, m, n0, n1, y, ys);
        case SType::kE8M0: return gemm_f32_t<WCode::kLut4, SType::kE8M0, false>(w, x, xs, m, n0, n1, y, ys);
        case SType::kE4M3: return gemm_f32_t<WCode::kLut4, SType::kE4M3, true>(w, x, xs, m, n0, n1, y, ys);
      }
  }
}

namespace {

template <int RM, int RN>
void tile_sgemm(const float* x, int64_t xs, const float* w, int64_t ws, int64_t k, int64_t i0, int64_t j0, float* y,
                int64_t ys) {
  __m256 acc[RM][RN];
  for (int r = 0; r < RM; ++r)
    for (int c = 0; c < RN; ++c) acc[r][c] = _mm256_setzero_ps();
  int64_t kk = 0;
  for (; kk + 8 <= k; kk += 8) {
    __m256 wv[RN];
    for (int c = 0; c < RN; ++c) wv[c] = _mm256_loadu_ps(w + (j0 + c) * ws + kk);
    for (int r = 0; r < RM; ++r) {
      const __m256 xv = _mm256_loadu_ps(x + (i0 + r) * xs + kk);
      for (int c = 0; c < RN; ++c) acc[r][c] = _mm256_fmadd_ps(xv, wv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < RM; ++r) {
    for (int c = 0; c < RN; ++c) {
      float t = hsum(acc[r][c]);
      for (int64_t q = kk; q < k; ++q) t += x[(i0 + r) * xs + q] * w[(j0 + c) * ws + q];
      y[(i0 + r) * ys + j0 + c] = t;
    }
  }
}

template <int RN>
void rows_sgemm(const float* x, int64_t xs, const float* w, int64_t ws, int64_t k, int64_t m, int64_t j0, float* y,
                int64_t ys) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) tile_sgemm<4, RN>(x, xs, w, ws, k, i, j0, y, ys);
  switch (m - i) {
    case 3: tile_sgemm<3, RN>(x, xs, w, ws, k, i, j0, y, ys); break;
    case 2: tile_sgemm<2, RN>(x, xs, w, ws, k, i, j0, y, ys); break;
    case 1: tile_sgemm<1, RN>(x, xs, w, ws, k, i, j0, y, ys); break;
    default: break;
  }
}

}  // namespace

void sgemm(const float* x, int64_t xs, const float* w, int64_t ws, int64_t k, int64_t m, int64_t n0, int64_t n1,
           float* y, int64_t ys) {
  if (m >= kPanelMinRows) {
    return panel_gemm(x, xs, k, m, n0, n1, y, ys, [&](int64_t j, int nr, int64_t kk0, int64_t kc, float* panel) {
      pack_panel_b(w + j * ws + kk0, ws, nr, kc, panel);
    });
  }
  int64_t j = n0;
  for (; j + 3 <= n1; j += 3) rows_sgemm<3>(x, xs, w, ws, k, m, j, y, ys);
  for (; j < n1; ++j) rows_sgemm<1>(x, xs, w, ws, k, m, j, y, ys);
}


// Strides 1, 2 and 4 inside each 8-float vector (partner = a lane permutation, combined as
// v * sign + partner: even positions a + b, odd ones b_partner - v = a - b exactly), then
// vector butterflies.
void fwht(float* v, int64_t n) {
  const __m256 s1 = _mm256_setr_ps(1, -1, 1, -1, 1, -1, 1, -1);
  const __m256 s2 = _mm256_setr_ps(1, 1, -1, -1, 1, 1, -1, -1);
  const __m256 s4 = _mm256_setr_ps(1, 1, 1, 1, -1, -1, -1, -1);
  for (int64_t i = 0; i < n; i += 8) {
    __m256 x = _mm256_loadu_ps(v + i);
    x = _mm256_add_ps(_mm256_mul_ps(x, s1), _mm256_permute_ps(x, 0xB1));
    x = _mm256_add_ps(_mm256_mul_ps(x, s2), _mm256_permute_ps(x, 0x4E));
    x = _mm256_add_ps(_mm256_mul_ps(x, s4), _mm256_permute2f128_ps(x, x, 1));
    _mm256_storeu_ps(v + i, x);
  }
  for (int64_t h = 8; h < n; h *= 2) {
    for (int64_t i = 0; i < n; i += 2 * h) {
      for (int64_t j = i; j < i + h; j += 8) {
        const __m256 a = _mm256_loadu_ps(v + j), b = _mm256_loadu_ps(v + j + h);
        _mm256_storeu_ps(v + j, _mm256_add_ps(a, b));
        _mm256_storeu_ps(v + j + h, _mm256_sub_ps(a, b));
      }
    }
  }
}

}  // namespace lowbit::LOWBIT_NS
