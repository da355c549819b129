// matmul for the K-quant super-block formats (q4_k, q5_k, q6_k). Int8 activations:
// x quantized in blocks of 32 as for every format, then the kernel set's K-quant kernel
// on ggml's blocks as they are (kernels.h, GemmI8KQuantFn). Float activations: each task
// dequantizes its slice of weight rows (ggml's float32 values, kquants.h) into a scratch
// panel and multiplies it with the kernel set's fp32 GEMM.
#pragma once

#include <cstdint>

#include "kernels.h"
#include "layout.h"
#include "matmul.h"
#include "thread_pool.h"

namespace lowbit {

// The kernels' view of a super-block matrix.
KQuantArgs kquant_args(const QMatrixView& q);

// y [m, rows] = x [m, cols] * W^T for a super-block matrix q.
void matmul_super_blocks(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, Activations act,
                         float* y, ThreadPool& pool);

}  // namespace lowbit
