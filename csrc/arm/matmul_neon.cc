// neon kernels: matmul_neon_impl.inc compiled with this unit's -march flags.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <vector>

#include "../core/kernels.h"

#define LOWBIT_NEON_DOT 0
#define LOWBIT_NEON_MMLA 0

namespace lowbit::neon {
namespace {
#include "sgemm_panel_neon_impl.inc"
#include "matmul_neon_impl.inc"
#include "gemm_packed_neon_impl.inc"
#include "gemm_kquant_neon_impl.inc"
#include "convert_neon_impl.inc"
}  // namespace

extern const KernelTable kTable = {"neon", quantize_act, gemm_i8, gemm_f32, sgemm, fwht, fma_peak, dot_peak, read, true, gemm_i8_packed, gemm_i8_kquant, f16_to_f32, f32_to_f16};

}  // namespace lowbit::neon
