// The GEMM passes of the avx512vnni set on the tiles of the ggml codes with block headers
// (gemm_packed_kquant.cc takes them in place of tile_rows for rows of x in passes of 8 and 4;
// helpers: packed_kquant_vec.h). As gemm_packed_vnni512.h does for the other codes, RM rows meet
// NT tiles (two, or one for the codes summed per 16 columns: kPassTiles) chunk by chunk: each
// 4-byte chunk of a block is decoded once per tile and each broadcast of x feeds one vpdpbusd per
// tile; the per-block integer corrections (-c * sum(x) of q6_k, q3_k, q5_0, tq and iq4_xs's table
// bias) start the chains. The
// integers are the ones tile_rows forms and the float operations are its own, in its order, so both
// passes (and the scalar kernel) give the same bits for every row. Which codes take these passes,
// with how many tiles and rows, was measured against tile_rows (docs/performance.md, "The other
// ggml types"): all of them, and the codes summed per 16 columns (two chains per row and tile) take
// one tile with 8 rows, as two tiles with 8 rows spilled and two with 4 ran slower.
#pragma once

#include "packed_kquant_vec.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {
namespace {
namespace packed {
namespace kq {

namespace vnni512 {

// The integer each chain of (row, block) starts from: -c * sum over its columns of x.
template <PCode C>
inline int32_t chain_start(const ActI8& x, const int32_t* half_sum, int64_t i, int64_t b, int h) {
  if (C == PCode::kQ6K || C == PCode::kQ3K) return -(C == PCode::kQ6K ? 32 : 4) * half_sum[i * 2 * x.nb + 2 * b + h];
  if (pcode_code_offset(C)) return -pcode_code_offset(C) * x.sum[i * x.nb + b];
  if (C == PCode::kIQ4XS) return -128 * x.sum[i * x.nb + b];
  return 0;
}

// Chunk q's codes of one tile's block: columns 4q..4q+3 (lo) and 16+4q..16+4q+3 (hi), as the
// eight vectors of load_kcodes hold them at q and 4 + q.
template <PCode C>
inline void chunk_codes(const uint8_t* blk, int q, vi lut, vi* lo, vi* hi) {
  if (pcode_two_bit(C)) {
    chunk_planes<pcode_third_bit(C)>(blk, q, lo, hi);
    return;
  }
  const vi v = load_i(blk + q * kPackRows * 4), nib = set1_i8(0x0F);
  *lo = and_i(v, nib);
  *hi = and_i(srl4(v), nib);
  if (C == PCode::kIQ4XS) {
    *lo = shuffle_i8(lut, *lo);
    *hi = shuffle_i8(lut, *hi);
  } else if (pcode_fifth_bit(C)) {
    const vi plane = load_i(blk + 4 * kPackRows * 4), bit4 = set1_i8(0x10);
    *lo = or_i(*lo, and_i(slli16(plane, 4 - q), bit4));
    *hi = or_i(*hi, and_i(srli16(plane, q), bit4));
  } else if (C == PCode::kQ6K) {
    const vi p0 = load_i(blk + 4 * kPackRows * 4), p1 = load_i(blk + 5 * kPackRows * 4), bits45 = set1_i8(0x30);
    *lo = or_i(*lo, and_i(q < 2 ? slli16(p0, 4 - 2 * q) : srli16(p0, 2 * q - 4), bits45));
    *hi = or_i(*hi, and_i(q < 2 ? slli16(p1, 4 - 2 * q) : srli16(p1, 2 * q - 4), bits45));
  }
}

template <PCode C, int RM, int NT>
void tiles_rows(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t i0, int64_t t, float* y,
                int64_t ys) {
  static_assert(kPackRows == kLanes, "a 512-bit vector is one whole tile");
  constexpr int kSums = pcode_signed_halves(C) || C == PCode::kQ2K ? 2 : 1, kSub = kSubs(C);
  const int64_t nsb = w.k / w.block_cols(), hb = w.header_bytes(), cb = w.code_block_bytes();
  const vi low4 = set1_i32(15);
  vi lut = zero_i();
  if (C == PCode::kIQ4XS) {
    int8_t table[16];
    for (int u = 0; u < 16; ++u) table[u] = static_cast<int8_t>(static_cast<uint8_t>(w.lut[u] + 128));
    lut = lut16(table);
  }
  vf acc[NT][RM], dv[NT], mv[NT];
  const uint8_t* p[NT];
  const uint8_t* pf[NT];
  const uint8_t* head[NT];
  for (int u = 0; u < NT; ++u) {
    p[u] = pf[u] = head[u] = w.data + (t + u) * w.tile_bytes;
    for (int r = 0; r < RM; ++r) acc[u][r] = zero_ps();
    dv[u] = mv[u] = zero_ps();
  }
  for (int64_t s = 0; s < nsb; ++s) {
    for (int u = 0; u < NT; ++u) {
      head[u] = p[u];
      dv[u] = load_f16(head[u]);
      if (pcode_has_dmin(C)) mv[u] = load_f16(head[u] + 2 * kPackRows);
      p[u] += hb;
    }
    for (int sub = 0; sub < kSub; ++sub) {
      const int64_t b = s * kSub + sub;
      for (int u = 0; u < NT; ++u) {
        for (const uint8_t* end = p[u] + cb + kPrefetch; pf[u] < end; pf[u] += 64)
          _mm_prefetch(reinterpret_cast<const char*>(pf[u]), _MM_HINT_T0);
      }
      vi sums[NT][RM][kSums];
      for (int r = 0; r < RM; ++r) {
        for (int h = 0; h < kSums; ++h) {
          const vi c = set1_i32(chain_start<C>(x, half_sum, i0 + r, b, h));
          for (int u = 0; u < NT; ++u) sums[u][r][h] = c;
        }
      }
      // Unrolled whole, for the reason given in gemm_packed_vnni512.h.
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) {
        vi lo[NT], hi[NT];
        for (int u = 0; u < NT; ++u) chunk_codes<C>(p[u], q, lut, &lo[u], &hi[u]);
        for (int r = 0; r < RM; ++r) {
          const int8_t* xb = x.q + (i0 + r) * x.k + b * 32;
          const vi x0 = bcst32(xb + 4 * q), x1 = bcst32(xb + 16 + 4 * q);
          for (int u = 0; u < NT; ++u) {
            sums[u][r][0] = dot_u8(sums[u][r][0], lo[u], x0);
            sums[u][r][kSums - 1] = dot_u8(sums[u][r][kSums - 1], hi[u], x1);
          }
        }
      }
      for (int u = 0; u < NT; ++u) {
        // The block's per-lane scales, as tile_rows forms them.
        vf s0 = zero_ps(), s1 = zero_ps();
        vi q0 = zero_i(), q1 = zero_i();
        if (pcode_signed_halves(C)) {
          s0 = cvt_ps(load_i8_i32(head[u] + (2 + 2 * sub) * kPackRows));
          s1 = cvt_ps(load_i8_i32(head[u] + (3 + 2 * sub) * kPackRows));
        } else if (C == PCode::kQ4K || C == PCode::kQ5K) {
          s0 = mul_ps(dv[u], cvt_ps(load_u8_i32(head[u] + (4 + sub) * kPackRows)));
          s1 = mul_ps(mv[u], cvt_ps(load_u8_i32(head[u] + (12 + sub) * kPackRows)));
        } else if (C == PCode::kIQ4XS) {
          s0 = mul_ps(dv[u], cvt_ps(load_i8_i32(head[u] + (2 + sub) * kPackRows)));
        } else if (C == PCode::kQ2K) {
          q0 = load_u8_i32(head[u] + (4 + 2 * sub) * kPackRows);
          q1 = load_u8_i32(head[u] + (5 + 2 * sub) * kPackRows);
        }
        for (int r = 0; r < RM; ++r) {
          const int64_t i = i0 + r;
          const int32_t* sum = x.sum + i * x.nb + b;
          const vi* sd = sums[u][r];
          vf term;
          if (pcode_signed_halves(C)) {
            // A fused multiply-add gives tile_rows's float: both products are exact (integers below
            // 2^24: |sd| <= 16 * 32 * 127, |s| <= 128), so either form rounds their exact sum once.
            term = mul_ps(dv[u], fmadd_ps(cvt_ps(sd[1]), s1, mul_ps(cvt_ps(sd[0]), s0)));
          } else if (C == PCode::kQ2K) {
            const int32_t* hs = half_sum + i * 2 * x.nb + 2 * b;
            const vi ib = add_i32(madd_i16(and_i(q0, low4), sd[0]), madd_i16(and_i(q1, low4), sd[1]));
            const vi mb = add_i32(times_sum(srli16(q0, 4), hs), times_sum(srli16(q1, 4), hs + 1));
            term = sub_ps(mul_ps(dv[u], cvt_ps(ib)), mul_ps(mv[u], cvt_ps(mb)));
          } else if (C == PCode::kIQ4XS) {
            term = mul_ps(cvt_ps(sd[0]), s0);
          } else if (C == PCode::kQ4_1 || C == PCode::kQ5_1) {
            term = add_ps(mul_ps(dv[u], cvt_ps(sd[0])), mul_ps(mv[u], cvt_ps(set1_i32(*sum))));
          } else if (pcode_code_offset(C)) {
            term = mul_ps(dv[u], cvt_ps(sd[0]));
          } else {
            term = sub_ps(mul_ps(cvt_ps(sd[0]), s0), mul_ps(s1, cvt_ps(set1_i32(*sum))));
          }
          acc[u][r] = add_ps(acc[u][r], mul_ps(set1_ps(x.d[i * x.nb + b]), term));
        }
      }
      for (int u = 0; u < NT; ++u) p[u] += cb;
    }
  }
  for (int u = 0; u < NT; ++u) {
    const int64_t row0 = (t + u) * kPackRows;
    if (row0 >= w.n) continue;
    const int valid = static_cast<int>(w.n - row0 < kLanes ? w.n - row0 : kLanes);
    for (int r = 0; r < RM; ++r) store_ps(y + (i0 + r) * ys + row0, acc[u][r], valid);
  }
}

// Tiles per pass: one, with 8 rows of x (16 chains), for the codes summed per 16 columns (q2_k, q3_k,
// q6_k), which measured faster than two tiles with 4 rows (and, for q6_k, than tile_rows); two for
// the others (docs/performance.md, "The other ggml types").
template <PCode C>
constexpr int kPassTiles = pcode_signed_halves(C) || C == PCode::kQ2K ? 1 : 2;

// Rows of x in passes of 8, then 4, against tiles t and, when NT is 2, t + 1; returns the rows
// done (the rest, fewer than 4, take tile_rows's one-row passes).
template <PCode C, int NT>
int64_t rows_over_tiles(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t, float* y,
                        int64_t ys) {
  // 8 rows keep 16 chains in registers: two tiles of one chain per row, or one tile of the codes
  // summed per 16-column half (two chains per row; kPassTiles).
  int64_t i = 0;
  for (; i + 8 <= m; i += 8) tiles_rows<C, 8, NT>(w, x, hs, i, t, y, ys);
  for (; i + 4 <= m; i += 4) tiles_rows<C, 4, NT>(w, x, hs, i, t, y, ys);
  return i;
}

}  // namespace vnni512

}  // namespace kq
}  // namespace packed
}  // namespace
}  // namespace lowbit::LOWBIT_NS
