// A quantized matrix in buffers of its own (codes, scales, zero-points) and its view:
// for native code that quantizes into memory it owns (calibration, the native tests and bench).
#pragma once

#include <cstdint>
#include <vector>

#include "layout.h"

namespace lowbit {

struct QuantizedBuffers {
  QuantLayout L;
  std::vector<uint8_t> data, zeros, scales;
  float tensor_scale = 1.0f;

  QuantizedBuffers() = default;
  // Sized for L (scales one byte longer, so an empty table still has an address).
  explicit QuantizedBuffers(const QuantLayout& layout)
      : L(layout),
        data(static_cast<size_t>(layout.data_bytes())),
        zeros(static_cast<size_t>(layout.num_zeros())),
        scales(static_cast<size_t>(layout.stored_scales() * scale_type_bytes(layout.scale_type)) + 1) {}

  QMatrixView view() const {
    QMatrixView v;
    v.layout = L;
    v.data = data.data();
    v.scales = scales.data();
    v.zeros = zeros.empty() ? nullptr : zeros.data();
    v.tensor_scale = tensor_scale;
    return v;
  }
};

}  // namespace lowbit
