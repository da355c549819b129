// The float path's decode leaf on the 512-bit kernel sets (gemm/float_driver.h's gemm_f32): a
// 32-column block is two vectors, columns 0-15 and 16-31, so a group-16 format's two scales are one
// per vector and a 16-level table is one register (vpermps). Half the instructions of the 256-bit
// leaf per block; each weight decodes to the same float (s * value, one rounding, as dequantize()),
// only the order of the fp32 sum differs. sgemm and the FWHT stay on the 256-bit leaf.
#pragma once

#include "kernel_set.h"

#if LOWBIT_VEC == 512

#include <cstdint>

#include "../gemm/stored_scale.h"
#include "half.h"
#include "sgemm_panel.h"

namespace lowbit::LOWBIT_NS {
namespace {

struct FloatLeaf512 {
  using Vec = __m512;
  using Panel = PanelLeaf;
  static constexpr int kLanes = 16;
  static constexpr int half_of(int i) { return i; }
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec set1(float v) { return _mm512_set1_ps(v); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static Vec fma(Vec a, Vec b, Vec acc) { return _mm512_fmadd_ps(a, b, acc); }
  static float hsum(Vec v) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  template <SType S>
  static float scale(const WeightArgs& w, const uint8_t* p) {
    return stored_scale<S, half_to_float>(w, p);
  }

  // 16 bytes -> 16 floats of an fp8 format through the fp16 converter, as the 256-bit leaf does:
  // E5M2 is the top byte of a binary16; E4M3's bits move into a binary16 (bias 15) rescaled by 2^8,
  // its NaN codes (low 7 bits all ones) blended in.
  template <WCode C>
  static __m512 fp8(const uint8_t* p) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m256i u = _mm256_cvtepu8_epi16(b);
    if (C == WCode::kE5M2) return _mm512_cvtph_ps(_mm256_slli_epi16(u, 8));
    const __m256i em = _mm256_and_si256(u, _mm256_set1_epi16(0x7F));
    const __m256i h = _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(u, _mm256_set1_epi16(0x80)), 8), _mm256_slli_epi16(em, 7));
    const __m512 f = _mm512_mul_ps(_mm512_cvtph_ps(h), _mm512_set1_ps(256.0f));
    const __m512i low7 = _mm512_set1_epi32(0x7F);
    const __mmask16 nan = _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_cvtepu8_epi32(b), low7), low7);
    return _mm512_mask_blend_ps(nan, f, _mm512_set1_ps(__builtin_nanf("")));
  }

  // One 32-column block as 2 vectors, columns in order (4-bit: the low nibbles are columns 0-15),
  // s[i] the scale of vector i: s * value.
  template <WCode C>
  static void decode(const WeightArgs& w, const uint8_t* blk, int bias, const __m512 s[2], __m512 out[2]) {
    if (C == WCode::kE4M3 || C == WCode::kE5M2) {
      for (int i = 0; i < 2; ++i) out[i] = _mm512_mul_ps(s[i], fp8<C>(blk + 16 * i));
      return;
    }
    __m512i codes[2];
    if (C == WCode::kU4 || C == WCode::kLut4) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk)), m = _mm_set1_epi8(0x0F);
      codes[0] = _mm512_cvtepu8_epi32(_mm_and_si128(v, m));
      codes[1] = _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(v, 4), m));
    } else {
      for (int i = 0; i < 2; ++i) codes[i] = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * i)));
    }
    if (C == WCode::kLut4) {
      const __m512 lut = _mm512_loadu_ps(w.lut_f32);
      for (int i = 0; i < 2; ++i) out[i] = _mm512_mul_ps(s[i], _mm512_permutexvar_ps(codes[i], lut));
      return;
    }
    // Signed 8-bit codes as (u ^ 0x80) - 0x80 (the SIMDe the tests build against lacks
    // _mm512_cvtepi8_epi32), folded into the bias: value = (u ^ 0x80) - (0x80 + bias).
    const bool s8 = C == WCode::kS8;
    const __m512i bv = _mm512_set1_epi32(s8 ? 0x80 + bias : bias);
    for (int i = 0; i < 2; ++i) {
      const __m512i c = s8 ? _mm512_xor_si512(codes[i], _mm512_set1_epi32(0x80)) : codes[i];
      out[i] = _mm512_mul_ps(s[i], _mm512_cvtepi32_ps(_mm512_sub_epi32(c, bv)));
    }
  }
};

}  // namespace
}  // namespace lowbit::LOWBIT_NS

#endif  // LOWBIT_VEC == 512
