// The ggml types whose blocks decode whole (LayoutInfo::super_blocks(): the K-quants, iq4_xs,
// q4_1, q5_0, q5_1, tq1_0, tq2_0): one table of their block traits, and the row functions every caller uses
// (the quantizer, the dequantizer, the packer, the scalar kernels, file validation). Blocks are
// byte-identical to GGUF's; the quantizers are ggml's reference ones (what llama-quantize writes
// without an importance matrix). Baseline code only.
#pragma once

#include <cstdint>

#include "../core/kernels.h"
#include "../core/layout.h"

namespace lowbit {

// One block's codes and scales as integers, in column order:
//   q4_k / q5_k: q 0..15 / 0..31; sc[8], m[8] the 6-bit scale and min of each 32 columns.
//   q6_k:        q 0..63 (value q - 32); sc[16] the int8 scale of each 16 columns.
//   q3_k:        q 0..7 (value q - 4); sc[16] each 16 columns' 6-bit scale minus 32.
//   q2_k:        q 0..3; sc[16], m[16] each 16 columns' 4-bit scale and min.
//   iq4_xs:      q 0..15 (value kIQ4NL[q]); sc[8] each 32 columns' 6-bit scale minus 32.
//   q4_1 / q5_1: 32 columns, q 0..15 / 0..31 (value d * q + dmin: dmin holds ggml's m).
//   q5_0:        32 columns, q 0..31 (value q - 16).
//   tq1_0 / tq2_0: q 0..2 (tq2_0's codes may hold 3 in a file not written by ggml; value q - 1).
// d and dmin are the block's fp16 scales (dmin 0 where there is none), d_bits / dmin_bits their bits.
// ggml_decode_block writes the fields its format has: q over the block's columns, sc and m as listed.
struct GgmlBlock {
  uint8_t q[256];
  int sc[16];
  int m[16];
  float d, dmin;
  uint16_t d_bits, dmin_bits;
};

// Its columns and bytes are the format's traits row (core/formats.h).
struct GgmlBlockType {
  Format format;
  int d_offset;         // byte offset of the fp16 d
  int dmin_offset;      // of the fp16 dmin (or q4_1 / q5_1's m); -1 where there is none
  PCode pcode;          // its packed tiles (kernels.h)
  void (*quantize)(const float* x, uint8_t* blk);
  void (*dequantize)(const uint8_t* blk, float* y);
  void (*decode)(const uint8_t* blk, GgmlBlock* out);
};

// The traits of a super_blocks() format.
const GgmlBlockType& ggml_block_type(Format f);

// One row of k weights (k a multiple of the block's columns) into k / cols blocks at `out`.
void ggml_quantize_row(Format f, const float* x, int64_t k, uint8_t* out);
// k / cols blocks at `in` into k floats, as ggml's dequantize_row_* computes them.
void ggml_dequantize_row(Format f, const uint8_t* in, int64_t k, float* out);
void ggml_decode_block(Format f, const uint8_t* blk, GgmlBlock* out);
// The block's fp16 scales decoded: d, and dmin (0 where there is none).
void ggml_block_scales(Format f, const uint8_t* blk, float* d, float* dmin);

}  // namespace lowbit
