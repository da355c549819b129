// fp16 <-> fp32 rows with F16C (every x86 set has it: avx2 is the floor). Tails go through a
// zero-padded vector, so no scalar conversion (a header inline) is compiled under this unit's flags.
#include "kernel_set.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace lowbit::LOWBIT_NS {

void f16_to_f32(const uint16_t* h, float* f, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_ps(f + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
    _mm256_storeu_ps(f + i + 8, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i + 8))));
  }
  for (; i < n; i += 8) {
    const int64_t r = std::min<int64_t>(8, n - i);
    alignas(32) uint16_t hb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    alignas(32) float fb[8];
    std::memcpy(hb, h + i, static_cast<size_t>(r) * 2);
    _mm256_store_ps(fb, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(hb))));
    std::memcpy(f + i, fb, static_cast<size_t>(r) * 4);
  }
}

void f32_to_f16(const float* f, uint16_t* h, int64_t n) {
  constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(f + i), kNearest));
  }
  if (i < n) {
    const int64_t r = n - i;
    alignas(32) float fb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    alignas(32) uint16_t hb[8];
    std::memcpy(fb, f + i, static_cast<size_t>(r) * 4);
    _mm_store_si128(reinterpret_cast<__m128i*>(hb), _mm256_cvtps_ph(_mm256_load_ps(fb), kNearest));
    std::memcpy(h + i, hb, static_cast<size_t>(r) * 2);
  }
}

}  // namespace lowbit::LOWBIT_NS
