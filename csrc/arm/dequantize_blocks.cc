// The ggml types stored as blocks with headers (q2_k ... q6_k, q4_1, q5_0, q5_1, iq4_xs, tq1_0,
// tq2_0) to floats for the float path of matmul: formats/ggml_dequantize.h compiled with this set's
// flags (its loops vectorize to the set's width) and its binary16 conversion, and iq4_xs's table
// through a table lookup (tbl; the header's lookup per column has no vector form). The same floats as
// dequantize() (csrc/tests compares them bit for bit).
#include "kernel_set.h"

#include <cstdint>

#include "../formats/ggml_dequantize.h"
#include "half.h"

namespace lowbit::LOWBIT_NS {
namespace {

// 16 table entries (int8) to floats times dl: each an int8 widened and converted exactly, then one
// rounding of dl * level, as the header's dl * kIQ4NL[u].
inline void store_levels(int8x16_t levels, float dl, float* y) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(levels)), hi = vmovl_s8(vget_high_s8(levels));
  vst1q_f32(y, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), dl));
  vst1q_f32(y + 4, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo))), dl));
  vst1q_f32(y + 8, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), dl));
  vst1q_f32(y + 12, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi))), dl));
}

void iq4_xs_block(const uint8_t* blk, float* y) {
  const int8x16_t table = vld1q_s8(kIQ4NL);
  uint16_t dh;
  std::memcpy(&dh, blk, 2);
  const float d = half_to_float(dh);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const float dl = d * static_cast<float>(ggml_dequant::iq4_xs_scale(blk, ib) - 32);
    const uint8x16_t qs = vld1q_u8(blk + 8 + 16 * ib);
    store_levels(vqtbl1q_s8(table, vandq_u8(qs, vdupq_n_u8(0x0F))), dl, y);  // columns 0-15
    store_levels(vqtbl1q_s8(table, vshrq_n_u8(qs, 4)), dl, y + 16);          // 16-31
  }
}

}  // namespace

void dequantize_blocks(Format f, const uint8_t* in, int64_t k, float* out) {
  ggml_dequant::row<half_to_float, iq4_xs_block>(f, in, k, out);
}

}  // namespace lowbit::LOWBIT_NS
