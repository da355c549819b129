// One binary16 as a float32 through the target's __fp16 (every NEON kernel set has it): the scalar
// scale loads of a set's units (stored_scale, the ggml block dequantizers). Internal linkage.
#pragma once

#include "kernel_set.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {
namespace {

inline float half_to_float(uint16_t h) {
  __fp16 f;
  __builtin_memcpy(&f, &h, 2);
  return static_cast<float>(f);
}

}  // namespace
}  // namespace lowbit::LOWBIT_NS
