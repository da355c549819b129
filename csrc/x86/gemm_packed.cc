// int8-activation GEMV/GEMM on prepared weights (the tile layout of PackedArgs,
// core/kernels.h), compiled by every x86 kernel set (kernel_set.h: LOWBIT_VEC 256 or 512,
// LOWBIT_VNNI 0 or 1, the set's -m flags); gemm_i8_packed is the set's table entry, the codes
// with block headers go on to gemm_packed_kquant.cc, the rest has internal linkage.
//
// A vector lane is one output row: a 4-byte group of that row's codes times 4
// broadcast activation codes, summed into the lane (vpdpbusd, or vpmaddubsw +
// vpmaddwd without VNNI). Per 32-column block and row the integer sum is exact, then
//   acc += float(isum - bias * sum(x)) * (scale * d_x)
// with the zero-point or bias folded in as an integer before the conversion. A
// 512-bit vector covers a whole 16-row tile; 256-bit sets run the tile as two
// 8-row halves (side by side in tile_rows; one after the other, each over all of k, in the
// GEMM passes of gemm_packed_half_tiles.h).
#include "packed_vec.h"

#include <cstdint>

#if LOWBIT_VNNI && LOWBIT_VEC == 512
#include "gemm_packed_vnni512.h"
#elif LOWBIT_VEC == 256
#include "gemm_packed_half_tiles.h"
#endif

