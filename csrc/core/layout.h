// Quantized-matrix layout: the plain-data contract shared by the quantizer,
// the kernels and the Node glue. No ISA-specific code may live in this header.
#pragma once

#include <cstddef>
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

// The version of the byte layout below that QuantizedMatrix objects carry (`layout`). Version 1 (objects
// without the field, made before 2026-12-06) held 4-bit codes interleaved: column c in byte c / 2, the
// low nibble when c is even. Other formats are the same in both.
constexpr int kLayoutVersion = 2;

// Describes a row-major [rows, cols] matrix of `bits`-bit codes.
// 8-bit: one byte per value (int: int8 two's complement if symmetric, uint8 if
// asymmetric; fp8: the float's bits). 4-bit: each row blocks of 32 columns (the
// last one w = cols % 32 wide when shorter) of ceil(w / 2) bytes, byte j holding
// the block's column j in its low nibble and column j + ceil(w / 2) in its high one
// (q4_0's order; qmatrix.h nibble_slot), every row starting on a byte boundary;
// symmetric int codes are stored as q + 8. int 2- and 3-bit: each row a little-endian bit stream, column c in bits
// [bits * c, bits * (c + 1)) (2-bit: bits 2 (c % 4) of byte c / 4, as onnxruntime's MatMulNBits
// packs them), every row starting on a byte boundary; symmetric codes stored as q + 2^(bits - 1). q4_0 / q8_0: ggml's blocks of 32 (an fp16 scale, then
// the codes; q4_0 holds element j in the low and j + 16 in the high nibble of
// byte j), back to back, row by row; their scales live only in `data`. iq4_nl: q4_0's
// bytes with a table's codes. The other ggml types (q4_k, q5_k, q6_k, q2_k, q3_k, iq4_xs: 256
// columns a block, as are tq1_0 and tq2_0; q4_1, q5_0, q5_1: 32) are whole blocks decoded at once (formats/ggml_types.h),
// likewise only in `data`. f16 / bf16: 16-bit floats (IEEE binary16 / bfloat16), two little-endian
// bytes per value, row by row, no scales.
struct QuantLayout {
  int64_t rows = 0;
  int64_t cols = 0;
  int bits = 8;
  Scheme scheme = Scheme::kSymmetric;
  Granularity granularity = Granularity::kGroup;
  int64_t group_size = 0;  // only meaningful for kGroup
  Format format = Format::kInt;
  ScaleType scale_type = ScaleType::kF32;

  // ggml blocks of an fp16 scale and 32 codes, each code readable on its own (element_code).
  bool ggml_blocks() const { return format == Format::kQ4_0 || format == Format::kQ8_0 || format == Format::kIQ4_NL; }
  // ggml blocks that decode whole (scales of two levels, mins, split high bits).
  bool super_blocks() const {
    switch (format) {
      case Format::kQ4_K: case Format::kQ5_K: case Format::kQ6_K: case Format::kQ2_K: case Format::kQ3_K:
      case Format::kIQ4_XS: case Format::kQ4_1: case Format::kQ5_0: case Format::kQ5_1: case Format::kTQ1_0:
      case Format::kTQ2_0: return true;
      default: return false;
    }
  }
  // 4-bit codes of lowbit's own formats (not ggml's blocks), in nibble_slot's order.
  bool nibble_codes() const { return bits == 4 && !ggml_blocks() && !super_blocks(); }
  // int 2- and 3-bit codes: no plain SIMD kernels; multiplied packed (prepare, or per call) or by the
  // scalar kernels.
  bool bit_stream() const { return format == Format::kInt && bits < 4; }
  // 16-bit float weights: values, not codes, and no scales.
  bool float_halves() const { return format == Format::kF16 || format == Format::kBF16; }
  // Columns of one ggml block: 256 for the K-quants, iq4_xs and the ternary types, else 32.
  int64_t block_cols() const {
    switch (format) {
      case Format::kQ4_K: case Format::kQ5_K: case Format::kQ6_K: case Format::kQ2_K: case Format::kQ3_K:
      case Format::kIQ4_XS: case Format::kTQ1_0: case Format::kTQ2_0: return 256;
      default: return 32;
    }
  }
  // Bytes of one ggml block (ggml-common.h's block_* sizes).
  int64_t block_bytes() const {
    switch (format) {
      case Format::kQ4_0: case Format::kIQ4_NL: return 18;
      case Format::kQ4_1: return 20;
      case Format::kTQ1_0: return 54;
      case Format::kTQ2_0: return 66;
      case Format::kQ5_0: return 22;
      case Format::kQ5_1: return 24;
      case Format::kQ2_K: return 84;
      case Format::kQ3_K: return 110;
      case Format::kIQ4_XS: return 136;
      case Format::kQ4_K: return 144;
      case Format::kQ5_K: return 176;
      case Format::kQ6_K: return 210;
      default: return 34;
    }
  }
  int64_t row_bytes() const {
    if (ggml_blocks() || super_blocks()) return cols / block_cols() * block_bytes();
    if (float_halves()) return cols * 2;
    return (cols * bits + 7) / 8;
  }
  int64_t data_bytes() const { return rows * row_bytes(); }
  // Scales per row of the scale table (group: cols / group_size).
  int64_t groups_per_row() const { return granularity == Granularity::kGroup ? cols / group_size : 1; }
  int64_t num_scales() const {
    switch (granularity) {
      case Granularity::kTensor: return 1;
      case Granularity::kRow: return rows;
      case Granularity::kColumn: return cols;
      case Granularity::kGroup: return rows * groups_per_row();
    }
    return 0;
  }
  int64_t num_zeros() const { return scheme == Scheme::kAsymmetric ? num_scales() : 0; }
  // Entries of the separate `scales` array (ggml blocks carry theirs inside `data`).
  int64_t stored_scales() const { return ggml_blocks() || super_blocks() || float_halves() ? 0 : num_scales(); }
  int qmax() const { return scheme == Scheme::kSymmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1; }
  int qmin() const { return scheme == Scheme::kSymmetric ? -(1 << (bits - 1)) : 0; }
  // Elements that share one scale along a row: group_size, the whole row, or 1.
  int64_t scale_span() const {
    switch (granularity) {
      case Granularity::kGroup: return group_size;
      case Granularity::kColumn: return 1;
      default: return cols;
    }
  }
  // Index of the scale of element (r, c).
  int64_t scale_index(int64_t r, int64_t c) const {
    switch (granularity) {
      case Granularity::kTensor: return 0;
      case Granularity::kRow: return r;
      case Granularity::kColumn: return c;
      case Granularity::kGroup: return r * groups_per_row() + c / group_size;
    }
    return 0;
  }
};

// Read-only view of a quantized matrix's buffers (validated by the caller).
// `scales` points at stored_scales() entries of layout.scale_type.
struct QMatrixView {
  QuantLayout layout;
  const uint8_t* data = nullptr;
  const void* scales = nullptr;
  const uint8_t* zeros = nullptr;  // null for symmetric
  float tensor_scale = 1.0f;       // the formats with a tensor scale (core/formats.h): its value; else 1
};

}  // namespace lowbit
