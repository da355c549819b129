// int8-activation kernels on ggml's K-quant super-blocks as GGUF stores them (kernels.h,
// GemmI8KQuantFn), 256-bit, compiled by every x86 kernel set (kernel_set.h; LOWBIT_VNNI:
// vpdpbusd, EVEX on the AVX-512 sets, VEX on avxvnni; else vpmaddubsw + vpmaddwd). No repacking: one 32-byte load holds the low nibbles of 32 columns and the
// high nibbles of the next 32 (q4_k, q5_k) or a quarter of q6_k's low bits, so unpacking is
// an and, a shift and (q5_k, q6_k) an or of the high bits, once per super-block for every
// row of x. gemm_i8_kquant is the set's table entry; the rest has internal linkage.
#include "kernel_set.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace lowbit::LOWBIT_NS {

// GEMV fetches each weight row this many bytes ahead (0: none). The rows stream back to
// back, so the hardware prefetcher sees one sequential stream per thread, which on two
// threads did not keep enough misses in flight: on Zen 5 (avx512vnni, 16384x8192 from DRAM)
// 2048-4096 bytes ahead made q4_k / q5_k / q6_k GEMV 7-15% faster on 2 threads, the same on 1.
#ifndef LOWBIT_KQ_PREFETCH
#define LOWBIT_KQ_PREFETCH 4096
#endif
namespace {
namespace kq {

// Per 32-bit lane: the sum of 4 products of unsigned codes u (< 64) and signed activations x.
inline __m256i dot4(__m256i u, __m256i x) {
#if LOWBIT_VNNI && LOWBIT_VEC == 512
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, x);
#elif LOWBIT_VNNI
  return LOWBIT_DPBUSD256(_mm256_setzero_si256(), u, x);
#else
  // Pairs of products stay within int16: 2 * 63 * 127 < 32767.
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
#endif
}

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

// 8 vectors of int32 lanes -> one vector whose lane b is the sum of v[b]'s lanes.
inline __m256i reduce8(const __m256i* v) {
  const __m256i u0 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i u1 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  // u0 = [v0..v3 over lanes 0-3 | v0..v3 over lanes 4-7], u1 likewise for v4..v7.
  return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u0, u1, 0x31));
}

// One super-block's codes (unsigned, column order) into 8 vectors of 32 (registers when one row of
// x uses them); q4_k / q5_k also their 6-bit scales and mins as two rows of 8 bytes (sm[0..7]
// scales, sm[8..15] mins).
template <KQuant kKind>
inline void unpack_block(const uint8_t* blk, __m256i* codes, uint8_t* sm) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  auto store = [&](int at, __m256i v) { codes[at / 32] = v; };
  if constexpr (kKind == KQuant::kQ6K) {
    const __m256i m2 = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; ++h) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h + 32));
      const __m256i top = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h));
      // Quarter t: low bits from a (t 0, 2) or b (t 1, 3), low or high nibble; high bits 2t of `top`.
      store(128 * h, _mm256_or_si256(_mm256_and_si256(a, low4), _mm256_and_si256(_mm256_slli_epi16(top, 4), m2)));
      store(128 * h + 32, _mm256_or_si256(_mm256_and_si256(b, low4), _mm256_and_si256(_mm256_slli_epi16(top, 2), m2)));
      store(128 * h + 64,
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), low4), _mm256_and_si256(top, m2)));
      store(128 * h + 96, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 4), low4),
                                          _mm256_and_si256(_mm256_srli_epi16(top, 2), m2)));
    }
  } else {
    // 12 bytes: scales 0-3 and mins 0-3 in the low 6 bits of bytes 0-7, the top 2 bits of scales and
    // mins 4-7 in their high 2 bits, the low 4 bits of scales / mins 4-7 in the nibbles of bytes 8-11.
    uint32_t u[3];
    std::memcpy(u, blk + 4, 12);
    const uint32_t m6 = 0x3F3F3F3F, m4 = 0x0F0F0F0F, m2 = 0x03030303;
    const uint32_t out[4] = {u[0] & m6, (u[2] & m4) | (((u[0] >> 6) & m2) << 4), u[1] & m6,
                             ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4)};
    std::memcpy(sm, out, 16);
    constexpr bool kFive = kKind == KQuant::kQ5K;
    const uint8_t* ql = blk + (kFive ? 48 : 16);
    __m256i top = kFive ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16)) : _mm256_setzero_si256();
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    for (int p = 0; p < 4; ++p) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32 * p));
      __m256i lo = _mm256_and_si256(raw, low4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
      if constexpr (kFive) {
        // Bits 2p and 2p + 1 of qh are the fifth bits of the low and high halves.
        lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(top, 4), bit4));
        hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(top, 3), bit4));
        top = _mm256_srli_epi16(top, 2);
      }
      store(64 * p, lo);
      store(64 * p + 32, hi);
    }
  }
}