namespace lowbit::LOWBIT_NS {
namespace {
namespace packed {

#if !(LOWBIT_VNNI && LOWBIT_VEC == 512)
// RM activation rows against NT consecutive tiles (NT = 2 gives GEMV two independent
// weight streams in flight). A tile is kHalves vectors of kLanes rows (one on 512-bit
// sets, two on 256-bit ones), handled one after the other within each block, so every
// tile streams from memory in a single pass. The arithmetic of each row is the same
// whatever NT, RM and the tiling of the call are.
template <PCode C, SType S, bool Z, bool H, Mode M, int RM, int NT>
void tile_rows(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t i0, int64_t t, float* y,
               int64_t ys) {
  constexpr int kHalves = static_cast<int>(kPackRows / kLanes), kUnits = NT * kHalves;
  const int64_t nb = w.k / 32, sb = w.scale_bytes(), bpg = H ? 1 : w.group / 32;
  const vf mul = set1_ps(w.scale_mul);
  vi lut = zero_i();
  if (C == PCode::kLut4) {
    // Unsigned entries are biased in scalar code: a byte add would wrap past 127 on purpose,
    // which SIMDe's portable emulation (the tests' AVX-512 on other CPUs) treats as overflow.
    int8_t table[16];
    for (int u = 0; u < 16; ++u) {
      table[u] = static_cast<int8_t>(static_cast<uint8_t>(w.lut[u] + (M == Mode::kUnsigned ? w.lut_bias : 0)));
    }
    lut = lut16(table);
  }
  // The constant subtracted per block (times sum(x)) when there are no zero-points.
  int bias = C == PCode::kLut4 ? (M == Mode::kUnsigned ? w.lut_bias : 0) : w.bias;
  if (C == PCode::kU8 && M == Mode::kSigned) bias -= 128;
  const vi bias16 = set1_i32(bias & 0xFFFF);
  vf acc[kUnits][RM];
  vf sv[kUnits][2];
  vi zv[kUnits];
  const uint8_t* p[NT];
  const uint8_t* pf[NT];  // next line to prefetch, kPrefetch bytes ahead of p: headers included
  for (int u = 0; u < NT; ++u) p[u] = pf[u] = w.data + (t + u) * w.tile_bytes;
  for (int v = 0; v < kUnits; ++v) {
    for (int r = 0; r < RM; ++r) acc[v][r] = zero_ps();
    sv[v][0] = sv[v][1] = zero_ps();
    zv[v] = zero_i();
  }
  for (int64_t b = 0, left = 0; b < nb; ++b) {
    if (left == 0) {
      for (int u = 0; u < NT; ++u) {
        for (int h = 0; h < kHalves; ++h) {
          const int v = u * kHalves + h, lane = h * kLanes;
          sv[v][0] = load_scales<S>(p[u] + lane * sb, mul);
          if (H) sv[v][1] = load_scales<S>(p[u] + (kPackRows + lane) * sb, mul);
          if (Z) {
            zv[v] = zeros16(p[u] + (H ? 2 : 1) * kPackRows * sb + lane);
            // Zero-points enter times_sum as 16-bit values over a zero high half.
            if (C == PCode::kU8 && M == Mode::kSigned) zv[v] = and_i(sub_i32(zv[v], set1_i32(128)), set1_i32(0xFFFF));
          }
        }
        p[u] += w.header_bytes();
      }
      left = bpg;
    }
    --left;
    for (int u = 0; u < NT; ++u) {
      // Each tile streams from memory once: fetch every line up to kPrefetch bytes past this
      // block, group headers included (one stream per core does not keep enough misses in
      // flight on its own).
      for (const uint8_t* end = p[u] + w.code_block_bytes() + kPrefetch; pf[u] < end; pf[u] += 64)
        _mm_prefetch(reinterpret_cast<const char*>(pf[u]), _MM_HINT_T0);
    }
    for (int v = 0; v < kUnits; ++v) {
      vi wv[8];
      load_codes<C, M>(p[v / kHalves] + (v % kHalves) * kLanes * 4, lut, wv);
      for (int r = 0; r < RM; ++r) {
        const int64_t i = i0 + r;
        const int8_t* xb = x.q + i * x.k + b * 32;
        const vf dv = set1_ps(x.d[i * x.nb + b]);
        if (H) {
          vi s[2];
          dot_block<M, C>(wv, xb, s);
          // Two scales per block (tables only, no zero-points): each half on its own.
          const int32_t* hs = half_sum + i * 2 * x.nb + 2 * b;
          acc[v][r] = fmadd_ps(cvt_ps(sub_i32(s[0], times_sum(bias16, hs))), mul_ps(sv[v][0], dv), acc[v][r]);
          acc[v][r] = fmadd_ps(cvt_ps(sub_i32(s[1], times_sum(bias16, hs + 1))), mul_ps(sv[v][1], dv), acc[v][r]);
        } else {
          const int32_t* sum = x.sum + i * x.nb + b;
          vi isum = dot_block_sum<M, C>(wv, xb);
          if (Z) {
            isum = sub_i32(isum, times_sum(zv[v], sum));
          } else if (bias != 0) {
            isum = sub_i32(isum, times_sum(bias16, sum));
          }
          acc[v][r] = fmadd_ps(cvt_ps(isum), mul_ps(sv[v][0], dv), acc[v][r]);
        }
      }
    }
    for (int u = 0; u < NT; ++u) p[u] += w.code_block_bytes();
  }
  for (int v = 0; v < kUnits; ++v) {
    const int64_t row0 = (t + v / kHalves) * kPackRows + (v % kHalves) * kLanes;
    if (row0 >= w.n) continue;
    const int valid = static_cast<int>(w.n - row0 < kLanes ? w.n - row0 : kLanes);
    for (int r = 0; r < RM; ++r) store_ps(y + (i0 + r) * ys + row0, acc[v][r], valid);
  }
}

// Rows of x per pass over a tile. Each half-tile's block is decoded once and the rows take
// their turns through its code vectors, so more rows cost only float accumulators and share the
// decode. On 512-bit sets 8 rows amortise the nibble decode of each block (12 instructions) over
// 64 multiply-adds and still fit the 32 registers; measured on Zen 5 with VNNI, before that set got
// its own passes (int4 g32 GEMM, m = 32 and 128, 1 and 2 threads), 8 rows ran 12-20% faster than 4,
// and 6, 12 and 16 were slower than 8 (12 and 16 spill). On the 256-bit sets (whose 4-bit and
// smaller codes take the half-tile passes) 8 rows ran q8_0 and iq4_nl 1.3-1.45x faster than 2
// (Zen 5, the avx2 set, m = 128, three alternated runs).
constexpr int kTileM = 8;
constexpr int kGemvTiles = 2;

template <PCode C, SType S, bool Z, bool H, Mode M>
void gemm_t(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0, int64_t t1, float* y,
            int64_t ys) {
#if LOWBIT_VEC == 256
  if constexpr (M == Mode::kUnsigned && !H && (C == PCode::kU4 || pcode_two_bit(C))) {
    if (m >= 2) return half_tiles::gemm<C, S, Z>(w, x, m, t0, t1, y, ys);
  }
#endif
  int64_t mfull = m / kTileM * kTileM;
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t i = 0; i < mfull; i += kTileM) tile_rows<C, S, Z, H, M, kTileM, 1>(w, x, hs, i, t, y, ys);
  // Four, then two of the rows left over (m = 2..7 included) still share each pass over a tile.
  if (m - mfull >= 4) {
    for (int64_t t = t0; t < t1; ++t) tile_rows<C, S, Z, H, M, 4, 1>(w, x, hs, mfull, t, y, ys);
    mfull += 4;
  }
  if (m - mfull >= 2) {
    for (int64_t t = t0; t < t1; ++t) tile_rows<C, S, Z, H, M, 2, 1>(w, x, hs, mfull, t, y, ys);
    mfull += 2;
  }
  // The rows left over (all of them for GEMV) take two tiles per pass where there are two.
  for (int64_t i = mfull; i < m; ++i) {
    for (int64_t t = t0; t < t1;) {
      if (kGemvTiles == 2 && t + 1 < t1) {
        tile_rows<C, S, Z, H, M, 1, kGemvTiles>(w, x, hs, i, t, y, ys);
        t += 2;
      } else {
        tile_rows<C, S, Z, H, M, 1, 1>(w, x, hs, i, t, y, ys);
        ++t;
      }
    }
  }
}

#endif  // LOWBIT_VNNI && LOWBIT_VEC == 512

template <PCode C, Mode M>
void by_scale(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0, int64_t t1, float* y,
              int64_t ys) {
  const bool h = w.group == 16;
  switch (w.stype) {
    case SType::kF32:
      if (w.zeros) return gemm_t<C, SType::kF32, true, false, M>(w, x, hs, m, t0, t1, y, ys);
      return h ? gemm_t<C, SType::kF32, false, true, M>(w, x, hs, m, t0, t1, y, ys)
               : gemm_t<C, SType::kF32, false, false, M>(w, x, hs, m, t0, t1, y, ys);
    case SType::kF16:
      if (w.zeros) return gemm_t<C, SType::kF16, true, false, M>(w, x, hs, m, t0, t1, y, ys);
      return h ? gemm_t<C, SType::kF16, false, true, M>(w, x, hs, m, t0, t1, y, ys)
               : gemm_t<C, SType::kF16, false, false, M>(w, x, hs, m, t0, t1, y, ys);
    case SType::kE8M0: return gemm_t<C, SType::kE8M0, false, false, M>(w, x, hs, m, t0, t1, y, ys);
    case SType::kE4M3: return gemm_t<C, SType::kE4M3, false, true, M>(w, x, hs, m, t0, t1, y, ys);
  }
}

}  // namespace packed

#if !LOWBIT_VNNI
// The largest table entry once biased to unsigned.
int lut_top(const PackedArgs& w) {
  int top = 0;
  for (int u = 0; u < 16; ++u) top = top > w.lut[u] + w.lut_bias ? top : w.lut[u] + w.lut_bias;
  return top;
}
#endif

}  // namespace

