// What the packed passes of the ggml codes with block headers (gemm_packed_kquant.cc and, on
// avx512vnni, gemm_packed_kquant_vnni512.h) share: float helpers, the rows of x per pass, and the
// decoder of a block's codes into the 8 code vectors of packed_vec.h's load_codes. Internal linkage.
#pragma once

#include "packed_vec.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {
namespace {
namespace packed {
namespace kq {

#if LOWBIT_VEC == 512
inline vf add_ps(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf sub_ps(vf a, vf b) { return _mm512_sub_ps(a, b); }
// Sign-extended as (u ^ 0x80) - 0x80: the SIMDe release the tests build against lacks
// _mm512_cvtepi8_epi32 and _mm512_srai_epi32.
inline vi load_i8_i32(const uint8_t* p) { return sub_i32(xor_i(load_u8_i32(p), set1_i32(0x80)), set1_i32(0x80)); }
#else
inline vf add_ps(vf a, vf b) { return _mm256_add_ps(a, b); }
inline vf sub_ps(vf a, vf b) { return _mm256_sub_ps(a, b); }
inline vi load_i8_i32(const uint8_t* p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
#endif
// Rows of x per pass over a tile. Each half-tile's block is decoded once and the rows take their
// turns through its 8 code vectors, so more rows cost only float accumulators (in memory past a
// few) and share the decode and the header loads: on the 256-bit sets 8 rows measured 1.35-1.7x
// faster than 2 for every block-header code (docs/performance.md, "GEMM on AVX2 without VNNI").
constexpr int kTileRows = 8;

constexpr int kSubs(PCode C) { return static_cast<int>(pcode_block_cols(C) / 32); }
// iq4_xs's table through vpmaddubsw's unsigned operand needs |w| and sign(x) without VNNI.
#if LOWBIT_VNNI
constexpr Mode kLutMode = Mode::kUnsigned;
#else
constexpr Mode kLutMode = Mode::kSigned;
#endif

// q6_k / q3_k without VNNI: the reference's integer sc0 * (D0 - c * S0) + sc1 * (D1 - c * S1), its
// 16-column scales applied to the vpmaddubsw pair sums by vpmaddwd, the offset c (32 / 4) as
// (c * sc) * S by times_sum. One half's scales at p: `scale` holds each lane's int8 scale in both 16-bit
// halves, `bias` c * scale over a zero high half (|c * sc| <= 32 * 128, a 16-bit value).
template <PCode C>
inline void halves_scales(const uint8_t* p, vi* scale, vi* bias) {
  const vi s = load_i8_i32(p), low16 = set1_i32(0xFFFF);
  *scale = or_i(and_i(s, low16), slli32(s, 16));
  *bias = and_i(slli32(s, C == PCode::kQ6K ? 5 : 2), low16);
}
// sc0 * D0 + sc1 * D1 for one row of x (xb: the block's 32 bytes): the pair sums of codes up to
// 63 (q6_k) stay exact in 16 bits two at a time (2 * 2 * 63 * 127 = 32004), up to 7 (q3_k) four at
// a time; |the total| <= 32 * 63 * 127 * 128 fits 32 bits.
template <PCode C>
inline vi halves_dot(const vi w[8], const int8_t* xb, vi scale0, vi scale1) {
  vi h[2];
  dot_halves_i16<C == PCode::kQ6K ? 2 : 4>(w, xb, scale0, scale1, h);
  return add_i32(h[0], h[1]);
}

// A block's codes for kLanes rows at `blk` (the tile's block plus the lanes' offset) as the 8
// code vectors of load_codes. The 16-bit shifts move bits across a byte boundary only into
// positions the mask clears.
template <PCode C>
inline void load_kcodes(const uint8_t* blk, vi lut, vi w[8]) {
  if (pcode_two_bit(C)) {
    load_planes<pcode_third_bit(C)>(blk, w);
    return;
  }
  if (C == PCode::kIQ4XS) {
    load_codes<PCode::kLut4, kLutMode>(blk, lut, w);
    return;
  }
  load_codes<PCode::kU4, Mode::kUnsigned>(blk, zero_i(), w);
  if (pcode_fifth_bit(C)) {
    const vi plane = load_i(blk + 4 * kPackRows * 4), bit4 = set1_i8(0x10);
    for (int t = 0; t < 8; ++t) w[t] = or_i(w[t], and_i(t < 4 ? slli16(plane, 4 - t) : srli16(plane, t - 4), bit4));
  } else if (C == PCode::kQ6K) {
    const vi bits45 = set1_i8(0x30);
    for (int h = 0; h < 2; ++h) {
      const vi plane = load_i(blk + (4 + h) * kPackRows * 4);
      for (int s = 0; s < 4; ++s) {
        w[4 * h + s] = or_i(w[4 * h + s], and_i(s < 2 ? slli16(plane, 4 - 2 * s) : srli16(plane, 2 * s - 4), bits45));
      }
    }
  }
}

}  // namespace kq
}  // namespace packed
}  // namespace
}  // namespace lowbit::LOWBIT_NS
