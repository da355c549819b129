// Which NEON kernel set a translation unit of csrc/arm is compiled for, and what every set exports.
// Each set is a static library of the same sources (binding.gyp: lowbit_arm_<set>) compiled with its
// own -march flags and one define, LOWBIT_SET_<NAME>, that this header turns into the set's namespace
// (LOWBIT_NS) and instruction choices:
//   LOWBIT_NEON_DOT  0: vmull/vpadal pairs, 1: vdotq_s32 (sdot)
//   LOWBIT_NEON_MMLA 1: vmmlaq_s32 (smmla) for 2x2 (x rows x weight rows) tiles
// Everything a set compiles lives in lowbit::LOWBIT_NS, so no copy built for a newer ISA can be merged
// by the linker into code for an older CPU; the dispatch table (kernel_table.cc) is the only way in.
// The files and their entries have the names of csrc/x86's (kernel_set.h there).
#pragma once

#if defined(LOWBIT_SET_NEON)
// neon: ARMv8-A AdvSIMD, every 64-bit ARM CPU.
#define LOWBIT_SET_NAME "neon"
#define LOWBIT_NS neon
#define LOWBIT_NEON_DOT 0
#define LOWBIT_NEON_MMLA 0
#elif defined(LOWBIT_SET_NEON_DOTPROD)
// neon-dotprod: ARMv8.2-A with the dot product extension (sdot).
#define LOWBIT_SET_NAME "neon-dotprod"
#define LOWBIT_NS neon_dotprod
#define LOWBIT_NEON_DOT 1
#define LOWBIT_NEON_MMLA 0
#elif defined(LOWBIT_SET_NEON_I8MM)
// neon-i8mm: ARMv8.2-A with dot product and int8 matrix multiply (smmla).
#define LOWBIT_SET_NAME "neon-i8mm"
#define LOWBIT_NS neon_i8mm
#define LOWBIT_NEON_DOT 1
#define LOWBIT_NEON_MMLA 1
#else
#error "csrc/arm is compiled once per kernel set: define one of LOWBIT_SET_NEON, LOWBIT_SET_NEON_DOTPROD, LOWBIT_SET_NEON_I8MM (binding.gyp)"
#endif

#include <arm_neon.h>

#include "../core/kernels.h"

namespace lowbit::LOWBIT_NS {

// The set's entries of KernelTable (core/kernels.h states each contract), one source file per family:
// quantize_act, gemm_i8, gemm_f32, sgemm, fwht: plain_kernels.cc; gemm_i8_packed: gemm_packed.cc;
// gemm_i8_kquant: gemm_kquant.cc; fma_peak, dot_peak, read: probes.cc; f16_to_f32, f32_to_f16: convert.cc;
// dequantize_blocks: dequantize_blocks.cc.
LOWBIT_KERNEL_ENTRIES(LOWBIT_KERNEL_DECLARE)

// gemm_i8_packed for the ggml codes with block headers (PackedArgs::kquant()):
// gemm_packed_kquant.cc.
std::remove_pointer_t<GemmI8PackedFn> gemm_i8_packed_block_headers;

namespace {

// The exact integer sum over one 32-block: w0 . x0 + w1 . x1, in 4 lane partials.
inline int32x4_t dot32(int8x16_t w0, int8x16_t x0, int8x16_t w1, int8x16_t x1) {
#if LOWBIT_NEON_DOT
  return vdotq_s32(vdotq_s32(vdupq_n_s32(0), w0, x0), w1, x1);
#else
  // |w * x| <= 128 * 127, so two products fit an int16 lane.
  const int16x8_t a = vmlal_s8(vmull_s8(vget_low_s8(w0), vget_low_s8(x0)), vget_low_s8(w1), vget_low_s8(x1));
  const int16x8_t b = vmlal_high_s8(vmull_high_s8(w0, x0), w1, x1);
  return vpaddq_s32(vpaddlq_s16(a), vpaddlq_s16(b));
#endif
}

// The same sum with w0 . x0 in lanes 0-1 and w1 . x1 in lanes 2-3: with 4-bit weights the
// block's first and last 16 columns, so group-16 scales can be applied per lane.
inline int32x4_t dot32_halves(int8x16_t w0, int8x16_t x0, int8x16_t w1, int8x16_t x1) {
#if LOWBIT_NEON_DOT
  return vpaddq_s32(vdotq_s32(vdupq_n_s32(0), w0, x0), vdotq_s32(vdupq_n_s32(0), w1, x1));
#else
  // |w * x| <= 128 * 127, so two products fit an int16 lane.
  const int16x8_t a = vmlal_high_s8(vmull_s8(vget_low_s8(w0), vget_low_s8(x0)), w0, x0);
  const int16x8_t b = vmlal_high_s8(vmull_s8(vget_low_s8(w1), vget_low_s8(x1)), w1, x1);
  return vpaddq_s32(vpaddlq_s16(a), vpaddlq_s16(b));
#endif
}

}  // namespace
}  // namespace lowbit::LOWBIT_NS
