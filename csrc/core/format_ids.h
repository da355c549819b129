// The names a quantized matrix is described by: its format, scheme, granularity and scale type, and
// the API's names for them. The formats' traits are core/formats.h, a matrix's layout core/layout.h.
#pragma once

#include <cstdint>

namespace lowbit {

enum class Scheme : uint8_t { kSymmetric, kAsymmetric };
enum class Granularity : uint8_t { kTensor, kRow, kColumn, kGroup };
// kInt: integer codes with a scale (and zero-point) per tensor, row, column or group. The others are defined in lib/core/types.ts (QuantizeOptions.format).
enum class Format : uint8_t {
  kInt, kQ4_0, kQ8_0, kNF4, kFP8E4M3, kFP8E5M2, kMXFP4, kNVFP4, kBnbFP4, kQ4_K, kQ5_K, kQ6_K,
  kQ4_1, kQ5_0, kQ5_1, kIQ4_NL, kIQ4_XS, kQ2_K, kQ3_K, kF16, kBF16, kTQ1_0, kTQ2_0,
};
enum class ScaleType : uint8_t { kF32, kF16, kE8M0, kE4M3 };

constexpr Format kAllFormats[] = {Format::kInt,     Format::kQ4_0,    Format::kQ8_0,  Format::kNF4,   Format::kFP8E4M3,
                                  Format::kFP8E5M2, Format::kMXFP4, Format::kNVFP4, Format::kBnbFP4,
                                  Format::kQ4_K,    Format::kQ5_K,    Format::kQ6_K,  Format::kQ4_1,  Format::kQ5_0,
                                  Format::kQ5_1,    Format::kIQ4_NL,  Format::kIQ4_XS, Format::kQ2_K, Format::kQ3_K,
                                  Format::kF16,     Format::kBF16,    Format::kTQ1_0, Format::kTQ2_0};

// The API's names for them.
inline const char* scheme_name(Scheme s) { return s == Scheme::kSymmetric ? "symmetric" : "asymmetric"; }
inline const char* granularity_name(Granularity g) {
  switch (g) {
    case Granularity::kTensor: return "tensor";
    case Granularity::kRow: return "row";
    case Granularity::kColumn: return "column";
    case Granularity::kGroup: return "group";
  }
  return "?";
}
inline const char* scale_type_name(ScaleType t) {
  switch (t) {
    case ScaleType::kF32: return "float32";
    case ScaleType::kF16: return "float16";
    case ScaleType::kE8M0: return "e8m0";
    case ScaleType::kE4M3: return "e4m3";
  }
  return "?";
}
inline int scale_type_bytes(ScaleType t) { return t == ScaleType::kF32 ? 4 : t == ScaleType::kF16 ? 2 : 1; }

}  // namespace lowbit
