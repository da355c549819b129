#include "activations_i8.h"

#include <algorithm>

#include "../core/matmul_ref.h"

namespace lowbit {

ActivationsI8 quantize_activations(const KernelTable& kernels, const float* x, int64_t m, int64_t k, bool half_sums,
                                   ThreadPool& pool) {
  ActivationsI8 a;
  a.k = k;
  a.nb = (k + kActBlock - 1) / kActBlock;
  const int64_t nb = a.nb;
  a.q.resize(static_cast<size_t>(m * k));
  a.d.resize(static_cast<size_t>(m * nb));
  a.sum.resize(static_cast<size_t>(m * nb));
  if (half_sums) a.half_sum.resize(static_cast<size_t>(2 * m * nb));
  const QuantizeActFn quant = kernels.simd_shapes && k % kActBlock == 0 ? kernels.quantize_act : ref::quantize_act;
  const int64_t rows_per_task = std::max<int64_t>(1, 4096 / k);
  pool.parallel_for((m + rows_per_task - 1) / rows_per_task, [&](int64_t t) {
    for (int64_t i = t * rows_per_task; i < std::min(m, (t + 1) * rows_per_task); ++i) {
      const int8_t* qi = a.q.data() + i * k;
      quant(x + i * k, k, a.q.data() + i * k, a.d.data() + i * nb, a.sum.data() + i * nb);
      for (int64_t h = 0; h < (half_sums ? 2 * nb : 0); ++h) {
        int32_t s = 0;
        for (int64_t c = 16 * h; c < 16 * h + 16; ++c) s += qi[c];
        a.half_sum[i * 2 * nb + h] = s;
      }
    }
  });
  return a;
}

}  // namespace lowbit
