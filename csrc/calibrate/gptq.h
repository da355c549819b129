// GPTQ (Frantar et al., 2022): column-by-column quantization of W [rows, cols]
// with the error of each column spread over the columns not yet quantized,
// weighted by the inverse of the Hessian proxy H = 2 X^T X / n of the layer's
// inputs. Output is a normal QuantizedMatrix (int format), so every matmul
// kernel runs it unchanged.
#pragma once

#include <cstdint>

#include "../core/kernels.h"
#include "../core/layout.h"
#include "../runtime/thread_pool.h"
#include "../runtime/work.h"

namespace lowbit {

struct GptqOptions {
  double damp = 0.01;      // lambda = damp * mean(diag H)
  int64_t block = 128;     // columns per lazy batch update
  bool act_order = false;  // quantize columns by decreasing H_ii (static group scales)
};

struct GptqResult {
  const char* error = nullptr;  // set when H stays indefinite after every retry
  double lambda = 0.0;          // the dampening that was used
  int retries = 0;              // times lambda was multiplied by 10 after a failed Cholesky
};

// w: row-major [L.rows, L.cols]; h: [L.cols, L.cols], symmetric. Neither is modified.
// L: int format, granularity tensor, row or group. Writes data / scales / zeros like
// quantize_matrix. `progress` (optional) counts multiply-adds of the inverse Hessian's factorization
// and of the sweep; a cancelled call (work.h) returns early with unspecified outputs.
GptqResult gptq_quantize(const float* w, const float* h, const QuantLayout& L, const GptqOptions& o, uint8_t* data,
                         void* scales, uint8_t* zeros, const KernelTable& kt, ThreadPool& pool,
                         Work* progress = nullptr);

}  // namespace lowbit