void gemm_i8_packed(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0, int64_t t1,
                    float* y, int64_t ys) {
  using packed::Mode;
  switch (w.code) {
    case PCode::kU4: return packed::by_scale<PCode::kU4, Mode::kUnsigned>(w, x, hs, m, t0, t1, y, ys);
    case PCode::kU2: return packed::by_scale<PCode::kU2, Mode::kUnsigned>(w, x, hs, m, t0, t1, y, ys);
    case PCode::kU3: return packed::by_scale<PCode::kU3, Mode::kUnsigned>(w, x, hs, m, t0, t1, y, ys);
#if LOWBIT_VNNI
    case PCode::kU8: return packed::by_scale<PCode::kU8, Mode::kUnsigned>(w, x, hs, m, t0, t1, y, ys);
#else
    case PCode::kU8: return packed::by_scale<PCode::kU8, Mode::kSigned>(w, x, hs, m, t0, t1, y, ys);
#endif
    case PCode::kLut4:
#if !LOWBIT_VNNI
      // Unsigned entries up to 128 keep vpmaddubsw's 16-bit pair sums exact (E2M1's reach 24); NF4's reach 254.
      if (lut_top(w) > 128) return packed::by_scale<PCode::kLut4, Mode::kSigned>(w, x, hs, m, t0, t1, y, ys);
#endif
      return packed::by_scale<PCode::kLut4, Mode::kUnsigned>(w, x, hs, m, t0, t1, y, ys);
    case PCode::kQ4K: case PCode::kQ5K: case PCode::kQ6K: case PCode::kQ2K: case PCode::kQ3K:
    case PCode::kIQ4XS: case PCode::kQ4_1: case PCode::kQ5_0: case PCode::kQ5_1: case PCode::kTQ:
      return gemm_i8_packed_block_headers(w, x, hs, m, t0, t1, y, ys);
  }
}

}  // namespace lowbit::LOWBIT_NS
