// Which x86 kernel set a translation unit of csrc/x86 is compiled for, and what every set exports.
// Each set is a static library of the same sources (binding.gyp: lowbit_x86_<set>) compiled with its
// own -m flags and one define, LOWBIT_SET_<NAME>, that this header turns into the set's namespace
// (LOWBIT_NS), vector width (LOWBIT_VEC: 256 or 512) and int8 dot product (LOWBIT_VNNI: vpdpbusd, or
// vpmaddubsw + vpmaddwd). Everything a set compiles lives in lowbit::LOWBIT_NS, so no copy built for a
// newer ISA can be merged by the linker into code for an older CPU; the dispatch table (kernel_table.cc)
// is the only way in. The native test program also builds each set against SIMDe (LOWBIT_SIMDE) in
// lowbit::<set>_simde, so sets this CPU lacks are still tested.
#pragma once

#if defined(LOWBIT_SET_AVX2)
// avx2: AVX2 + FMA + F16C (Haswell, Zen 1 and later): vpmaddubsw + vpmaddwd.
#define LOWBIT_SET_NAME "avx2"
#define LOWBIT_VEC 256
#define LOWBIT_VNNI 0
#ifdef LOWBIT_SIMDE
#define LOWBIT_NS avx2_simde
#else
#define LOWBIT_NS avx2
#endif
#elif defined(LOWBIT_SET_AVXVNNI)
// avxvnni: AVX-VNNI (Alder Lake, Zen 5): the 256-bit kernels with VEX vpdpbusd.
#define LOWBIT_SET_NAME "avxvnni"
#define LOWBIT_VEC 256
#define LOWBIT_VNNI 1
#ifdef LOWBIT_SIMDE
#define LOWBIT_NS avxvnni_simde
#else
#define LOWBIT_NS avxvnni
#endif
#elif defined(LOWBIT_SET_AVX512)
// avx512: AVX-512 F/BW/VL/DQ (Skylake-SP): 512-bit packed kernels with vpmaddubsw + vpmaddwd.
#define LOWBIT_SET_NAME "avx512"
#define LOWBIT_VEC 512
#define LOWBIT_VNNI 0
#ifdef LOWBIT_SIMDE
#define LOWBIT_NS avx512_simde
#else
#define LOWBIT_NS avx512
#endif
#elif defined(LOWBIT_SET_AVX512VNNI)
// avx512vnni: AVX-512 VNNI (Cascade Lake, Ice Lake, Zen 4/5): 512-bit packed kernels with vpdpbusd.
#define LOWBIT_SET_NAME "avx512vnni"
#define LOWBIT_VEC 512
#define LOWBIT_VNNI 1
#ifdef LOWBIT_SIMDE
#define LOWBIT_NS avx512vnni_simde
#else
#define LOWBIT_NS avx512vnni
#endif
#else
#error "csrc/x86 is compiled once per kernel set: define one of LOWBIT_SET_AVX2, LOWBIT_SET_AVXVNNI, LOWBIT_SET_AVX512, LOWBIT_SET_AVX512VNNI (binding.gyp)"
#endif

#include "simd.h"

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

}  // namespace lowbit::LOWBIT_NS
