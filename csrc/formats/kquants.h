// ggml's K-quant super-block formats (Q4_K, Q5_K, Q6_K): 256 weights per block,
// byte-identical to GGUF tensors. The quantizers are ggml's reference ones
// (quantize_row_q*_K_ref, with their scale searches), so lowbit writes the bytes
// llama-quantize writes without an importance matrix; the dequantizers compute
// ggml's float32 expressions in ggml's order. Reached through formats/ggml_types.h.
// Baseline code only.
#pragma once

#include <cstdint>

#include "../core/layout.h"
#include "ggml_types.h"

namespace lowbit {

constexpr int64_t kSuperBlock = 256;

// One block: 256 floats into its bytes, its bytes into 256 floats, its codes and scales.
void quantize_q4_k_block(const float* x, uint8_t* blk);
void quantize_q5_k_block(const float* x, uint8_t* blk);
void quantize_q6_k_block(const float* x, uint8_t* blk);
void dequantize_q4_k_block(const uint8_t* blk, float* y);
void dequantize_q5_k_block(const uint8_t* blk, float* y);
void dequantize_q6_k_block(const uint8_t* blk, float* y);
void decode_q4_k_block(const uint8_t* blk, GgmlBlock* out);
void decode_q5_k_block(const uint8_t* blk, GgmlBlock* out);
void decode_q6_k_block(const uint8_t* blk, GgmlBlock* out);

}  // namespace lowbit
