// The ggml types stored as blocks with headers (q2_k ... q6_k, q4_1, q5_0, q5_1, iq4_xs, tq1_0,
// tq2_0) to floats for the float path of matmul: formats/ggml_dequantize.h compiled with this set's
// flags (its loops vectorize to the set's width) and its binary16 conversion. The same floats as
// dequantize() (csrc/tests compares them bit for bit).
#include "kernel_set.h"

#include <cstdint>

#include "../formats/ggml_dequantize.h"
#include "half.h"

namespace lowbit::LOWBIT_NS {

void dequantize_blocks(Format f, const uint8_t* in, int64_t k, float* out) {
  ggml_dequant::row<half_to_float>(f, in, k, out);
}

}  // namespace lowbit::LOWBIT_NS
