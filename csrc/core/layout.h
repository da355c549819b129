// Quantized-matrix layout: the plain-data contract shared by the quantizer,
// the kernels and the Node glue. No ISA-specific code may live in this header.
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats.h"

namespace lowbit {

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

  const FormatInfo& info() const { return format_info(format); }
  // ggml blocks of an fp16 scale and 32 codes, each code readable on its own (element_code).
  bool ggml_blocks() const { return info().storage == Storage::kGgmlBlocks; }
  // ggml blocks that decode whole (scales of two levels, mins, split high bits).
  bool super_blocks() const { return info().storage == Storage::kSuperBlocks; }
  // 4-bit codes of lowbit's own formats (not ggml's blocks), in nibble_slot's order.
  bool nibble_codes() const { return bits == 4 && info().storage == Storage::kCodes; }
  // int 2- and 3-bit codes: no plain SIMD kernels; multiplied packed (prepare, or per call) or by the
  // scalar kernels.
  bool bit_stream() const { return format == Format::kInt && bits < 4; }
  // 16-bit float weights: values, not codes, and no scales.
  bool float_halves() const { return info().storage == Storage::kHalves; }
  // Columns and bytes of one ggml block (ggml-common.h's block_* sizes).
  int64_t block_cols() const { return info().block_cols; }
  int64_t block_bytes() const { return info().block_bytes; }
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
  // Every byte: data, scales, zero-points and a tensor scale (4 bytes) where the format has one.
  int64_t byte_length() const {
    return data_bytes() + scale_type_bytes(scale_type) * stored_scales() + num_zeros() + (info().tensor_scale ? 4 : 0);
  }
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
