// GEMM passes of the 256-bit sets for codes of up to 4 bits with one scale per block or group
// (int4 / int3 / int2 and q4_0 tiles), for gemm_packed.cc (helpers: packed_vec.h).
//
// tile_rows runs a 16-row tile as two 8-lane halves side by side and keeps two activation rows
// per pass (kUnits * RM float accumulators, 8 code vectors per half and two integer chains per
// row fill the 16 ymm registers), so each block's decode serves two rows. Here one half-tile
// meets RM rows of x at a time: its block is decoded once into 8 code vectors and the rows take
// their turns through them, each in one integer chain, so the decode, the scale and zero-point
// loads and the loop are shared by RM rows.
//
// Without VNNI that chain is dot_block_sum's 16-bit one (one vpmaddwd per row and block, where the
// probe's pattern takes one per vpmaddubsw). With VNNI it is one vpdpbusd int32 chain per row,
// started from the row's correction (the RM rows give enough independent chains).
// Without zero-points the per-block correction -bias * sum(x) of each row is computed for kCorr
// blocks at a time outside the block loop and added to the chain, instead of a vpmaddwd and a
// subtraction per row and block.
//
// The integer per block is the same exact value as on tile_rows and the float operations per
// row and block are the same, in the same order, so both give the same bits.
#pragma once

#include "packed_vec.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {
namespace {
namespace packed {

namespace half_tiles {

constexpr int kCorr = 64;

// Rows i0 .. i0 + RM - 1 of x against the 8-row half h of tile t, over all of k. prefetch: the
// pass that first reads the tile (from memory) fetches ahead of itself, as tile_rows does.
template <PCode C, SType S, bool Z, int RM>
void half_rows(const PackedArgs& w, const ActI8& x, int64_t i0, int64_t t, int h, bool prefetch, float* y, int64_t ys) {
  static_assert(kPackRows == 2 * kLanes, "a tile is two 8-lane halves");
  const int64_t nb = w.k / 32, sb = w.scale_bytes(), bpg = w.group / 32;
  const int lane = h * kLanes;
  const vf mul = set1_ps(w.scale_mul);
  const int bias = w.bias;
  int32_t corr[RM][Z ? 1 : kCorr];
  vf acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = zero_ps();
  vf sv = zero_ps();
  vi zv = zero_i();
  const uint8_t* p = w.data + t * w.tile_bytes;
  const uint8_t* pf = p;
  for (int64_t b = 0, left = 0; b < nb; ++b) {
    if (left == 0) {
      sv = load_scales<S>(p + lane * sb, mul);
      if (Z) zv = zeros16(p + kPackRows * sb + lane);
      p += w.header_bytes();
      left = bpg;
    }
    --left;
    if (!Z && b % kCorr == 0) {
      const int64_t nc = nb - b < kCorr ? nb - b : kCorr;
      for (int r = 0; r < RM; ++r) {
        const int32_t* src = x.sum + (i0 + r) * x.nb + b;
        for (int64_t j = 0; j < nc; ++j) corr[r][j] = -bias * src[j];
      }
    }
    if (prefetch) {
      for (const uint8_t* end = p + w.code_block_bytes() + kPrefetch; pf < end; pf += 64)
        _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T0);
    }
    // wv[q]: columns 4q..4q+3 of the block, wv[4 + q]: 16+4q..16+4q+3 (load_codes' order).
    vi wv[8];
    load_codes<C, Mode::kUnsigned>(p + lane * 4, zero_i(), wv);
    for (int r = 0; r < RM; ++r) {
      const int64_t i = i0 + r;
      const int8_t* xb = x.q + i * x.k + b * 32;
#if LOWBIT_VNNI
      vi isum = Z ? zero_i() : set1_i32(corr[r][b % kCorr]);
      for (int q = 0; q < 4; ++q) isum = dot_u8(dot_u8(isum, wv[q], bcst32(xb + 4 * q)), wv[4 + q], bcst32(xb + 16 + 4 * q));
#else
      vi isum = dot_block_sum<Mode::kUnsigned, C>(wv, xb);
      if (!Z) isum = add_i32(isum, set1_i32(corr[r][b % kCorr]));
#endif
      if (Z) isum = sub_i32(isum, times_sum(zv, x.sum + i * x.nb + b));
      acc[r] = fmadd_ps(cvt_ps(isum), mul_ps(sv, set1_ps(x.d[i * x.nb + b])), acc[r]);
    }
    p += w.code_block_bytes();
  }
  const int64_t row0 = t * kPackRows + lane;
  if (row0 >= w.n) return;
  const int valid = static_cast<int>(w.n - row0 < kLanes ? w.n - row0 : kLanes);
  for (int r = 0; r < RM; ++r) store_ps(y + (i0 + r) * ys + row0, acc[r], valid);
}

// Rows of x per pass: the rows take their turns through the block's 8 decoded code vectors, so
// RM costs no registers beyond the float accumulators (which live in memory past a few). More
// rows amortise the decode, the scale and zero-point loads and the loop; of 2, 4, 6, 8 and 16
// rows, 8 measured fastest (docs/performance.md, "GEMM on AVX2 without VNNI").
constexpr int kRows = 8;

// Every tile of [t0, t1), half by half, against rows [0, m) in passes of kRows rows, then of 4,
// 2 and 1 for the rows left over.
template <PCode C, SType S, bool Z>
void gemm(const PackedArgs& w, const ActI8& x, int64_t m, int64_t t0, int64_t t1, float* y, int64_t ys) {
  for (int64_t t = t0; t < t1; ++t) {
    for (int h = 0; h < 2; ++h) {
      int64_t i = 0;
      auto first = [&] { return i == 0 && h == 0; };
      for (; i + kRows <= m; i += kRows) half_rows<C, S, Z, kRows>(w, x, i, t, h, first(), y, ys);
      if (i + 4 <= m) half_rows<C, S, Z, 4>(w, x, i, t, h, first(), y, ys), i += 4;
      if (i + 2 <= m) half_rows<C, S, Z, 2>(w, x, i, t, h, first(), y, ys), i += 2;
      if (i < m) half_rows<C, S, Z, 1>(w, x, i, t, h, first(), y, ys);
    }
  }
}

}  // namespace half_tiles

}  // namespace packed
}  // namespace
}  // namespace lowbit::LOWBIT_NS
