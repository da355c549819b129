// Scalar helpers to read one weight code and its scale; shared by the scalar
// reference kernels and by the SIMD kernels' tails. Plain C++ only.
#pragma once

#include "kernels.h"

namespace lowbit {

inline int weight_raw(const WeightArgs& w, int64_t j, int64_t c) {
  const uint8_t* row = w.data + j * w.row_bytes;
  switch (w.code) {
    case WCode::kU4: return (c & 1) ? row[c >> 1] >> 4 : row[c >> 1] & 0xF;
    case WCode::kS8: return static_cast<int8_t>(row[c]);
    case WCode::kU8: return row[c];
  }
  return 0;
}

inline int64_t weight_scale_index(const WeightArgs& w, int64_t j, int64_t c) {
  return j * w.scale_stride + c / w.group;
}

inline int weight_bias(const WeightArgs& w, int64_t idx) { return w.zeros ? w.zeros[idx] : w.bias; }

}  // namespace lowbit
