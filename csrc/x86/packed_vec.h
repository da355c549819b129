// The vector helpers of the packed int8-activation kernels (the tile layout of PackedArgs,
// core/kernels.h) that every x86 kernel set compiles (kernel_set.h): the set's vector types (a
// lane is one output row), broadcasts of x, the decoders of each packed code into 8 code vectors
// per block, the exact int8 dot products of a block and the scale loads. Internal linkage.
#pragma once

#include "kernel_set.h"

#include <cstdint>

// Bytes of a tile's weights fetched ahead of the pass that first reads them.
#ifndef LOWBIT_PREFETCH
#define LOWBIT_PREFETCH 4096
#endif

namespace lowbit::LOWBIT_NS {
namespace {
namespace packed {

#if LOWBIT_VEC == 512
using vi = __m512i;
using vf = __m512;
constexpr int kLanes = 16;
inline vi load_i(const void* p) { return _mm512_loadu_si512(p); }
inline vi bcst32(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
inline vi set1_i8(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
inline vi set1_i32(int v) { return _mm512_set1_epi32(v); }
inline vi and_i(vi a, vi b) { return _mm512_and_si512(a, b); }
inline vi srl4(vi a) { return _mm512_srli_epi16(a, 4); }
inline vi add_i32(vi a, vi b) { return _mm512_add_epi32(a, b); }
inline vi sub_i32(vi a, vi b) { return _mm512_sub_epi32(a, b); }
inline vi xor_i(vi a, vi b) { return _mm512_xor_si512(a, b); }
inline vi shuffle_i8(vi t, vi idx) { return _mm512_shuffle_epi8(t, idx); }
inline vi madd_i16(vi a, vi b) { return _mm512_madd_epi16(a, b); }
inline vi lut16(const int8_t* t) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
}
inline vi zeros16(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline vf cvt_ps(vi a) { return _mm512_cvtepi32_ps(a); }
inline vf set1_ps(float v) { return _mm512_set1_ps(v); }
inline vf mul_ps(vf a, vf b) { return _mm512_mul_ps(a, b); }
inline vf fmadd_ps(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
inline vf zero_ps() { return _mm512_setzero_ps(); }
inline vi zero_i() { return _mm512_setzero_si512(); }
inline vf load_f32(const uint8_t* p) { return _mm512_loadu_ps(p); }
inline vf load_f16(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
inline vi load_u8_i32(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline vi load_u8_i16(const uint8_t* p) {  // kLanes bytes into the low 16 bits of... kLanes 16-bit lanes
  return _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
inline vf cvtph_low(vi h) { return _mm512_cvtph_ps(_mm512_castsi512_si256(h)); }
inline vi slli16(vi a, int n) { return _mm512_slli_epi16(a, n); }
inline vi srli16(vi a, int n) { return _mm512_srli_epi16(a, n); }
inline vi slli32(vi a, int n) { return _mm512_slli_epi32(a, n); }
inline vi set1_i16(int v) { return _mm512_set1_epi16(static_cast<short>(v)); }
inline vi or_i(vi a, vi b) { return _mm512_or_si512(a, b); }
inline vf sel_ps_eq_i32(vi a, int v, vf yes, vf no) {
  return _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(a, _mm512_set1_epi32(v)), no, yes);
}
inline vf sel_ps_eq_i16low(vi a, int v, vf yes, vf no) {
  return _mm512_mask_blend_ps(static_cast<__mmask16>(_mm512_cmpeq_epi16_mask(a, _mm512_set1_epi16(static_cast<short>(v)))), no,
                              yes);
}
inline vf cast_ps(vi a) { return _mm512_castsi512_ps(a); }
inline void store_ps(float* p, vf v, int valid) {
  if (valid == kLanes) _mm512_storeu_ps(p, v);
  else _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << valid) - 1), v);
}
// |w| and x with w's sign (x where w is 0 does not matter: |w| is 0): AVX-512 has no vpsignb.
inline void abs_sign(vi w, vi x, vi* wabs, vi* xs) {
  *wabs = _mm512_abs_epi8(w);
  *xs = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), _mm512_setzero_si512(), x);
}
#else
using vi = __m256i;
using vf = __m256;
constexpr int kLanes = 8;
inline vi load_i(const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline vi bcst32(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}
inline vi set1_i8(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
inline vi set1_i32(int v) { return _mm256_set1_epi32(v); }
inline vi and_i(vi a, vi b) { return _mm256_and_si256(a, b); }
inline vi srl4(vi a) { return _mm256_srli_epi16(a, 4); }
inline vi add_i32(vi a, vi b) { return _mm256_add_epi32(a, b); }
inline vi sub_i32(vi a, vi b) { return _mm256_sub_epi32(a, b); }
inline vi xor_i(vi a, vi b) { return _mm256_xor_si256(a, b); }
inline vi shuffle_i8(vi t, vi idx) { return _mm256_shuffle_epi8(t, idx); }
inline vi madd_i16(vi a, vi b) { return _mm256_madd_epi16(a, b); }
inline vi lut16(const int8_t* t) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
}
inline vi zeros16(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
inline vf cvt_ps(vi a) { return _mm256_cvtepi32_ps(a); }
inline vf set1_ps(float v) { return _mm256_set1_ps(v); }
inline vf mul_ps(vf a, vf b) { return _mm256_mul_ps(a, b); }
inline vf fmadd_ps(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
inline vf zero_ps() { return _mm256_setzero_ps(); }
inline vi zero_i() { return _mm256_setzero_si256(); }
inline vf load_f32(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
inline vf load_f16(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline vi load_u8_i32(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
inline vi load_u8_i16(const uint8_t* p) {
  return _mm256_castsi128_si256(_mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
inline vf cvtph_low(vi h) { return _mm256_cvtph_ps(_mm256_castsi256_si128(h)); }
inline vi slli16(vi a, int n) { return _mm256_slli_epi16(a, n); }
inline vi srli16(vi a, int n) { return _mm256_srli_epi16(a, n); }
inline vi slli32(vi a, int n) { return _mm256_slli_epi32(a, n); }
inline vi set1_i16(int v) { return _mm256_set1_epi16(static_cast<short>(v)); }
inline vi or_i(vi a, vi b) { return _mm256_or_si256(a, b); }
inline vf sel_ps_eq_i32(vi a, int v, vf yes, vf no) {
  return _mm256_blendv_ps(no, yes, _mm256_castsi256_ps(_mm256_cmpeq_epi32(a, _mm256_set1_epi32(v))));
}
inline vf sel_ps_eq_i16low(vi a, int v, vf yes, vf no) {
  const __m128i m = _mm_cmpeq_epi16(_mm256_castsi256_si128(a), _mm_set1_epi16(static_cast<short>(v)));
  return _mm256_blendv_ps(no, yes, _mm256_castsi256_ps(_mm256_cvtepi16_epi32(m)));
}
inline vf cast_ps(vi a) { return _mm256_castsi256_ps(a); }
inline void store_ps(float* p, vf v, int valid) {
  if (valid == kLanes) {
    _mm256_storeu_ps(p, v);
    return;
  }
  float t[kLanes];
  _mm256_storeu_ps(t, v);
  for (int i = 0; i < valid; ++i) p[i] = t[i];
}
inline void abs_sign(vi w, vi x, vi* wabs, vi* xs) {
  *wabs = _mm256_abs_epi8(w);
  *xs = _mm256_sign_epi8(x, w);
}
#endif

// u8 x s8 pairs summed in 16 bits: exact while 2 * w * 127 <= 32767, i.e. w <= 128.
#if LOWBIT_VEC == 512
inline vi maddubs(vi w, vi x) { return _mm512_maddubs_epi16(w, x); }
inline vi add_i16(vi a, vi b) { return _mm512_add_epi16(a, b); }
#else
inline vi maddubs(vi w, vi x) { return _mm256_maddubs_epi16(w, x); }
inline vi add_i16(vi a, vi b) { return _mm256_add_epi16(a, b); }
#endif
#if LOWBIT_VNNI
#if LOWBIT_VEC == 512
inline vi dot_u8(vi acc, vi w, vi x) { return _mm512_dpbusd_epi32(acc, w, x); }
#else
inline vi dot_u8(vi acc, vi w, vi x) { return LOWBIT_DPBUSD256(acc, w, x); }
#endif
#else
inline vi dot_u8(vi acc, vi w, vi x) { return add_i32(acc, madd_i16(maddubs(w, x), set1_i16(1))); }
#endif

// How a code vector reaches the multiplier, and what then is subtracted per block:
//  kUnsigned: u (or lut[u] + lut_bias), minus (bias or zero-point) * sum(x). VNNI always;
//             without VNNI only while codes stay <= 128 (4-bit codes, E2M1's table).
//  kSigned:   value (u - 128, or lut[u]) through |w| and sign(x, w) (non-VNNI 8-bit and
//             wide tables), minus (bias - 128) * sum(x) for 8-bit codes.
enum class Mode { kUnsigned, kSigned };

// Codes in 2-bit planes (core/packed_planes.h) for kLanes rows at blk: chunk q's columns 4q..4q+3 (lo)
// and 16+4q..16+4q+3 (hi), 3-bit codes with their third bit from chunk 2. The 16-bit shifts move
// bits across a byte boundary only into positions the mask clears.
template <bool kThird>
inline void chunk_planes(const uint8_t* blk, int q, vi* lo, vi* hi) {
  const vi p0 = load_i(blk), p1 = load_i(blk + kPackRows * 4), low2 = set1_i8(0x03);
  *lo = and_i(q == 0 ? p0 : srli16(p0, 2 * q), low2);
  *hi = and_i(q == 0 ? p1 : srli16(p1, 2 * q), low2);
  if (kThird) {
    const vi p2 = load_i(blk + 2 * kPackRows * 4), bit2 = set1_i8(0x04);
    *lo = or_i(*lo, and_i(q < 2 ? slli16(p2, 2 - q) : srli16(p2, q - 2), bit2));
    *hi = or_i(*hi, and_i(srli16(p2, q + 2), bit2));
  }
}

// The whole block's plane codes as the 8 code vectors of load_codes (w[q] lo, w[4 + q] hi).
template <bool kThird>
inline void load_planes(const uint8_t* blk, vi w[8]) {
  const vi low2 = set1_i8(0x03);
  for (int h = 0; h < 2; ++h) {
    const vi plane = load_i(blk + h * kPackRows * 4);
    for (int s = 0; s < 4; ++s) w[4 * h + s] = and_i(s == 0 ? plane : srli16(plane, 2 * s), low2);
  }
  if (kThird) {
    const vi plane = load_i(blk + 2 * kPackRows * 4), bit2 = set1_i8(0x04);
    for (int t = 0; t < 8; ++t) w[t] = or_i(w[t], and_i(t < 2 ? slli16(plane, 2 - t) : srli16(plane, t - 2), bit2));
  }
}

template <PCode C, Mode M>
inline void load_codes(const uint8_t* blk, vi lut, vi out[8]) {
  if (pcode_two_bit(C)) {
    load_planes<pcode_third_bit(C)>(blk, out);
    return;
  }
  const vi nib = set1_i8(0x0F);
  if (C == PCode::kU8) {
    for (int t = 0; t < 8; ++t) {
      out[t] = load_i(blk + t * kPackRows * 4);
      if (M == Mode::kSigned) out[t] = xor_i(out[t], set1_i8(0x80));
    }
    return;
  }
  for (int t = 0; t < 4; ++t) {
    const vi v = load_i(blk + t * kPackRows * 4);
    out[t] = and_i(v, nib);
    out[4 + t] = and_i(srl4(v), nib);
    if (C == PCode::kLut4) {
      out[t] = shuffle_i8(lut, out[t]);
      out[4 + t] = shuffle_i8(lut, out[4 + t]);
    }
  }
}

// The halves of one block through 16-bit chains: each half's vpmaddubsw pair sums added kChain at a
// time in int16 (exact while kChain * 2 * (largest code) * 127 <= 32767), each chain closed by a
// vpmaddwd with that half's multipliers mul0 / mul1 (ones for the plain sums; packed_kquant_vec.h's
// 16-column scales), its int32 results added.
template <int kChain>
inline void dot_halves_i16(const vi w[8], const int8_t* xb, vi mul0, vi mul1, vi out[2]) {
  static_assert(kChain == 1 || kChain == 2 || kChain == 4, "a half has 4 code vectors");
  for (int h = 0; h < 2; ++h) {
    for (int t0 = 0; t0 < 4; t0 += kChain) {
      vi s16 = maddubs(w[4 * h + t0], bcst32(xb + 16 * h + 4 * t0));
      for (int t = t0 + 1; t < t0 + kChain; ++t) s16 = add_i16(s16, maddubs(w[4 * h + t], bcst32(xb + 16 * h + 4 * t)));
      const vi m = madd_i16(s16, h ? mul1 : mul0);
      out[h] = t0 == 0 ? m : add_i32(out[h], m);
    }
  }
}

// Sums of one block: [0] over columns 0-15 (4-bit low nibbles, 8-bit chunks 0-3),
// [1] over 16-31 (high nibbles, chunks 4-7).
template <Mode M, PCode C>
inline void dot_block(const vi w[8], const int8_t* xb, vi out[2]) {
#if !LOWBIT_VNNI
  // Without VNNI, vpmaddubsw pair sums (each <= 2 * c * 127 for codes <= c) add up exactly in 16 bits
  // kChain at a time, each chain closed by one vpmaddwd: four for codes <= 31 (<= 31496), two for
  // q6_k's <= 63 (<= 32004); wider codes take the general sum, one vpmaddwd per pair sum.
  constexpr int kMax = pcode_max_code(C), kChain = kMax <= 31 ? 4 : kMax <= 63 ? 2 : 0;
  if constexpr (M == Mode::kUnsigned && kChain > 0) {
    dot_halves_i16<kChain>(w, xb, set1_i16(1), set1_i16(1), out);
    return;
  }
#endif
  vi s0 = zero_i(), s1 = zero_i();
  for (int t = 0; t < 4; ++t) {
    const vi x0 = bcst32(xb + 4 * t), x1 = bcst32(xb + 16 + 4 * t);
    if (M == Mode::kUnsigned) {
      s0 = dot_u8(s0, w[t], x0);
      s1 = dot_u8(s1, w[4 + t], x1);
    } else {
      vi a0, b0, a1, b1;
      abs_sign(w[t], x0, &a0, &b0);
      abs_sign(w[4 + t], x1, &a1, &b1);
      s0 = dot_u8(s0, a0, b0);
      s1 = dot_u8(s1, a1, b1);
    }
  }
  out[0] = s0;
  out[1] = s1;
}

// The whole block's sum (both halves of dot_block). Without VNNI, codes <= 15 take one 16-bit chain:
// the 8 vpmaddubsw pair sums (each <= 2 * 15 * 127 = 3810) add up to at most 30480, exact in int16,
// so a block costs one vpmaddwd instead of two and an add (as in the half-tile passes). With VNNI the
// two halves stay two chains of 4 dependent vpdpbusd (a GEMV has too few chains to hide 8).
template <Mode M, PCode C>
inline vi dot_block_sum(const vi w[8], const int8_t* xb) {
#if !LOWBIT_VNNI
  if constexpr (M == Mode::kUnsigned && pcode_max_code(C) <= 15) {
    vi s16 = add_i16(maddubs(w[0], bcst32(xb)), maddubs(w[4], bcst32(xb + 16)));
    for (int t = 1; t < 4; ++t) {
      s16 = add_i16(s16, maddubs(w[t], bcst32(xb + 4 * t)));
      s16 = add_i16(s16, maddubs(w[4 + t], bcst32(xb + 16 + 4 * t)));
    }
    return madd_i16(s16, set1_i16(1));
  }
#endif
  vi s[2];
  dot_block<M, C>(w, xb, s);
  return add_i32(s[0], s[1]);
}

// Decoded scales of kLanes rows, times mul: the reference's stored * scale_mul_i8.
template <SType S>
inline vf load_scales(const uint8_t* p, vf mul) {
  vf s;
  if (S == SType::kF32) {
    s = load_f32(p);
  } else if (S == SType::kF16) {
    s = load_f16(p);
  } else if (S == SType::kE8M0) {
    // 2^(b - 127): the byte is the float's exponent field; b = 0 is the subnormal 2^-127.
    const vi b = load_u8_i32(p);
    s = cast_ps(slli32(b, 23));
    s = sel_ps_eq_i32(b, 0, cast_ps(set1_i32(0x00400000)), s);
    s = sel_ps_eq_i32(b, 255, cast_ps(set1_i32(0x7FC00000)), s);
  } else {
    // E4M3: sign and 7 bits shifted into a binary16 (bias 15 vs 7: times 2^8); 0x7F is NaN.
    const vi u = load_u8_i16(p);
    const vi em = and_i(u, set1_i16(0x7F));
    const vi h = or_i(slli16(and_i(u, set1_i16(0x80)), 8), slli16(em, 7));
    s = mul_ps(cvtph_low(h), set1_ps(256.0f));
    s = sel_ps_eq_i16low(em, 0x7F, cast_ps(set1_i32(0x7FC00000)), s);
  }
  return mul_ps(s, mul);
}

// a * s per 32-bit lane, exactly, in one vpmaddwd with s broadcast from memory (no
// general-register transfer, which costs Zen 5 more than the multiply): a's lanes hold a
// 16-bit value (a zero-point or bias, |a| <= 255) over a zero high half, and s is a block
// sum of x (|s| <= 32 * 127), so its low half is s itself and its high half meets zeros.
// Measured on Zen 5 (int4 g32 and q8_0 GEMM): 0-9% faster than imul + vpbroadcastd.
inline vi times_sum(vi a, const int32_t* s) { return madd_i16(a, set1_i32(*s)); }

constexpr int64_t kPrefetch = LOWBIT_PREFETCH;

}  // namespace packed
}  // namespace
}  // namespace lowbit::LOWBIT_NS
