// The packed int8-activation passes of the avx512vnni set (gemm_packed.cc takes them in place of
// its tile_rows passes; helpers: packed_vec.h).
//
// The other sets hold one tile's eight code vectors of a block in registers and run the rows
// of x through them one after the other, so every broadcast of 4 bytes of x feeds a single
// vpdpbusd. On Zen 5 that mix (a broadcast load per vpdpbusd, plus the per-row scale, sum and
// correction loads) is load-bound well below the vpdpbusd peak: the GEMM at m = 128 ran at
// 47-49% of it for q8_0. Here RM rows meet NT = 2 tiles chunk by chunk: each 4-byte chunk of
// the block is loaded (and, for 4-bit codes, decoded) once per tile, and each broadcast of x
// feeds one vpdpbusd per tile, into one integer chain per row and tile. Measured on Zen 5
// (bench/native, 4096x4096 and 16384x8192, m = 128, alternated with the previous kernel three
// times): q8_0 55-57% of the peak on 1 thread and 45-51% on 2 (was 45-49%), int4 g32 and g128
// 55-64% (was 48-55%); 10-30% faster on 1 thread, 4-25% on 2; GEMV (RM = 1) streams as fast as
// before.
//
// Without zero-points the per-block correction -bias * sum(x) (per half-block for group 16)
// is the same for every lane of a row: it is computed for kCorr blocks of the RM rows at a
// time, outside the block loop, and starts each chain, instead of a vpmaddwd and a
// subtraction per row, tile and block (3-5% on top, measured the same way). With zero-points
// each chain starts from -z * sum(x), one vpmaddwd per row, tile and block (no subtraction).
//
// Every (row, tile) result is the same exact integer per block followed by the same float
// operations in the same order whatever RM, NT and the tiling of the call, so a row gives the
// same bits in a GEMM pass as alone in a GEMV pass, and as on the tile_rows passes.
#pragma once

