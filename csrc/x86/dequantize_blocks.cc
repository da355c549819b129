// The ggml types stored as blocks with headers (q2_k ... q6_k, q4_1, q5_0, q5_1, iq4_xs, tq1_0,
// tq2_0) to floats for the float path of matmul: formats/ggml_dequantize.h compiled with this set's
// flags (its loops vectorize to the set's width) and its binary16 conversion, and iq4_xs's table
// through a byte shuffle (the header's lookup per column has no vector form). The same floats as
// dequantize() (csrc/tests compares them bit for bit).
#include "kernel_set.h"

#include <cstdint>

#include "../formats/ggml_dequantize.h"
#include "half.h"

namespace lowbit::LOWBIT_NS {
namespace {

// 16 table entries (int8) to floats times dl: each an int8 widened and converted exactly, then one
// rounding of dl * level, as the header's dl * kIQ4NL[u].
inline void store_levels(__m128i levels, __m256 dl, float* y) {
  _mm256_storeu_ps(y, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(levels))));
  _mm256_storeu_ps(y + 8, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(levels, 8)))));
}

void iq4_xs_block(const uint8_t* blk, float* y) {
  const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4NL));
  uint16_t dh;
  std::memcpy(&dh, blk, 2);
  const float d = half_to_float(dh);
  const __m128i nib = _mm_set1_epi8(0x0F);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const __m256 dl = _mm256_set1_ps(d * static_cast<float>(ggml_dequant::iq4_xs_scale(blk, ib) - 32));
    const __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 8 + 16 * ib));
    store_levels(_mm_shuffle_epi8(table, _mm_and_si128(qs, nib)), dl, y);                          // columns 0-15
    store_levels(_mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(qs, 4), nib)), dl, y + 16);  // 16-31
  }
}

}  // namespace

void dequantize_blocks(Format f, const uint8_t* in, int64_t k, float* out) {
  ggml_dequant::row<half_to_float, iq4_xs_block>(f, in, k, out);
}

}  // namespace lowbit::LOWBIT_NS
