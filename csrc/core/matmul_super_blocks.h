// matmul for the K-quant super-block formats (q4_k, q5_k, q6_k) with float
// activations: each task dequantizes its slice of weight rows (ggml's float32
// values, kquants.h) into a scratch panel and multiplies it with the kernel set's
// fp32 GEMM. Correct on every kernel set; int8 K-quant kernels are still to come.
#pragma once

#include <cstdint>

#include "kernels.h"
#include "layout.h"
#include "thread_pool.h"

namespace lowbit {

// y [m, rows] = x [m, cols] * W^T for a super-block matrix q.
void matmul_super_blocks(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, float* y,
                         ThreadPool& pool);

}  // namespace lowbit
