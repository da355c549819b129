// Causal grouped-query attention of a batch of new queries over a layer's KV cache, on the kernel
// table's fp16 conversion and fp32 GEMM: each KV head's keys and values are converted to fp32 once per
// call (values transposed), then per query head and block of queries S = Q K^T (one GEMM), a masked,
// max-subtracted softmax in fp32, and O = P V (another).
#pragma once

#include <cstdint>

#include "../core/kernels.h"
#include "../runtime/thread_pool.h"
#include "ops.h"

namespace lowbit::llm {

// One layer's cache: the rows of KV head g at position p are k + g * head_stride + p * row_bytes (and v).
struct KvLayer {
  const uint8_t* k;
  const uint8_t* v;
  int64_t head_stride;  // bytes from one KV head's rows to the next's
  int64_t row_bytes;
  KvType type;
};

// Floats of scratch attention() needs for a call at total length `len` (positions 0 .. len - 1).
int64_t attention_scratch(int64_t n_head_kv, int64_t head_dim, int64_t len);

// out [b, n_head, head_dim] for queries q [b, n_head, head_dim] at positions pos .. pos + b - 1 (their own
// keys and values already in the cache): query i of head h attends over positions 0 .. pos + i of KV head
// h / (n_head / n_head_kv), scores scaled by `scale`.
void attention(const KernelTable& kt, ThreadPool& pool, const float* q, int64_t b, int64_t pos, int64_t n_head,
               int64_t n_head_kv, int64_t head_dim, float scale, const KvLayer& kv, float* scratch, float* out);

}  // namespace lowbit::llm
