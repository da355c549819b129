// One binary16 as a float32 through F16C (every x86 kernel set has it): the scalar scale loads of a
// set's units (stored_scale, the float leaves, the ggml block dequantizers). Internal linkage.
#pragma once

#include "kernel_set.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {
namespace {

inline float half_to_float(uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

}  // namespace
}  // namespace lowbit::LOWBIT_NS
