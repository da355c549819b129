// Scalar access to the weights a kernel sees (WeightArgs): the scalar reference
// kernels' definition of every code and scale. Baseline code only.
#pragma once

#include "float_formats.h"
#include "kernels.h"
#include "qmatrix.h"

namespace lowbit {

inline int weight_code(const WeightArgs& w, int64_t j, int64_t c) {
  const uint8_t* blk = w.data + j * w.row_bytes + (c / 32) * w.block_bytes;
  const int64_t i = c % 32;
  if (w.code == WCode::kU2 || w.code == WCode::kU3) return bit_stream_code(blk, w.code == WCode::kU2 ? 2 : 3, i);
  // Whole blocks of 16 bytes after any block header (ggml's), the last one possibly shorter.
  if (w.code == WCode::kU4 || w.code == WCode::kLut4) return nibble_code(blk, w.k - (c - i), i);
  return blk[i];
}

inline int weight_bias(const WeightArgs& w, int64_t j, int64_t c) {
  return w.zeros ? w.zeros[j * w.zero_stride + c / w.group] : w.bias;
}

// The integer the int8 path multiplies by.
inline int weight_int(const WeightArgs& w, int64_t j, int64_t c) {
  const int code = weight_code(w, j, c);
  switch (w.code) {
    case WCode::kS8: return static_cast<int8_t>(code);
    case WCode::kLut4: return w.lut_i8[code];
    default: return code - weight_bias(w, j, c);
  }
}

// The value the float path multiplies by the scale.
inline float weight_value(const WeightArgs& w, int64_t j, int64_t c) {
  const int code = weight_code(w, j, c);
  switch (w.code) {
    case WCode::kLut4: return w.lut_f32[code];
    case WCode::kE4M3: return fp8_to_fp32(static_cast<uint8_t>(code), kE4M3);
    case WCode::kE5M2: return fp8_to_fp32(static_cast<uint8_t>(code), kE5M2);
    default: return static_cast<float>(weight_int(w, j, c));
  }
}

// The stored scale of (row j, column c), decoded (before scale_mul / scale_mul_i8).
inline float weight_stored_scale(const WeightArgs& w, int64_t j, int64_t c) {
  // SType mirrors the layout's ScaleType (asserted in matmul.cc).
  return decode_scale(static_cast<ScaleType>(w.stype),
                      w.scales + j * w.scale_row_bytes + (c / w.group) * w.scale_group_bytes);
}

}  // namespace lowbit
