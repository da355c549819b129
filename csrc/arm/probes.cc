// Machine-limit probes of a NEON kernel set (kernel_set.h): the table's fma_peak, dot_peak and read.
#include "kernel_set.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {

double fma_peak(int64_t iters) {
  float32x4_t a[16];
  for (int i = 0; i < 16; ++i) a[i] = vdupq_n_f32(static_cast<float>(i));
  const float32x4_t m = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 16; ++i) a[i] = vfmaq_f32(c, a[i], m);
  float32x4_t s = a[0];
  for (int i = 1; i < 16; ++i) s = vaddq_f32(s, a[i]);
  volatile float sink = vaddvq_f32(s);
  (void)sink;
  return 16.0 * 8.0 * static_cast<double>(iters);
}

// The kernels' int8 block sequence: 2 x 16 multiply-adds per dot32.
double dot_peak(int64_t iters) {
  int32x4_t acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = vdupq_n_s32(0);
  const int8x16_t a = vdupq_n_s8(3), b = vdupq_n_s8(-5);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 8; ++i) acc[i] = vaddq_s32(acc[i], dot32(a, b, b, a));
#if defined(__GNUC__)
    // Keeps the compiler from hoisting the loop-invariant products out of the loop.
    __asm__ volatile("" : "+w"(acc[0]), "+w"(acc[1]), "+w"(acc[2]), "+w"(acc[3]));
#endif
  }
  int32x4_t s = acc[0];
  for (int i = 1; i < 8; ++i) s = vaddq_s32(s, acc[i]);
  volatile int sink = vaddvq_s32(s);
  (void)sink;
  return 8.0 * 64.0 * static_cast<double>(iters);
}

// Four concurrent streams and eight accumulators (see the x86 version).
float read(const float* p, int64_t n) {
  float32x4_t s[8];
  for (int l = 0; l < 8; ++l) s[l] = vdupq_n_f32(0.0f);
  const int64_t q = n / 4 / 8 * 8;
  const float* st[4] = {p, p + q, p + 2 * q, p + 3 * q};
  for (int64_t i = 0; i < q; i += 8) {
    for (int r = 0; r < 4; ++r) {
      s[2 * r] = vaddq_f32(s[2 * r], vld1q_f32(st[r] + i));
      s[2 * r + 1] = vaddq_f32(s[2 * r + 1], vld1q_f32(st[r] + i + 4));
    }
  }
  for (int l = 1; l < 8; ++l) s[0] = vaddq_f32(s[0], s[l]);
  float t = vaddvq_f32(s[0]);
  for (int64_t i = 4 * q; i < n; ++i) t += p[i];
  return t;
}

}  // namespace lowbit::LOWBIT_NS
