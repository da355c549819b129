// The traits of every weight format, one row each: its name, what it allows and defaults to, the
// GGUF type whose blocks it is byte for byte, the kernels that multiply it once prepared, how its
// bytes are stored (block columns and bytes for ggml's types) and a table format's levels. The
// single table behind the API's names, quantize()'s option checks, QuantizedMatrix validation and
// formats(), from which the TypeScript side reads the GGUF mapping (lib/io/ggml-types.ts) and what
// `lowbit inspect` reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "float_formats.h"
#include "format_ids.h"

namespace lowbit {

// How a prepared matrix of the format is multiplied (formats()[i].kernel).
enum class KernelFamily : uint8_t {
  kPackedInt8,    // 16-row tiles of integer codes, int8 activations (int, q4_0, q8_0)
  kPackedTable,   // the same tiles, 4-bit codes through a 16-entry table (nf4, fp4s, iq4_nl)
  kPackedBlocks,  // the tiles keep ggml's block headers: two-level scales, mins (K-quants, ...)
  kFloatDecode,   // no integer form: dequantized in registers, fp32 FMA (fp8)
  kHalves,        // 16-bit floats kept as stored, rows converted as the fp32 GEMM reads them
};

inline const char* kernel_family_name(KernelFamily k) {
  switch (k) {
    case KernelFamily::kPackedInt8: return "packed int8";
    case KernelFamily::kPackedTable: return "packed int8, 16-level table";
    case KernelFamily::kPackedBlocks: return "packed int8, block scales";
    case KernelFamily::kFloatDecode: return "fp32, dequantized in registers";
    case KernelFamily::kHalves: return "sgemm on 16-bit rows";
  }
  return "?";
}

// How a format's bytes are laid out (core/layout.h says each in full).
enum class Storage : uint8_t {
  kCodes,        // lowbit's codes, row by row, the scales (and zero-points) in arrays of their own
  kGgmlBlocks,   // ggml blocks of an fp16 scale and 32 codes each readable on its own (q4_0, q8_0, iq4_nl)
  kSuperBlocks,  // ggml blocks that decode whole: two-level scales, mins, split high bits
  kHalves,       // 16-bit floats, no scales
};

// The API's name of a storage kind (FormatDescription.storage).
inline const char* storage_name(Storage s) {
  switch (s) {
    case Storage::kCodes: return "codes";
    case Storage::kGgmlBlocks: return "ggml blocks";
    case Storage::kSuperBlocks: return "ggml blocks, decoded whole";
    case Storage::kHalves: return "16-bit floats";
  }
  return "";
}

struct FormatInfo {
  Format format;
  const char* name;          // the API's name (QuantizeOptions.format)
  int bits;                  // bits per element; 0: options.bits (int)
  bool any_scheme;           // else symmetric only
  Granularity granularity;   // default
  bool any_granularity;      // else 'group' only
  int64_t group_size;        // default group length
  bool fixed_group;          // group_size is the only one allowed
  ScaleType scale_type;      // default
  bool float_scale_choice;   // 'float32' or 'float16' may be chosen; else scale_type only
  bool int8_activations;     // matmul can quantize x to int8 against these codes
  bool tensor_scale;         // an fp32 scale of the whole matrix multiplies every block scale
  const char* ggml_type;     // the GGUF tensor type stored byte for byte as this format, or nullptr
  KernelFamily kernel;
  Storage storage;
  int block_cols;            // ggml blocks: columns and bytes of one block (ggml-common.h's block_*); else 0
  int block_bytes;
  const char* description;
  // 4-bit table formats: the value of each code before its scale, and the integers the int8 path
  // multiplies instead, round(int8_per_unit * level) times a scale 1 / int8_per_unit: exact for E2M1
  // (2: the integers -12..12) and IQ4_NL (1); NF4's and bitsandbytes FP4's levels rounded to multiples
  // of 1/127 (127, as ggml's IQ4_NL does), which moves a weight by at most 0.4% of its block's absmax.
  const float* levels = nullptr;
  int int8_per_unit = 0;
};

// One row per Format, in the enum's order (checked below).
inline constexpr FormatInfo kFormatInfo[] = {
  {Format::kInt, "int", 0, true, Granularity::kGroup, true, 32, false, ScaleType::kF32, true, true,
   false, nullptr, KernelFamily::kPackedInt8, Storage::kCodes, 0, 0,
   "integer codes with a scale (and optional zero-point) per tensor, row, column or group"},
  {Format::kQ4_0, "q4_0", 4, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
   false, "Q4_0", KernelFamily::kPackedInt8, Storage::kGgmlBlocks, 32, 18,
   "ggml Q4_0 blocks: fp16 scale + 32 4-bit codes, byte-identical to GGUF"},
  {Format::kQ8_0, "q8_0", 8, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
   false, "Q8_0", KernelFamily::kPackedInt8, Storage::kGgmlBlocks, 32, 34,
   "ggml Q8_0 blocks: fp16 scale + 32 int8 codes, byte-identical to GGUF"},
  {Format::kNF4, "nf4", 4, false, Granularity::kGroup, true, 64, false, ScaleType::kF32, true, true,
   false, nullptr, KernelFamily::kPackedTable, Storage::kCodes, 0, 0,
   "bitsandbytes NormalFloat4: 16 normal-quantile levels times a block absmax", kNF4, 127},
  {Format::kFP8E4M3, "fp8_e4m3", 8, false, Granularity::kRow, true, 32, false, ScaleType::kF32, true, false,
   false, nullptr, KernelFamily::kFloatDecode, Storage::kCodes, 0, 0,
   "OCP FP8 E4M3FN (max 448) with a scale amax / 448"},
  {Format::kFP8E5M2, "fp8_e5m2", 8, false, Granularity::kRow, true, 32, false, ScaleType::kF32, true, false,
   false, nullptr, KernelFamily::kFloatDecode, Storage::kCodes, 0, 0,
   "OCP FP8 E5M2 (max 57344) with a scale amax / 57344"},
  {Format::kMXFP4, "mxfp4", 4, false, Granularity::kGroup, false, 32, true, ScaleType::kE8M0, false, true,
   false, nullptr, KernelFamily::kPackedTable, Storage::kCodes, 0, 0,
   "OCP MX FP4: E2M1 elements, blocks of 32 sharing a power-of-two E8M0 scale", kE2M1Levels.v, 2},
  {Format::kNVFP4, "nvfp4", 4, false, Granularity::kGroup, false, 16, true, ScaleType::kE4M3, false, true,
   true, nullptr, KernelFamily::kPackedTable, Storage::kCodes, 0, 0,
   "NVIDIA NVFP4: E2M1 elements, blocks of 16 with an E4M3 scale, times an fp32 tensor scale", kE2M1Levels.v, 2},
  {Format::kBnbFP4, "bnb_fp4", 4, false, Granularity::kGroup, true, 64, false, ScaleType::kF32, true, true,
   false, nullptr, KernelFamily::kPackedTable, Storage::kCodes, 0, 0,
   "bitsandbytes FP4: sign and 8 magnitudes {0, 0.0625, 2, 3, 4, 6, 8, 12} / 12 times a block absmax", kBnbFP4Levels.v, 127},
  {Format::kQ4_K, "q4_k", 4, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
   false, "Q4_K", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 256, 144,
   "ggml Q4_K super-blocks of 256: 4-bit codes, 6-bit scales and mins per 32 times fp16 d and dmin"},
  {Format::kQ5_K, "q5_k", 5, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
   false, "Q5_K", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 256, 176,
   "ggml Q5_K super-blocks of 256: 5-bit codes, 6-bit scales and mins per 32 times fp16 d and dmin"},
  {Format::kQ6_K, "q6_k", 6, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
   false, "Q6_K", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 256, 210,
   "ggml Q6_K super-blocks of 256: 6-bit codes, int8 scales per 16 times an fp16 d"},
  {Format::kQ4_1, "q4_1", 4, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
   false, "Q4_1", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 32, 20,
   "ggml Q4_1 blocks: fp16 scale d and min m + 32 4-bit codes u, value d * u + m"},
  {Format::kQ5_0, "q5_0", 5, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
   false, "Q5_0", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 32, 22,
   "ggml Q5_0 blocks: fp16 scale + 32 5-bit codes u, value d * (u - 16)"},
  {Format::kQ5_1, "q5_1", 5, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
   false, "Q5_1", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 32, 24,
   "ggml Q5_1 blocks: fp16 scale d and min m + 32 5-bit codes u, value d * u + m"},
  {Format::kIQ4_NL, "iq4_nl", 4, false, Granularity::kGroup, false, 32, true, ScaleType::kF16, false, true,
   false, "IQ4_NL", KernelFamily::kPackedTable, Storage::kGgmlBlocks, 32, 18,
   "ggml IQ4_NL blocks: fp16 scale + 32 4-bit indices into 16 non-uniform int8 levels", kIQ4NLLevels.v, 1},
  {Format::kIQ4_XS, "iq4_xs", 4, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
   false, "IQ4_XS", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 256, 136,
   "ggml IQ4_XS super-blocks of 256: IQ4_NL's levels, 6-bit scales per 32 times an fp16 d"},
  {Format::kQ2_K, "q2_k", 2, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
   false, "Q2_K", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 256, 84,
   "ggml Q2_K super-blocks of 256: 2-bit codes, 4-bit scales and mins per 16 times fp16 d and dmin"},
  {Format::kQ3_K, "q3_k", 3, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
   false, "Q3_K", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 256, 110,
   "ggml Q3_K super-blocks of 256: 3-bit codes, 6-bit scales per 16 times an fp16 d"},
  {Format::kF16, "f16", 16, false, Granularity::kTensor, false, 0, false, ScaleType::kF32, false, false,
   false, "F16", KernelFamily::kHalves, Storage::kHalves, 0, 0,
   "IEEE binary16 weights (float16, rounded to nearest-even), no scales: half of float32's bytes"},
  {Format::kBF16, "bf16", 16, false, Granularity::kTensor, false, 0, false, ScaleType::kF32, false, false,
   false, "BF16", KernelFamily::kHalves, Storage::kHalves, 0, 0,
   "bfloat16 weights (float32's top 16 bits, rounded to nearest-even), no scales"},
  {Format::kTQ1_0, "tq1_0", 2, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
   false, "TQ1_0", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 256, 54,
   "ggml TQ1_0 ternary super-blocks of 256: values -1, 0, 1 five to a byte times an fp16 absmax (1.6875 bits)"},
  {Format::kTQ2_0, "tq2_0", 2, false, Granularity::kGroup, false, 256, true, ScaleType::kF16, false, true,
   false, "TQ2_0", KernelFamily::kPackedBlocks, Storage::kSuperBlocks, 256, 66,
   "ggml TQ2_0 ternary super-blocks of 256: values -1, 0, 1 as 2-bit codes times an fp16 absmax (2.0625 bits)"},
};

constexpr bool rows_in_enum_order() {
  for (size_t i = 0; i < sizeof(kFormatInfo) / sizeof(kFormatInfo[0]); ++i)
    if (static_cast<size_t>(kFormatInfo[i].format) != i) return false;
  return sizeof(kFormatInfo) / sizeof(kFormatInfo[0]) == sizeof(kAllFormats) / sizeof(kAllFormats[0]);
}
static_assert(rows_in_enum_order(), "kFormatInfo has one row per Format, in the enum's order");

constexpr bool block_geometry_where_blocks() {
  for (const FormatInfo& fi : kFormatInfo) {
    const bool blocks = fi.storage == Storage::kGgmlBlocks || fi.storage == Storage::kSuperBlocks;
    if (blocks != (fi.block_cols > 0 && fi.block_bytes > 0) || (fi.block_cols % 32) != 0) return false;
  }
  return true;
}
static_assert(block_geometry_where_blocks(), "ggml block formats, and only they, have block columns (a multiple of 32) and bytes");

inline const FormatInfo& format_info(Format f) { return kFormatInfo[static_cast<int>(f)]; }

// The API's name of a format.
inline const char* format_name(Format f) { return format_info(f).name; }

// The names of the formats with a tensor scale, for messages: "'nvfp4'".
inline std::string tensor_scale_formats() {
  std::string out;
  for (const FormatInfo& fi : kFormatInfo) {
    if (!fi.tensor_scale) continue;
    out += (out.empty() ? "'" : ", '") + std::string(fi.name) + "'";
  }
  return out;
}

}  // namespace lowbit