#include "packed_vec.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {
namespace {
namespace packed {

namespace vnni512 {

constexpr int kCorr = 64;

template <PCode C, SType S, bool Z, bool H, int RM, int NT>
void tiles_rows(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t i0, int64_t t, float* y,
                int64_t ys) {
  static_assert(kPackRows == kLanes, "a 512-bit vector is one whole tile");
  static_assert(!(Z && H), "zero-points come with one scale per block (gemm_packed.cc's by_scale)");
  constexpr int kSums = H ? 2 : 1;
  const int64_t nb = w.k / 32, sb = w.scale_bytes(), bpg = H ? 1 : w.group / 32;
  const vf mul = set1_ps(w.scale_mul);
  vi lut = zero_i();
  if (C == PCode::kLut4) {
    // Entries biased in scalar code, as in tile_rows (SIMDe treats a wrapping byte add as overflow).
    int8_t table[16];
    for (int u = 0; u < 16; ++u) table[u] = static_cast<int8_t>(static_cast<uint8_t>(w.lut[u] + w.lut_bias));
    lut = lut16(table);
  }
  const int bias = C == PCode::kLut4 ? w.lut_bias : w.bias;
  alignas(64) int32_t corr[RM][Z ? 1 : kSums * kCorr];
  vf acc[NT][RM];
  vf sv[NT][2];
  vi zv[NT];
  const uint8_t* p[NT];
  const uint8_t* pf[NT];  // next line to prefetch, kPrefetch bytes ahead of p
  for (int u = 0; u < NT; ++u) {
    p[u] = pf[u] = w.data + (t + u) * w.tile_bytes;
    for (int r = 0; r < RM; ++r) acc[u][r] = zero_ps();
    sv[u][0] = sv[u][1] = zero_ps();
    zv[u] = zero_i();
  }
  for (int64_t b = 0, left = 0; b < nb; ++b) {
    if (left == 0) {
      for (int u = 0; u < NT; ++u) {
        sv[u][0] = load_scales<S>(p[u], mul);
        if (H) sv[u][1] = load_scales<S>(p[u] + kPackRows * sb, mul);
        // -z in each lane's low 16 bits over a zero high half, as times_sum takes it (z <= 255).
        if (Z) zv[u] = and_i(sub_i32(zero_i(), zeros16(p[u] + (H ? 2 : 1) * kPackRows * sb)), set1_i32(0xFFFF));
        p[u] += w.header_bytes();
      }
      left = bpg;
    }
    --left;
    if (!Z && b % kCorr == 0) {
      const int64_t nc = kSums * (nb - b < kCorr ? nb - b : kCorr);
      for (int r = 0; r < RM; ++r) {
        const int32_t* src = H ? half_sum + (i0 + r) * 2 * x.nb + 2 * b : x.sum + (i0 + r) * x.nb + b;
        for (int64_t j = 0; j < nc; ++j) corr[r][j] = -bias * src[j];
      }
    }
    for (int u = 0; u < NT; ++u) {
      for (const uint8_t* end = p[u] + w.code_block_bytes() + kPrefetch; pf[u] < end; pf[u] += 64)
        _mm_prefetch(reinterpret_cast<const char*>(pf[u]), _MM_HINT_T0);
    }
    // s[u][r][0]: columns 0-15 and, with one scale per block, 16-31 too; [1]: 16-31 for group 16.
    vi s[NT][RM][kSums];
    for (int r = 0; r < RM; ++r) {
      for (int u = 0; u < NT; ++u) {
        if constexpr (Z) {
          s[u][r][0] = times_sum(zv[u], x.sum + (i0 + r) * x.nb + b);
        } else {
          const int32_t* c = corr[r] + kSums * (b % kCorr);
          s[u][r][0] = set1_i32(c[0]);
          if (H) s[u][r][1] = set1_i32(c[1]);
        }
      }
    }
    // Chunk q covers columns 4q..4q+3 (lo) and 16+4q..16+4q+3 (hi): 8-bit codes in chunks q and
    // 4 + q, 4-bit codes in the low and high nibbles of chunk q, 2- and 3-bit codes in the planes.
    // Unrolled whole: GCC left the planes' loop rolled (shifts by 2q), and every pass then copied
    // its chains between registers (a fifth of int2's GEMM time in perf).
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      vi lo[NT], hi[NT];
      for (int u = 0; u < NT; ++u) {
        if (C == PCode::kU8) {
          lo[u] = load_i(p[u] + q * kPackRows * 4);
          hi[u] = load_i(p[u] + (4 + q) * kPackRows * 4);
        } else if (pcode_two_bit(C)) {
          chunk_planes<pcode_third_bit(C)>(p[u], q, &lo[u], &hi[u]);
        } else {
          const vi v = load_i(p[u] + q * kPackRows * 4);
          lo[u] = and_i(v, set1_i8(0x0F));
          hi[u] = and_i(srl4(v), set1_i8(0x0F));
          if (C == PCode::kLut4) {
            lo[u] = shuffle_i8(lut, lo[u]);
            hi[u] = shuffle_i8(lut, hi[u]);
          }
        }
      }
      for (int r = 0; r < RM; ++r) {
        const int8_t* xb = x.q + (i0 + r) * x.k + b * 32;
        const vi x0 = bcst32(xb + 4 * q), x1 = bcst32(xb + 16 + 4 * q);
        for (int u = 0; u < NT; ++u) {
          s[u][r][0] = dot_u8(s[u][r][0], lo[u], x0);
          s[u][r][kSums - 1] = dot_u8(s[u][r][kSums - 1], hi[u], x1);
        }
      }
    }
    for (int r = 0; r < RM; ++r) {
      const int64_t i = i0 + r;
      const vf dv = set1_ps(x.d[i * x.nb + b]);
      for (int u = 0; u < NT; ++u) {
        if (H) {
          acc[u][r] = fmadd_ps(cvt_ps(s[u][r][0]), mul_ps(sv[u][0], dv), acc[u][r]);
          acc[u][r] = fmadd_ps(cvt_ps(s[u][r][1]), mul_ps(sv[u][1], dv), acc[u][r]);
        } else {
          acc[u][r] = fmadd_ps(cvt_ps(s[u][r][0]), mul_ps(sv[u][0], dv), acc[u][r]);
        }
      }
    }
    for (int u = 0; u < NT; ++u) p[u] += w.code_block_bytes();
  }
  for (int u = 0; u < NT; ++u) {
    const int64_t row0 = (t + u) * kPackRows;
    if (row0 >= w.n) continue;
    const int valid = static_cast<int>(w.n - row0 < kLanes ? w.n - row0 : kLanes);
    for (int r = 0; r < RM; ++r) store_ps(y + (i0 + r) * ys + row0, acc[u][r], valid);
  }
}

// All m rows against tiles t and, when two, t + 1: eight rows per pass (16 integer and 16
// float accumulators; some float ones live on the stack, which measured no slower than passes
// of 6 or 7 rows without), then four, then one at a time.
template <PCode C, SType S, bool Z, bool H, int NT>
void rows_over_tiles(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t, float* y,
                     int64_t ys) {
  int64_t i = 0;
  for (; i + 8 <= m; i += 8) tiles_rows<C, S, Z, H, 8, NT>(w, x, hs, i, t, y, ys);
  if (i + 4 <= m) {
    tiles_rows<C, S, Z, H, 4, NT>(w, x, hs, i, t, y, ys);
    i += 4;
  }
  for (; i < m; ++i) tiles_rows<C, S, Z, H, 1, NT>(w, x, hs, i, t, y, ys);
}

}  // namespace vnni512

template <PCode C, SType S, bool Z, bool H, Mode M>
void gemm_t(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0, int64_t t1, float* y,
            int64_t ys) {
  static_assert(M == Mode::kUnsigned, "VNNI takes every code unsigned");
  int64_t t = t0;
  for (; t + 2 <= t1; t += 2) vnni512::rows_over_tiles<C, S, Z, H, 2>(w, x, hs, m, t, y, ys);
  if (t < t1) vnni512::rows_over_tiles<C, S, Z, H, 1>(w, x, hs, m, t, y, ys);
}

}  // namespace packed
}  // namespace
}  // namespace lowbit::LOWBIT_NS
