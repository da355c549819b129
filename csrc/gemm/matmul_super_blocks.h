// matmul for the formats whose rows are decoded whole: ggml's super-block and block types, 16-bit
// floats, and int 2- / 3-bit codes. Int8 activations: x quantized in blocks of 32 as for every
// format, then the kernel set's K-quant kernel on ggml's blocks as they are (q4_k, q5_k, q6_k:
// kernels.h, GemmI8KQuantFn), or the matrix packed for the call a few tiles at a time (what prepare()
// does once; matmul_packing) and the packed kernels. Float activations: each task dequantizes its slice of weight rows (the float32
// values dequantize() gives) into a scratch panel and multiplies it with the kernel set's fp32 GEMM.
#pragma once

#include <cstdint>

#include "../core/kernels.h"
#include "../core/layout.h"
#include "../runtime/thread_pool.h"
#include "matmul.h"

namespace lowbit {

// The kernels' view of a super-block matrix.
KQuantArgs kquant_args(const QMatrixView& q);

// y [m, rows] = x [m, cols] * W^T for a matrix of those formats (int 2- / 3-bit: float activations,
// or int8 ones where plan_pack() packs the matrix).
void matmul_super_blocks(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, Activations act,
                         float* y, ThreadPool& pool);

}  // namespace lowbit
