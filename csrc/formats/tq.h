// ggml's ternary types TQ1_0 and TQ2_0, super-blocks of 256 weights of value d * (u - 1), u in
// {0, 1, 2} (ggml-common.h):
//   tq2_0: qs[64], fp16 d                 (66 bytes, 2.0625 bits a weight)
//          bits 2l..2l+1 of byte 32j + m hold column 128j + 32l + m.
//   tq1_0: qs[48], qh[4], fp16 d          (54 bytes, 1.6875 bits a weight)
//          five trits a byte, the first most significant, stored as ceil(t * 256 / 243) for the
//          base-3 number t: byte m < 32 holds columns m + 32n (n = 0..4), byte 32 + m (m < 16)
//          columns 160 + m + 16n, qh byte j columns 240 + j + 4n (n = 0..3, a fifth trit 0).
// A trit is read as ((uint8)(byte * 3^n) * 3) >> 8. Quantizers: quantize_row_tq{1,2}_0_ref (d is
// the block's absmax, codes lroundf(x / d) + 1).
#pragma once

#include <cstdint>

#include "ggml_types.h"

namespace lowbit {

void quantize_tq1_0_block(const float* x, uint8_t* blk);
void quantize_tq2_0_block(const float* x, uint8_t* blk);
void dequantize_tq1_0_block(const uint8_t* blk, float* y);
void dequantize_tq2_0_block(const uint8_t* blk, float* y);
void decode_tq1_0_block(const uint8_t* blk, GgmlBlock* out);
void decode_tq2_0_block(const uint8_t* blk, GgmlBlock* out);

}  // namespace lowbit
