// The scalar kernel on packed K-quant tiles (kernels.h): the same integer sums and the same
// float expressions, in the same order, as the scalar kernel on ggml's blocks
// (gemm_kquant_ref.cc), so the two give the same bits.
#include "kquants.h"
#include "matmul_ref.h"
#include "qmatrix.h"

namespace lowbit::ref {

void gemm_i8_packed_kquant(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t t0,
                           int64_t t1, float* y, int64_t y_stride) {
  const bool q6 = w.code == PCode::kQ6K;
  const int64_t cb = w.code_block_bytes();
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t r = 0; r < kPackRows && t * kPackRows + r < w.n; ++r) {
      for (int64_t i = 0; i < m; ++i) {
        const int8_t* xq = x.q + i * x.k;
        float acc = 0.0f;
        const uint8_t* p = w.data + t * w.tile_bytes;
        for (int64_t s = 0; s < w.k / kSuperBlock; ++s) {
          const uint8_t* head = p;
          p += w.header_bytes();
          const float d = decode_scale(ScaleType::kF16, head + 2 * r);
          const float dmin = q6 ? 0.0f : decode_scale(ScaleType::kF16, head + 2 * kPackRows + 2 * r);
          for (int sub = 0; sub < 8; ++sub, p += cb) {
            const int64_t b = s * 8 + sub;
            int32_t dot[2] = {0, 0};
            for (int c = 0; c < 32; ++c) {
              const int ch = (c % 16) / 4, e = c % 4, hi = c / 16;
              const uint8_t byte = p[(ch * kPackRows + r) * 4 + e];
              int u = hi ? byte >> 4 : byte & 0xF;
              if (w.code == PCode::kQ5K) u |= ((p[(4 * kPackRows + r) * 4 + e] >> (4 * hi + ch)) & 1) << 4;
              if (q6) u |= ((p[((4 + hi) * kPackRows + r) * 4 + e] >> (2 * ch)) & 3) << 4;
              dot[hi] += u * xq[b * 32 + c];
            }
            if (q6) {
              const int32_t* hs = half_sum + i * 2 * x.nb + 2 * b;
              int32_t ib = 0;
              for (int h = 0; h < 2; ++h) {
                ib += static_cast<int8_t>(head[2 * kPackRows + (2 * sub + h) * kPackRows + r]) * (dot[h] - 32 * hs[h]);
              }
              acc += x.d[i * x.nb + b] * (d * static_cast<float>(ib));
            } else {
              const int sc = head[4 * kPackRows + sub * kPackRows + r], mn = head[12 * kPackRows + sub * kPackRows + r];
              const float ib = static_cast<float>(sc * (dot[0] + dot[1])), mb = static_cast<float>(mn * x.sum[i * x.nb + b]);
              acc += x.d[i * x.nb + b] * (d * ib - dmin * mb);
            }
          }
        }
        y[i * y_stride + t * kPackRows + r] = acc;
      }
    }
  }
}

}  // namespace lowbit::ref
