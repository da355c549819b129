// ggml's K-quant super-block formats (Q4_K, Q5_K, Q6_K): 256 weights per block,
// byte-identical to GGUF tensors. The quantizers are ggml's reference ones
// (quantize_row_q*_K_ref, with their scale searches), so lowbit writes the bytes
// llama-quantize writes without an importance matrix; the dequantizers compute
// ggml's float32 expressions in ggml's order. Baseline code only.
#pragma once

#include <cstdint>

#include "layout.h"

namespace lowbit {

constexpr int64_t kSuperBlock = 256;

// Bytes of one super-block: Q4_K 144, Q5_K 176, Q6_K 210.
int64_t kquant_block_bytes(Format f);

// One row of k weights (k a multiple of 256) into k / 256 blocks at `out`.
void quantize_kquant_row(Format f, const float* x, int64_t k, uint8_t* out);

// k / 256 blocks at `in` into k floats.
void dequantize_kquant_row(Format f, const uint8_t* in, int64_t k, float* out);

// One super-block's codes and scales as integers: q4_k / q5_k: codes 0..15 / 0..31 and the 6-bit
// scale sc[j] and min m[j] of each 32 columns; q6_k: codes 0..63 (value q - 32) and the int8
// scale sc[j] of each 16 columns. d and dmin (0 for q6_k) decoded from fp16.
struct KQuantBlock {
  uint8_t q[kSuperBlock];
  int sc[16];
  int m[8];
  float d, dmin;
};
void kquant_decode(Format f, const uint8_t* blk, KQuantBlock* out);

// The fp16 super-block scales of block `blk` decoded: d, and dmin (0 for Q6_K).
void kquant_block_scales(Format f, const uint8_t* blk, float* d, float* dmin);

}  // namespace lowbit
