// The scalar kernel on the packed tiles of the ggml codes with block headers (kernels.h): the
// definition of their int8 contract that every SIMD set is tested against, bit for bit. For
// q4_k, q5_k and q6_k it takes the same integer sums and float expressions, in the same order,
// as the scalar kernel on ggml's blocks (gemm_kquant_ref.cc), so the two give the same bits.
#include "../formats/kquants.h"
#include "matmul_ref.h"
#include "packed_planes.h"
#include "qmatrix.h"

namespace lowbit::ref {
namespace {

// Column c's unsigned code of row r in the block of codes at p.
int packed_code(PCode code, const uint8_t* p, int64_t r, int c) {
  constexpr int64_t R = kPackRows;
  if (pcode_two_bit(code)) return plane_code(p, r, c, pcode_third_bit(code));
  const int ch = (c % 16) / 4, e = c % 4, hi = c / 16;
  const uint8_t byte = p[(ch * R + r) * 4 + e];
  int u = hi ? byte >> 4 : byte & 0xF;
  if (pcode_fifth_bit(code)) u |= ((p[(4 * R + r) * 4 + e] >> (4 * hi + ch)) & 1) << 4;
  if (code == PCode::kQ6K) u |= ((p[((4 + hi) * R + r) * 4 + e] >> (2 * ch)) & 3) << 4;
  return u;
}

}  // namespace

void gemm_i8_packed_kquant(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t t0,
                           int64_t t1, float* y, int64_t y_stride) {
  constexpr int64_t R = kPackRows;
  const PCode code = w.code;
  const int64_t cb = w.code_block_bytes(), subs = w.block_cols() / 32;
  const bool has_dmin = pcode_has_dmin(code);
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t r = 0; r < R && t * R + r < w.n; ++r) {
      for (int64_t i = 0; i < m; ++i) {
        const int8_t* xq = x.q + i * x.k;
        float acc = 0.0f;
        const uint8_t* p = w.data + t * w.tile_bytes;
        for (int64_t s = 0; s < w.k / w.block_cols(); ++s) {
          const uint8_t* head = p;
          p += w.header_bytes();
          const float d = decode_scale(ScaleType::kF16, head + 2 * r);
          const float dmin = has_dmin ? decode_scale(ScaleType::kF16, head + 2 * R + 2 * r) : 0.0f;
          for (int64_t sub = 0; sub < subs; ++sub, p += cb) {
            const int64_t b = s * subs + sub;
            int32_t dot[2] = {0, 0};
            for (int c = 0; c < 32; ++c) {
              const int u = packed_code(code, p, r, c);
              dot[c / 16] += (code == PCode::kIQ4XS ? w.lut[u] : u) * xq[b * 32 + c];
            }
            const int32_t* hs = w.half_sums() ? half_sum + i * 2 * x.nb + 2 * b : nullptr;
            const int32_t S = x.sum[i * x.nb + b];
            const float dx = x.d[i * x.nb + b];
            switch (code) {
              case PCode::kQ4K:
              case PCode::kQ5K: {
                const int sc = head[4 * R + sub * R + r], mn = head[12 * R + sub * R + r];
                const float ib = static_cast<float>(sc * (dot[0] + dot[1])), mb = static_cast<float>(mn * S);
                acc += dx * (d * ib - dmin * mb);
                break;
              }
              case PCode::kQ6K:
              case PCode::kQ3K: {
                const int bias = code == PCode::kQ6K ? 32 : 4;
                int32_t ib = 0;
                for (int h = 0; h < 2; ++h)
                  ib += static_cast<int8_t>(head[2 * R + (2 * sub + h) * R + r]) * (dot[h] - bias * hs[h]);
                acc += dx * (d * static_cast<float>(ib));
                break;
              }
              case PCode::kQ2K: {
                int32_t ib = 0, mb = 0;
                for (int h = 0; h < 2; ++h) {
                  const int scm = head[4 * R + (2 * sub + h) * R + r];
                  ib += (scm & 15) * dot[h];
                  mb += (scm >> 4) * hs[h];
                }
                acc += dx * (d * static_cast<float>(ib) - dmin * static_cast<float>(mb));
                break;
              }
              case PCode::kIQ4XS: {
                const int sc = static_cast<int8_t>(head[2 * R + sub * R + r]);
                acc += dx * (d * static_cast<float>(sc * (dot[0] + dot[1])));
                break;
              }
              case PCode::kQ4_1:
              case PCode::kQ5_1:
                acc += dx * (d * static_cast<float>(dot[0] + dot[1]) + dmin * static_cast<float>(S));
                break;
              default:  // q5_0, tq
                acc += dx * (d * static_cast<float>(dot[0] + dot[1] - pcode_code_offset(code) * S));
                break;
            }
          }
        }
        y[i * y_stride + t * R + r] = acc;
      }
    }
  }
}

}  // namespace lowbit::ref
