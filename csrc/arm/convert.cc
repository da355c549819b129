// fp16 <-> fp32 rows with AdvSIMD's FCVTL / FCVTN (ARMv8-A; FCVTN rounds as FPCR says: nearest even
// by default). Tails go through a zero-padded vector, so no scalar conversion is compiled here.
#include "kernel_set.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace lowbit::LOWBIT_NS {

void f16_to_f32(const uint16_t* h, float* f, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float16x8_t v = vreinterpretq_f16_u16(vld1q_u16(h + i));
    vst1q_f32(f + i, vcvt_f32_f16(vget_low_f16(v)));
    vst1q_f32(f + i + 4, vcvt_high_f32_f16(v));
  }
  for (; i < n; i += 4) {
    const int64_t r = std::min<int64_t>(4, n - i);
    uint16_t hb[4] = {0, 0, 0, 0};
    float fb[4];
    std::memcpy(hb, h + i, static_cast<size_t>(r) * 2);
    vst1q_f32(fb, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(hb))));
    std::memcpy(f + i, fb, static_cast<size_t>(r) * 4);
  }
}

void f32_to_f16(const float* f, uint16_t* h, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_u16(h + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(f + i))));
  if (i < n) {
    const int64_t r = n - i;
    float fb[4] = {0, 0, 0, 0};
    uint16_t hb[4];
    std::memcpy(fb, f + i, static_cast<size_t>(r) * 4);
    vst1_u16(hb, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(fb))));
    std::memcpy(h + i, hb, static_cast<size_t>(r) * 2);
  }
}

}  // namespace lowbit::LOWBIT_NS
