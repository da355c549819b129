// One stored scale of a QuantizedMatrix (WeightArgs), decoded for the kernels on its own layout:
// float32 as stored, fp16 through the kernel set's converter (one instruction where the set has
// one: F16C, NEON's fcvt), E8M0 and E4M3 through the driver's 256-entry table (scale_lut).
// Internal linkage, so each set's copy keeps its flags.
#pragma once

#include <cstdint>

#include "../core/kernels.h"

namespace lowbit {
namespace {

template <SType S, float (*HalfToFloat)(uint16_t)>
inline float stored_scale(const WeightArgs& w, const uint8_t* p) {
  if (S == SType::kF32) {
    float f;
    __builtin_memcpy(&f, p, 4);
    return f;
  }
  if (S == SType::kF16) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    return HalfToFloat(h);
  }
  return w.scale_lut[*p];
}

}  // namespace
}  // namespace lowbit
