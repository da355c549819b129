// x quantized whole to int8 before a kernel runs (every int8 matmul path: QuantizedMatrix's own
// layout, prepared weights, K-quant super-blocks): blocks of 32 (kernels.h, QuantizeActFn; the
// last one shorter when k is not a multiple of 32) and, where a kernel needs them, the sums of the
// codes per 16 columns. The one quantizer of x: every kernel set's quantize_act gives the scalar
// reference's bits, so the result does not depend on the set.
#pragma once

#include <cstdint>
#include <vector>

#include "../core/kernels.h"
#include "../runtime/thread_pool.h"

namespace lowbit {

struct ActivationsI8 {
  int64_t k = 0, nb = 0;
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int32_t> sum;
  std::vector<int32_t> half_sum;  // 2 * nb per row; empty unless asked for

  // Rows from i0 on, as the kernels take them.
  ActI8 rows(int64_t i0) const { return {q.data() + i0 * k, d.data() + i0 * nb, sum.data() + i0 * nb, k, nb}; }
  const int32_t* half_sums(int64_t i0) const { return half_sum.empty() ? nullptr : half_sum.data() + i0 * 2 * nb; }
};

// x [m, k] (half sums: k a multiple of 32), with the kernel set's quantize_act where it takes SIMD
// shapes and k is a multiple of 32, the scalar one otherwise.
ActivationsI8 quantize_activations(const KernelTable& kernels, const float* x, int64_t m, int64_t k, bool half_sums,
                                   ThreadPool& pool);

}  // namespace lowbit
