// ggml's IQ4_NL / IQ4_XS levels (kvalues_iq4nl): a 4-bit code u means kIQ4NL[u] times the block scale.
// Data only, so kernel-set units (formats/ggml_dequantize.h) may include it.
#pragma once

#include <cstdint>

namespace lowbit {

inline constexpr int8_t kIQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

}  // namespace lowbit
