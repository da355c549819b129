// The scalar int8 K-quant kernel: the definition (kernels.h, GemmI8KQuantFn) every SIMD
// one is tested against.
#include "../formats/kquants.h"
#include "matmul_ref.h"

namespace lowbit::ref {

void gemm_i8_kquant(const KQuantArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t n0, int64_t n1,
                    float* y, int64_t y_stride) {
  const Format f = w.kind == KQuant::kQ4K ? Format::kQ4_K : w.kind == KQuant::kQ5K ? Format::kQ5_K : Format::kQ6_K;
  const int64_t bb = format_info(f).block_bytes;
  GgmlBlock blk;
  for (int64_t j = n0; j < n1; ++j) {
    for (int64_t i = 0; i < m; ++i) {
      const float* xd = x.d + i * x.nb;
      const int32_t* xs = x.sum + i * x.nb;
      float acc = 0.0f;
      for (int64_t s = 0; s < w.k / kSuperBlock; ++s) {
        ggml_decode_block(f, w.data + j * w.row_bytes + s * bb, &blk);
        for (int sub = 0; sub < 8; ++sub) {
          const int64_t b = s * 8 + sub;
          const int8_t* xb = x.q + i * x.k + b * 32;
          const uint8_t* q = blk.q + 32 * sub;
          if (f == Format::kQ6_K) {
            const int32_t* hs = half_sum + i * 2 * x.nb + 2 * b;
            int32_t ib = 0;
            for (int h = 0; h < 2; ++h) {
              int32_t dot = 0;
              for (int c = 16 * h; c < 16 * h + 16; ++c) dot += q[c] * xb[c];
              ib += blk.sc[2 * sub + h] * (dot - 32 * hs[h]);
            }
            acc += xd[b] * (blk.d * static_cast<float>(ib));
          } else {
            int32_t dot = 0;
            for (int c = 0; c < 32; ++c) dot += q[c] * xb[c];
            const float ib = static_cast<float>(blk.sc[sub] * dot), mb = static_cast<float>(blk.m[sub] * xs[b]);
            acc += xd[b] * (blk.d * ib - blk.dmin * mb);
          }
        }
      }
      y[i * y_stride + j] = acc;
    }
  }
}

}  // namespace lowbit::ref