// Weight row `wrow` against rows [0, m) of x (x, hs and y already offset to the first row).
// Per super-block and row of x: eight block dot products reduced to one vector of the 8 block
// sums, which the exact integer scale products turn into I_b (and M_b), then one float
// multiply-add each with d_x,b * d (and d_x,b * dmin): the kernels.h contract per block.
// kRows: rows of x per pass, their accumulators kept in registers across super-blocks (1 for GEMV,
// where the unpacked codes stay in registers too).
template <KQuant kKind, int kRows>
void row_times_x(const KQuantArgs& w, const ActI8& x, const int32_t* hs, int64_t m, const uint8_t* wrow, float* y,
                 int64_t y_stride) {
  constexpr int64_t kBytes = kKind == KQuant::kQ4K ? 144 : kKind == KQuant::kQ5K ? 176 : 210;
  __m256i codes[8];
  alignas(16) uint8_t sm[16];
  for (int64_t i0 = 0; i0 < m; i0 += kRows) {
    const int rows = kRows == 1 ? 1 : static_cast<int>(std::min<int64_t>(kRows, m - i0));
    __m256 acc[kRows];
    for (int r = 0; r < kRows; ++r) acc[r] = _mm256_setzero_ps();
    for (int64_t s = 0; s < w.k / 256; ++s) {
      const uint8_t* blk = wrow + s * kBytes;
      if (kRows == 1 && LOWBIT_KQ_PREFETCH > 0) {
        // Every line of the super-block that far ahead (past the matrix's end a prefetch is a no-op).
        for (int64_t o = 0; o < kBytes; o += 64)
          _mm_prefetch(reinterpret_cast<const char*>(blk + LOWBIT_KQ_PREFETCH + o), _MM_HINT_T0);
      }
      unpack_block<kKind>(blk, codes, sm);
      const float d = f16(kKind == KQuant::kQ6K ? blk + 208 : blk);
      // q6_k: int16 scales of the two halves of each block, for vpmaddwd.
      __m256i sc16[8];
      __m256i sc32_lo, sc32_hi, scv, mnv;
      if constexpr (kKind == KQuant::kQ6K) {
        const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
        for (int b = 0; b < 8; ++b)
          sc16[b] = _mm256_set_m128i(_mm_set1_epi16(sc[2 * b + 1]), _mm_set1_epi16(sc[2 * b]));
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sc));
        sc32_lo = _mm256_cvtepi8_epi32(sc8);
        sc32_hi = _mm256_cvtepi8_epi32(_mm_srli_si128(sc8, 8));
      } else {
        scv = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm)));
        mnv = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm + 8)));
      }
      const __m256 dv = _mm256_set1_ps(d);
      const __m256 dminv = _mm256_set1_ps(kKind == KQuant::kQ6K ? 0.0f : f16(blk + 2));
      for (int r = 0; r < rows; ++r) {
        const int8_t* xq = x.q + (i0 + r) * x.k + s * 256;
        __m256i v[8];
        for (int b = 0; b < 8; ++b) {
          const __m256i u = codes[b];
          const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b));
          if constexpr (kKind == KQuant::kQ6K) {
            // Pairs stay within int16 (2 * 63 * 127); vpmaddwd applies each half's scale.
            v[b] = _mm256_madd_epi16(_mm256_maddubs_epi16(u, xv), sc16[b]);
          } else {
            v[b] = dot4(u, xv);
          }
        }
        const __m256 xd = _mm256_loadu_ps(x.d + (i0 + r) * x.nb + s * 8);
        __m256i ib = reduce8(v);
        if constexpr (kKind == KQuant::kQ6K) {
          // Minus 32 * (sc_lo * hs_lo + sc_hi * hs_hi) per block: the codes' bias of 32.
          const int32_t* h = hs + (i0 + r) * 2 * x.nb + s * 16;
          const __m256i p0 = _mm256_mullo_epi32(sc32_lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h)));
          const __m256i p1 = _mm256_mullo_epi32(sc32_hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + 8)));
          const __m256i pairs = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(p0, p1), _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7));
          ib = _mm256_sub_epi32(ib, _mm256_slli_epi32(pairs, 5));
          acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(xd, dv), _mm256_cvtepi32_ps(ib), acc[r]);
        } else {
          const __m256i xs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.sum + (i0 + r) * x.nb + s * 8));
          const __m256 iv = _mm256_cvtepi32_ps(_mm256_mullo_epi32(ib, scv));
          const __m256 mv = _mm256_cvtepi32_ps(_mm256_mullo_epi32(xs, mnv));
          acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(xd, dv), iv, acc[r]);
          acc[r] = _mm256_fnmadd_ps(_mm256_mul_ps(xd, dminv), mv, acc[r]);
        }
      }
    }
    for (int r = 0; r < rows; ++r) y[(i0 + r) * y_stride] = hsum8(acc[r]);
  }
}

template <KQuant kKind>
void gemm(const KQuantArgs& w, const ActI8& x, const int32_t* hs, int64_t m, int64_t n0, int64_t n1, float* y,
          int64_t y_stride) {
  for (int64_t j = n0; j < n1; ++j) {
    if (m == 1) {
      row_times_x<kKind, 1>(w, x, hs, m, w.data + j * w.row_bytes, y + j, y_stride);
    } else {
      row_times_x<kKind, 4>(w, x, hs, m, w.data + j * w.row_bytes, y + j, y_stride);
    }
  }
}

}  // namespace kq
}  // namespace

void gemm_i8_kquant(const KQuantArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t n0, int64_t n1,
                    float* y, int64_t y_stride) {
  visit_kquant(w.kind, [&](auto kind) { kq::gemm<decltype(kind)::value>(w, x, half_sum, m, n0, n1, y, y_stride); });
}

}  // namespace lowbit::LOWBIT_NS
