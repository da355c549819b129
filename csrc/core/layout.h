// Quantized-matrix layout: the plain-data contract shared by the quantizer,
// the kernels and the Node glue. No ISA-specific code may live in this header.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lowbit {

enum class Scheme : uint8_t { kSymmetric, kAsymmetric };
enum class Granularity : uint8_t { kTensor, kRow, kColumn, kGroup };

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

// Describes a row-major [rows, cols] matrix of `bits`-bit codes.
// 8-bit: one byte per value (int8 two's complement if symmetric, uint8 if
// asymmetric). 4-bit: two values per byte, even column in the low nibble,
// every row starting on a byte boundary; symmetric codes are stored as q + 8.
struct QuantLayout {
  int64_t rows = 0;
  int64_t cols = 0;
  int bits = 8;
  Scheme scheme = Scheme::kSymmetric;
  Granularity granularity = Granularity::kGroup;
  int64_t group_size = 0;  // only meaningful for kGroup

  int64_t row_bytes() const { return bits == 8 ? cols : (cols + 1) / 2; }
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
  int64_t byte_length() const { return data_bytes() + 4 * num_scales() + num_zeros(); }
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
struct QMatrixView {
  QuantLayout layout;
  const uint8_t* data = nullptr;
  const float* scales = nullptr;
  const uint8_t* zeros = nullptr;  // null for symmetric
};

}  // namespace lowbit
