// What each weight format allows and defaults to: the single table behind
// quantize()'s option checks, QuantizedMatrix validation and formats().
#pragma once

#include <cstdint>

#include "layout.h"

namespace lowbit {

struct FormatInfo {
  Format format;
  int bits;                  // bits per element; 0: options.bits (int)
  bool any_scheme;           // else symmetric only
  Granularity granularity;   // default
  bool any_granularity;      // else 'group' only
  int64_t group_size;        // default group length
  bool fixed_group;          // group_size is the only one allowed
  ScaleType scale_type;      // default
  bool float_scale_choice;   // 'float32' or 'float16' may be chosen; else scale_type only
  bool int8_activations;     // matmul can quantize x to int8 against these codes
  const char* description;
};

inline const FormatInfo& format_info(Format f) {
  static const FormatInfo kInfo[] = {
      {Format::kInt, 0, true, Granularity::kGroup, true, 32, false, ScaleType::kF32, true, true,
       "integer codes with a scale (and optional zero-point) per tensor, row, column or group"},
      {Format::kQ4_0, 4, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
       "ggml Q4_0 blocks: fp16 scale + 32 4-bit codes, byte-identical to GGUF"},
      {Format::kQ8_0, 8, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
       "ggml Q8_0 blocks: fp16 scale + 32 int8 codes, byte-identical to GGUF"},
      {Format::kNF4, 4, false, Granularity::kGroup, true, 64, false, ScaleType::kF32, true, true,
       "bitsandbytes NormalFloat4: 16 normal-quantile levels times a block absmax"},
      {Format::kFP8E4M3, 8, false, Granularity::kRow, true, 32, false, ScaleType::kF32, true, false,
       "OCP FP8 E4M3FN (max 448) with a scale amax / 448"},
      {Format::kFP8E5M2, 8, false, Granularity::kRow, true, 32, false, ScaleType::kF32, true, false,
       "OCP FP8 E5M2 (max 57344) with a scale amax / 57344"},
      {Format::kMXFP4, 4, false, Granularity::kGroup, false, 32, true, ScaleType::kE8M0, false, true,
       "OCP MX FP4: E2M1 elements, blocks of 32 sharing a power-of-two E8M0 scale"},
      {Format::kNVFP4, 4, false, Granularity::kGroup, false, 16, true, ScaleType::kE4M3, false, true,
       "NVIDIA NVFP4: E2M1 elements, blocks of 16 with an E4M3 scale, times an fp32 tensor scale"},
      {Format::kBnbFP4, 4, false, Granularity::kGroup, true, 64, false, ScaleType::kF32, true, true,
       "bitsandbytes FP4: sign and 8 magnitudes {0, 0.0625, 2, 3, 4, 6, 8, 12} / 12 times a block absmax"},
      {Format::kQ4_K, 4, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
       "ggml Q4_K super-blocks of 256: 4-bit codes, 6-bit scales and mins per 32 times fp16 d and dmin"},
      {Format::kQ5_K, 5, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
       "ggml Q5_K super-blocks of 256: 5-bit codes, 6-bit scales and mins per 32 times fp16 d and dmin"},
      {Format::kQ6_K, 6, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
       "ggml Q6_K super-blocks of 256: 6-bit codes, int8 scales per 16 times an fp16 d"},
      {Format::kQ4_1, 4, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
       "ggml Q4_1 blocks: fp16 scale d and min m + 32 4-bit codes u, value d * u + m"},
      {Format::kQ5_0, 5, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
       "ggml Q5_0 blocks: fp16 scale + 32 5-bit codes u, value d * (u - 16)"},
      {Format::kQ5_1, 5, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
       "ggml Q5_1 blocks: fp16 scale d and min m + 32 5-bit codes u, value d * u + m"},
      {Format::kIQ4_NL, 4, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
       "ggml IQ4_NL blocks: fp16 scale + 32 4-bit indices into 16 non-uniform int8 levels"},
      {Format::kIQ4_XS, 4, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
       "ggml IQ4_XS super-blocks of 256: IQ4_NL's levels, 6-bit scales per 32 times an fp16 d"},
      {Format::kQ2_K, 2, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
       "ggml Q2_K super-blocks of 256: 2-bit codes, 4-bit scales and mins per 16 times fp16 d and dmin"},
      {Format::kQ3_K, 3, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
       "ggml Q3_K super-blocks of 256: 3-bit codes, 6-bit scales per 16 times an fp16 d"},
      {Format::kF16, 16, false, Granularity::kTensor, false, 0, false, ScaleType::kF32, false, false,
       "IEEE binary16 weights (float16, rounded to nearest-even), no scales: half of float32's bytes"},
      {Format::kBF16, 16, false, Granularity::kTensor, false, 0, false, ScaleType::kF32, false, false,
       "bfloat16 weights (float32's top 16 bits, rounded to nearest-even), no scales"},
      {Format::kTQ1_0, 2, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
       "ggml TQ1_0 ternary super-blocks of 256: values -1, 0, 1 five to a byte times an fp16 absmax (1.6875 bits)"},
      {Format::kTQ2_0, 2, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
       "ggml TQ2_0 ternary super-blocks of 256: values -1, 0, 1 as 2-bit codes times an fp16 absmax (2.0625 bits)"},
  };
  return kInfo[static_cast<int>(f)];
}

}  // namespace lowbit
