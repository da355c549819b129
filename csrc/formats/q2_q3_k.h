// ggml's Q2_K and Q3_K super-blocks of 256 weights (ggml-common.h):
//   q2_k (84 bytes): scales[16] (4-bit scale | 4-bit min << 4 per 16 columns), qs[64], fp16 d, fp16 dmin;
//                    value d * sc * u - dmin * m, u 0..3.
//   q3_k (110 bytes): hmask[32], qs[64], scales[12] (16 6-bit scales), fp16 d;
//                    value d * (sc - 32) * (u - 4), u = low 2 bits | high bit << 2.
// Column c's 2 low bits sit in qs[32 * (c / 128) + c % 32] at bit 2 * ((c % 128) / 32); q3_k's high
// bit in hmask[c % 32] at bit c / 32. Quantizers: quantize_row_q2_K_ref, quantize_row_q3_K_ref.
#pragma once

#include <cstdint>

#include "ggml_types.h"

namespace lowbit {

void quantize_q2_k_block(const float* x, uint8_t* blk);
void quantize_q3_k_block(const float* x, uint8_t* blk);
void dequantize_q2_k_block(const uint8_t* blk, float* y);
void dequantize_q3_k_block(const uint8_t* blk, float* y);
void decode_q2_k_block(const uint8_t* blk, GgmlBlock* out);
void decode_q3_k_block(const uint8_t* blk, GgmlBlock* out);

}  // namespace lowbit
