// ggml's IQ4_NL (32 weights: fp16 d, qs[16]) and IQ4_XS (256 weights: fp16 d, uint16 scales_h,
// scales_l[4], qs[128]) blocks: 4-bit indices into kIQ4NL's 16 int8 levels, byte j of each 32
// columns' 16 holding column j (low nibble) and j + 16 (high). IQ4_XS's 32-column block ib has
// the 6-bit scale ls = (scales_l nibble ib) | (scales_h bits 2ib, 2ib + 1) << 4, value
// d * (ls - 32) * kIQ4NL[u]. Quantizers: quantize_iq4_nl / quantize_iq4_xs with no importance
// matrix (what llama-quantize calls; quantize_row_iq4_nl_impl with ntry 7).
#pragma once

#include <cstdint>

#include "ggml_types.h"

namespace lowbit {

// One IQ4_NL block (18 bytes) of 32 weights; its codes dequantize as q4_0's do (qmatrix.h).
void quantize_iq4_nl_block(const float* x, uint8_t* blk);
void quantize_iq4_xs_block(const float* x, uint8_t* blk);
void dequantize_iq4_xs_block(const uint8_t* blk, float* y);
void decode_iq4_xs_block(const uint8_t* blk, GgmlBlock* out);

}  // namespace lowbit
