// int8-activation GEMV/GEMM on the packed tiles of the ggml codes with block headers (kernels.h:
// kQ4K ... kTQ) for every x86 kernel set (kernel_set.h; helpers: packed_vec.h, packed_kquant_vec.h);
// a lane is one output row, as on the other packed passes. gemm_packed.cc hands these codes to
// gemm_i8_packed_block_headers.
//
// Per 32-column block and row the integer sums are formed as for 4-bit codes (the low
// nibbles), with the high bits shifted in from their own chunks (q2_k / q3_k: 2-bit planes);
// then the block's term takes the scalar kernel's float operations in its order (kernels.h).
// d * sc and dmin * m are exact in float32 (11-bit fp16 significands times 6-bit integers), so
// float(isum) * (d * sc) rounds the same real number as the reference's d * float(sc * isum);
// the half products of q6_k / q3_k, and their sum, are integers below 2^24, exact (without VNNI the
// passes of several rows form the reference's integer sum itself: halves_dot). So every lane
// gives the scalar kernel's bits (the build never contracts a multiply and an add into an FMA).
#include "packed_kquant_vec.h"

#include <cstdint>

#if LOWBIT_VNNI && LOWBIT_VEC == 512
#include "gemm_packed_kquant_vnni512.h"
#endif

namespace lowbit::LOWBIT_NS {
namespace {
namespace packed {
namespace kq {

template <PCode C, int RM, int NT>
void tile_rows(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t i0, int64_t t, float* y,
               int64_t ys) {
  constexpr int kHalves = static_cast<int>(kPackRows / kLanes), kUnits = NT * kHalves, kSub = kSubs(C);
  // dot_block picks its sum by the largest code (pcode_max_code); iq4_xs's codes are the table's entries.
  constexpr PCode kDot = C == PCode::kIQ4XS ? PCode::kLut4 : C;
  constexpr Mode kMode = C == PCode::kIQ4XS ? kLutMode : Mode::kUnsigned;
  // Without VNNI, passes of several rows apply q6_k / q3_k's 16-column scales in vpmaddwd
  // (packed_kquant_vec.h); 1-row passes (the GEMV) keep the float halves, whose scale set-up per block
  // is two instructions, not six, with no rows to amortize it (docs/performance.md, "GEMM on AVX2
  // without VNNI").
  constexpr bool kIntHalves = !LOWBIT_VNNI && pcode_signed_halves(C) && RM > 1;
  // The codes with one scale for the whole block need only its sum. In one-row passes (the GEMV) that is
  // dot_block_sum, one 16-bit chain for codes up to 15 without VNNI (one vpmaddwd a block, not two and an
  // add); passes of several rows keep the two chains, which measured faster there (docs/performance.md).
  constexpr bool kWhole = !pcode_signed_halves(C) && C != PCode::kQ2K && RM == 1;
  const int64_t nsb = w.k / w.block_cols(), hb = w.header_bytes(), cb = w.code_block_bytes();
  const vi bias_c = set1_i32(C == PCode::kQ6K ? 32 : 4);
  const vi low4 = set1_i32(15);
  vi lut = zero_i();
  if (C == PCode::kIQ4XS) {
    // On VNNI the entries are biased to unsigned (lut + 128), the bias taken out per block.
    int8_t table[16];
    for (int u = 0; u < 16; ++u) table[u] = static_cast<int8_t>(static_cast<uint8_t>(w.lut[u] + (LOWBIT_VNNI ? 128 : 0)));
    lut = lut16(table);
  }
  vf acc[kUnits][RM], dv[kUnits], mv[kUnits];
  const uint8_t* p[NT];
  const uint8_t* pf[NT];
  const uint8_t* head[NT];
  for (int u = 0; u < NT; ++u) p[u] = pf[u] = head[u] = w.data + (t + u) * w.tile_bytes;
  for (int v = 0; v < kUnits; ++v) {
    for (int r = 0; r < RM; ++r) acc[v][r] = zero_ps();
    dv[v] = mv[v] = zero_ps();
  }
  for (int64_t s = 0; s < nsb; ++s) {
    for (int u = 0; u < NT; ++u) {
      head[u] = p[u];
      for (int h = 0; h < kHalves; ++h) {
        const int v = u * kHalves + h, lane = h * kLanes;
        dv[v] = load_f16(head[u] + 2 * lane);
        if (pcode_has_dmin(C)) mv[v] = load_f16(head[u] + 2 * (kPackRows + lane));
      }
      p[u] += hb;
    }
    for (int sub = 0; sub < kSub; ++sub) {
      const int64_t b = s * kSub + sub;
      for (int u = 0; u < NT; ++u) {
        for (const uint8_t* end = p[u] + cb + kPrefetch; pf[u] < end; pf[u] += 64)
          _mm_prefetch(reinterpret_cast<const char*>(pf[u]), _MM_HINT_T0);
      }
      // The 256-bit sets' units (2 or 4 half-tiles) unrolled whole: GCC kept the loop rolled for some codes
      // (q3_k, q6_k, iq4_xs) and their one-row passes took 1.04-1.14x the time. The 512-bit sets' one or
      // two tiles ran slower unrolled.
#if LOWBIT_VEC != 512
#pragma GCC unroll 4
#endif
      for (int v = 0; v < kUnits; ++v) {
        const int u = v / kHalves, lane = (v % kHalves) * kLanes;
        vi wv[8];
        load_kcodes<C>(p[u] + lane * 4, lut, wv);
        // Per-lane scales of the block: q4_k / q5_k: d * sc and dmin * m; q6_k / q3_k: the halves'
        // scales; iq4_xs: d * sc; q2_k: the halves' scale | min << 4 bytes.
        vf s0 = zero_ps(), s1 = zero_ps();
        vi q0 = zero_i(), q1 = zero_i(), b0 = zero_i(), b1 = zero_i();
        if constexpr (kIntHalves) {
          halves_scales<C>(head[u] + (2 + 2 * sub) * kPackRows + lane, &q0, &b0);
          halves_scales<C>(head[u] + (3 + 2 * sub) * kPackRows + lane, &q1, &b1);
        } else if (pcode_signed_halves(C)) {
          s0 = cvt_ps(load_i8_i32(head[u] + (2 + 2 * sub) * kPackRows + lane));
          s1 = cvt_ps(load_i8_i32(head[u] + (3 + 2 * sub) * kPackRows + lane));
        } else if (C == PCode::kQ4K || C == PCode::kQ5K) {
          s0 = mul_ps(dv[v], cvt_ps(load_u8_i32(head[u] + (4 + sub) * kPackRows + lane)));
          s1 = mul_ps(mv[v], cvt_ps(load_u8_i32(head[u] + (12 + sub) * kPackRows + lane)));
        } else if (C == PCode::kIQ4XS) {
          s0 = mul_ps(dv[v], cvt_ps(load_i8_i32(head[u] + (2 + sub) * kPackRows + lane)));
        } else if (C == PCode::kQ2K) {
          q0 = load_u8_i32(head[u] + (4 + 2 * sub) * kPackRows + lane);
          q1 = load_u8_i32(head[u] + (5 + 2 * sub) * kPackRows + lane);
        }
        for (int r = 0; r < RM; ++r) {
          const int64_t i = i0 + r;
          const int32_t* sum = x.sum + i * x.nb + b;
          vf term;
          vi sd[2], whole;  // the halves' sums and the block's; kIntHalves forms its own
          if constexpr (kWhole) {
            whole = dot_block_sum<kMode, kDot>(wv, x.q + i * x.k + b * 32);
          } else if constexpr (!kIntHalves) {
            dot_block<kMode, kDot>(wv, x.q + i * x.k + b * 32, sd);
            whole = add_i32(sd[0], sd[1]);
          }
          if constexpr (kIntHalves) {
            const int32_t* hs = half_sum + i * 2 * x.nb + 2 * b;
            const vi ib = halves_dot<C>(wv, x.q + i * x.k + b * 32, q0, q1);
            const vi bias = add_i32(times_sum(b0, hs), times_sum(b1, hs + 1));
            term = mul_ps(dv[v], cvt_ps(sub_i32(ib, bias)));
          } else if (pcode_signed_halves(C)) {
            const int32_t* hs = half_sum + i * 2 * x.nb + 2 * b;
            const vf h0 = cvt_ps(sub_i32(sd[0], times_sum(bias_c, hs))), h1 = cvt_ps(sub_i32(sd[1], times_sum(bias_c, hs + 1)));
            term = mul_ps(dv[v], add_ps(mul_ps(h0, s0), mul_ps(h1, s1)));
          } else if (C == PCode::kQ2K) {
            // sc * D and m * S through vpmaddwd: sc, m <= 15 over zero high halves, |D| <= 16 * 3 * 127
            // and |S| <= 16 * 127 in the low halves (their high halves meet the zeros).
            const int32_t* hs = half_sum + i * 2 * x.nb + 2 * b;
            const vi ib = add_i32(madd_i16(and_i(q0, low4), sd[0]), madd_i16(and_i(q1, low4), sd[1]));
            const vi mb = add_i32(times_sum(srli16(q0, 4), hs), times_sum(srli16(q1, 4), hs + 1));
            term = sub_ps(mul_ps(dv[v], cvt_ps(ib)), mul_ps(mv[v], cvt_ps(mb)));
          } else if (C == PCode::kIQ4XS) {
            vi isum = whole;
            if (LOWBIT_VNNI) isum = sub_i32(isum, times_sum(set1_i32(128), sum));
            term = mul_ps(cvt_ps(isum), s0);
          } else if (C == PCode::kQ4_1 || C == PCode::kQ5_1) {
            term = add_ps(mul_ps(dv[v], cvt_ps(whole)), mul_ps(mv[v], cvt_ps(set1_i32(*sum))));
          } else if (pcode_code_offset(C)) {
            term = mul_ps(dv[v], cvt_ps(sub_i32(whole, times_sum(set1_i32(pcode_code_offset(C)), sum))));
          } else {
            const vf xs = cvt_ps(set1_i32(*sum));
            term = sub_ps(mul_ps(cvt_ps(whole), s0), mul_ps(s1, xs));
          }
          acc[v][r] = add_ps(acc[v][r], mul_ps(set1_ps(x.d[i * x.nb + b]), term));
        }
      }
      for (int u = 0; u < NT; ++u) p[u] += cb;
    }
  }
  for (int v = 0; v < kUnits; ++v) {
    const int64_t row0 = (t + v / kHalves) * kPackRows + (v % kHalves) * kLanes;
    if (row0 >= w.n) continue;
    const int valid = static_cast<int>(w.n - row0 < kLanes ? w.n - row0 : kLanes);
    for (int r = 0; r < RM; ++r) store_ps(y + (i0 + r) * ys + row0, acc[v][r], valid);
  }
}

template <PCode C>
void gemm(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0, int64_t t1, float* y,
          int64_t ys) {
  int64_t mfull = m / kTileRows * kTileRows;
#if LOWBIT_VNNI && LOWBIT_VEC == 512
  // Every code's rows of x in 8s and 4s take the chunk-major passes (gemm_packed_kquant_vnni512.h).
  int64_t t = t0;
  if constexpr (vnni512::kPassTiles<C> == 2)
    for (; t + 2 <= t1; t += 2) mfull = vnni512::rows_over_tiles<C, 2>(w, x, hs, m, t, y, ys);
  for (; t < t1; ++t) mfull = vnni512::rows_over_tiles<C, 1>(w, x, hs, m, t, y, ys);
#else
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t i = 0; i < mfull; i += kTileRows) tile_rows<C, kTileRows, 1>(w, x, hs, i, t, y, ys);
  if (kTileRows > 4 && m - mfull >= 4) {
    for (int64_t t = t0; t < t1; ++t) tile_rows<C, 4, 1>(w, x, hs, mfull, t, y, ys);
    mfull += 4;
  }
#endif
  // The rows left over (all of a GEMV) take two tiles per pass where there are two: two
  // weight streams in flight per core, as for the other codes.
  for (int64_t i = mfull; i < m; ++i) {
    for (int64_t t = t0; t < t1;) {
      if (t + 1 < t1) {
        tile_rows<C, 1, 2>(w, x, hs, i, t, y, ys);
        t += 2;
      } else {
        tile_rows<C, 1, 1>(w, x, hs, i, t, y, ys);
        ++t;
      }
    }
  }
}

}  // namespace kq
}  // namespace packed
}  // namespace

void gemm_i8_packed_block_headers(const PackedArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t t0,
                                  int64_t t1, float* y, int64_t ys) {
  visit_block_header_code(w.code,
                          [&](auto code) { packed::kq::gemm<decltype(code)::value>(w, x, hs, m, t0, t1, y, ys); });
}

}  // namespace lowbit::LOWBIT_NS
