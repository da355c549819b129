// Kernel set 'avx2': AVX2 + FMA + F16C (Haswell, Zen 1 and later): vpmaddubsw + vpmaddwd.
// Compiled with its own -m flags and reached only through the dispatch table.
#ifdef LOWBIT_SIMDE
#define LOWBIT_NS avx2_simde
#else
#define LOWBIT_NS avx2
#endif
#define LOWBIT_VEC 256
#define LOWBIT_VNNI 0
#include "simd_include.inc"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/kernels.h"

namespace lowbit::LOWBIT_NS {

#include "sgemm_panel_impl.inc"
#include "plain_kernels_impl.inc"
#include "gemm_packed_impl.inc"
#include "gemm_kquant_impl.inc"
#include "probes_impl.inc"
#include "convert_impl.inc"

extern const KernelTable kTable = {"avx2", quantize_act, gemm_i8, gemm_f32, sgemm, fwht, fma_peak, dot_peak, read,
                                   true, gemm_i8_packed, gemm_i8_kquant, f16_to_f32, f32_to_f16};

}  // namespace lowbit::LOWBIT_NS
