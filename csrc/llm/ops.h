// The decoder's operations besides the matrix products and attention (attention.h): RMSNorm, rotary
// embeddings, the KV cache's rows, SwiGLU. Scalar C++ in fp32 with fp64 where a sum runs over a whole vector (the norm); each
// is a small fraction of a token's time next to the weight matrices (attention grows with the context).
#pragma once

#include <cstdint>
#include <vector>

#include "../core/kernels.h"

namespace lowbit::llm {

// y = x / sqrt(mean(x^2) + eps) * w, over n values (w may be null: no weight). y may be x.
void rms_norm(const float* x, const float* w, int64_t n, float eps, float* y);

// Rotary embedding angles: for pair i of a head, inv_freq[i] = base^(-2i / rot_dims) / factor[i]
// (factor: Llama 3's rope_freqs, else 1).
struct Rope {
  int64_t dims = 0;  // rotated dimensions of a head (the head size)
  bool neox = false; // pairs (i, i + dims/2) (NeoX, Qwen) instead of (2i, 2i + 1) (llama.cpp's llama)
  std::vector<double> inv_freq;
};
Rope make_rope(int64_t dims, double base, bool neox, const float* factors);

// Rotates `heads` vectors of `head_dim` values (back to back) by the angles of position `pos`.
void apply_rope(const Rope& r, float* v, int64_t heads, int64_t head_dim, int64_t pos);

// How a KV cache stores a row of head_dim values.
enum class KvType : uint8_t { kF16, kQ8_0 };

int64_t kv_row_bytes(KvType t, int64_t head_dim);
// Stores a row (fp16 through the kernel set's conversion) / loads a q8_0 row (fp16 rows load with
// kt.f16_to_f32 directly).
void kv_store(const KernelTable& kt, KvType t, const float* x, int64_t head_dim, uint8_t* row);
void kv_load(KvType t, const uint8_t* row, int64_t head_dim, float* x);

// g = silu(g) * u over n values (SwiGLU after its two projections).
void silu_mul(float* g, const float* u, int64_t n);

}  // namespace lowbit::llm
