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

// The fp16 super-block scales of block `blk` decoded: d, and dmin (0 for Q6_K).
void kquant_block_scales(Format f, const uint8_t* blk, float* d, float* dmin);

}  // namespace lowbit
