// A measurement, not a kernel lowbit ships: table-lookup (T-MAC style) GEMV of ternary tq2_0 weights
// on AVX2, at lowbit's exact int8 contract, for bench_native's `lut` suite to time beside the
// multiply kernel (the `avx2` set's prepared tq2_0 GEMV) on the same matrix and x.
//
// Tables: for each pair of columns (a, b) of a row of x, T[ca + 4 * cb] = (ca - 1) * x_a + (cb - 1) * x_b
// for the ternary codes ca, cb in 0..2. |T| <= 2 * 128 needs 9 bits, so each table is two 16-byte
// tables, its low bytes (unsigned) and high bytes (signed); vpunpck{l,h}bw of a lookup's low and
// high bytes is the int16 value itself (hi * 256 + lo), which is summed in int16 per 32-column
// block (|sum| <= 32 * 128) and then widened. Exact, so the result equals the multiply kernel's bit
// for bit: per row and block, float(isum) times the block's d, times x's block scale, accumulated in
// the multiply kernel's order.
//
// Weights: tiles of 16 rows; per 256-column super-block the rows' 16 fp16 d, then per 32-column block
// four 32-byte vectors: vector j's low 16 bytes are the 16 rows' codes of columns 4j..4j+3 (one byte a
// row: c0 | c1 << 2 | c2 << 4 | c3 << 6), its high 16 bytes those of columns 16 + 4j..16 + 4j + 3. The
// byte's low nibble indexes the pair (4j, 4j + 1), its high nibble (4j + 2, 4j + 3). Same bytes as the
// packed tq2_0 tiles: 2 bits a weight and an fp16 per 256.
#include "lut_tq2.h"

#include <immintrin.h>

#include <cstring>

#include "../../csrc/formats/ggml_types.h"

namespace lowbit::bench {
namespace {

constexpr int64_t kRows = 16;
constexpr int64_t kTableBytes = 512;  // per 32 columns of x: 4 vectors j x (lo a, hi a, lo b, hi b) x 32 bytes

int64_t tile_bytes(int64_t k) { return k / 256 * (2 * kRows + 8 * 128); }

}  // namespace

LutTq2 pack_lut_tq2(const QMatrixView& q) {
  const QuantLayout& L = q.layout;
  LutTq2 w;
  w.n = L.rows;
  w.k = L.cols;
  const int64_t tiles = (w.n + kRows - 1) / kRows, tb = tile_bytes(w.k), bb = L.block_bytes();
  w.data.assign(static_cast<size_t>(tiles * tb), 0);
  const int d_offset = ggml_block_type(L.format).d_offset;
  GgmlBlock blk;
  for (int64_t r = 0; r < w.n; ++r) {
    const int64_t lane = r % kRows;
    uint8_t* tile = w.data.data() + r / kRows * tb;
    for (int64_t s = 0; s < w.k / 256; ++s) {
      const uint8_t* src = q.data + r * L.row_bytes() + s * bb;
      ggml_decode_block(L.format, src, &blk);
      uint8_t* head = tile + s * (2 * kRows + 8 * 128);
      std::memcpy(head + 2 * lane, src + d_offset, 2);
      for (int sub = 0; sub < 8; ++sub) {
        uint8_t* codes = head + 2 * kRows + sub * 128;
        const uint8_t* u = blk.q + 32 * sub;
        for (int j = 0; j < 4; ++j)
          for (int half = 0; half < 2; ++half) {
            const uint8_t* c = u + 16 * half + 4 * j;
            codes[32 * j + 16 * half + lane] = static_cast<uint8_t>(c[0] | c[1] << 2 | c[2] << 4 | c[3] << 6);
          }
      }
    }
  }
  return w;
}

void lut_tq2_tables(const int8_t* xq, int64_t k, uint8_t* tables) {
  for (int64_t b = 0; b < k / 32; ++b) {
    const int8_t* x = xq + 32 * b;
    for (int j = 0; j < 4; ++j) {
      uint8_t* t = tables + b * kTableBytes + 128 * j;
      for (int pair = 0; pair < 2; ++pair)
        for (int half = 0; half < 2; ++half) {
          const int ca_col = 16 * half + 4 * j + 2 * pair;
          for (int idx = 0; idx < 16; ++idx) {
            const int ca = idx & 3, cb = idx >> 2;
            const int v = ca > 2 || cb > 2 ? 0 : (ca - 1) * x[ca_col] + (cb - 1) * x[ca_col + 1];
            t[64 * pair + 16 * half + idx] = static_cast<uint8_t>(v & 0xFF);
            t[64 * pair + 32 + 16 * half + idx] = static_cast<uint8_t>((v >> 8) & 0xFF);
          }
        }
    }
  }
}

// The only AVX2 code here: the file is compiled for the baseline, so no inline function it shares
// with the rest of the program is emitted with AVX2 instructions.
__attribute__((target("avx2,fma,f16c"))) void lut_tq2_gemv(const LutTq2& w, const ActI8& x, const uint8_t* tables,
                                                           float* y) {
  const int64_t tb = tile_bytes(w.k);
  const __m256i nib = _mm256_set1_epi8(0x0F);
  for (int64_t t = 0; t * kRows < w.n; ++t) {
    const uint8_t* p = w.data.data() + t * tb;
    const uint8_t* pf = p;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (int64_t s = 0; s < w.k / 256; ++s) {
      const __m256 d0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      const __m256 d1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
      p += 2 * kRows;
      for (int sub = 0; sub < 8; ++sub, p += 128) {
        for (const uint8_t* end = p + 128 + 4096; pf < end; pf += 64) _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T0);
        const int64_t b = s * 8 + sub;
        const uint8_t* tab = tables + b * kTableBytes;
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * j));
          const __m256i ia = _mm256_and_si256(v, nib), ib = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
          const __m256i* tj = reinterpret_cast<const __m256i*>(tab + 128 * j);
          const __m256i la = _mm256_shuffle_epi8(_mm256_loadu_si256(tj), ia);
          const __m256i ha = _mm256_shuffle_epi8(_mm256_loadu_si256(tj + 1), ia);
          const __m256i lb = _mm256_shuffle_epi8(_mm256_loadu_si256(tj + 2), ib);
          const __m256i hb = _mm256_shuffle_epi8(_mm256_loadu_si256(tj + 3), ib);
          s0 = _mm256_add_epi16(s0, _mm256_add_epi16(_mm256_unpacklo_epi8(la, ha), _mm256_unpacklo_epi8(lb, hb)));
          s1 = _mm256_add_epi16(s1, _mm256_add_epi16(_mm256_unpackhi_epi8(la, ha), _mm256_unpackhi_epi8(lb, hb)));
        }
        // s0: rows 0-7 over columns 0-15 (low lane) and 16-31 (high lane); s1: rows 8-15.
        const __m256i i0 = _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(s0)),
                                            _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s0, 1)));
        const __m256i i1 = _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(s1)),
                                            _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s1, 1)));
        const __m256 dx = _mm256_set1_ps(x.d[b]);
        acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(dx, _mm256_mul_ps(d0, _mm256_cvtepi32_ps(i0))));
        acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(dx, _mm256_mul_ps(d1, _mm256_cvtepi32_ps(i1))));
      }
    }
    float out[16];
    _mm256_storeu_ps(out, acc0);
    _mm256_storeu_ps(out + 8, acc1);
    for (int64_t r = 0; r < kRows && t * kRows + r < w.n; ++r) y[t * kRows + r] = out[r];
  }
}

}  // namespace lowbit::bench
