// ggml's Q4_1, Q5_0 and Q5_1 blocks of 32 weights (ggml-common.h):
//   q4_1: fp16 d, fp16 m, qs[16]               value d * u + m, u 0..15
//   q5_0: fp16 d, qh[4], qs[16]                value d * (u - 16), u 0..31
//   q5_1: fp16 d, fp16 m, qh[4], qs[16]        value d * u + m, u 0..31
// Byte j of qs holds column j in its low and column j + 16 in its high nibble; bit j of the
// little-endian qh is column j's fifth bit. Quantizers: quantize_row_q{4_1,5_0,5_1}_ref.
#pragma once

#include <cstdint>

#include "ggml_types.h"

namespace lowbit {

void quantize_q4_1_block(const float* x, uint8_t* blk);
void quantize_q5_0_block(const float* x, uint8_t* blk);
void quantize_q5_1_block(const float* x, uint8_t* blk);
void dequantize_q4_1_block(const uint8_t* blk, float* y);
void dequantize_q5_0_block(const uint8_t* blk, float* y);
void dequantize_q5_1_block(const uint8_t* blk, float* y);
void decode_q4_1_block(const uint8_t* blk, GgmlBlock* out);
void decode_q5_0_block(const uint8_t* blk, GgmlBlock* out);
void decode_q5_1_block(const uint8_t* blk, GgmlBlock* out);

}  // namespace lowbit
