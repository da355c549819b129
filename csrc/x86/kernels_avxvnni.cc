// Kernel set 'avxvnni': AVX-VNNI (Alder Lake, Zen 5): the 256-bit kernels with VEX vpdpbusd.
// Compiled with its own -m flags and reached only through the dispatch table.
#ifdef LOWBIT_SIMDE
#define LOWBIT_NS avxvnni_simde
#else
#define LOWBIT_NS avxvnni
#endif
#define LOWBIT_VEC 256
#define LOWBIT_VNNI 1
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

extern const KernelTable kTable = {"avxvnni", quantize_act, gemm_i8, gemm_f32, sgemm, fwht, fma_peak, dot_peak, read,
                                   true, gemm_i8_packed, gemm_i8_kquant, f16_to_f32, f32_to_f16};

}  // namespace lowbit::LOWBIT_NS
