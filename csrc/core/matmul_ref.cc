#include "matmul_ref.h"

#include <algorithm>
#include <cmath>

#include "../formats/ggml_types.h"
#include "packed_planes.h"
#include "qmatrix.h"
#include "weights.h"

namespace lowbit::ref {

void quantize_act(const float* x, int64_t k, int8_t* q, float* d, int32_t* sum) {
  for (int64_t b0 = 0, b = 0; b0 < k; b0 += kActBlock, ++b) {
    const int64_t n = std::min(kActBlock, k - b0);
    float amax = 0.0f;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[b0 + i]));
    const float s = amax / 127.0f;
    int32_t acc = 0;
    for (int64_t i = 0; i < n; ++i) {
      // |x / s| <= 127 but where s is subnormal (amax below 127 * 2^-126), which rounds coarsely: up
      // to about 190 there. The codes are held to [-127, 127], the range every kernel's bounds assume,
      // and the sum is theirs.
      const int v = s == 0.0f ? 0 : std::clamp(static_cast<int>(std::nearbyint(x[b0 + i] / s)), -127, 127);
      q[b0 + i] = static_cast<int8_t>(v);
      acc += v;
    }
    d[b] = s;
    sum[b] = acc;
  }
}

// Runs of columns that share one activation block and one weight scale.
template <typename F>
inline void for_each_segment(const WeightArgs& w, F&& f) {
  for (int64_t c0 = 0; c0 < w.k;) {
    const int64_t block_end = std::min(w.k, (c0 / kActBlock + 1) * kActBlock);
    const int64_t group_end = std::min(w.k, (c0 / w.group + 1) * w.group);
    const int64_t c1 = std::min(block_end, group_end);
    f(c0, c1);
    c0 = c1;
  }
}

void gemm_i8(const WeightArgs& w, const ActI8& x, int64_t m, int64_t n0, int64_t n1, float* y, int64_t y_stride) {
  for (int64_t i = 0; i < m; ++i) {
    const int8_t* xq = x.q + i * x.k;
    const float* xd = x.d + i * x.nb;
    for (int64_t j = n0; j < n1; ++j) {
      float acc = 0.0f;
      for_each_segment(w, [&](int64_t c0, int64_t c1) {
        int32_t isum = 0;
        for (int64_t c = c0; c < c1; ++c) isum += xq[c] * weight_int(w, j, c);
        const float s = weight_stored_scale(w, j, c0) * w.scale_mul_i8;
        acc += (xd[c0 / kActBlock] * s) * static_cast<float>(isum);
      });
      y[i * y_stride + j] = acc;
    }
  }
}

// The packed layout read element by element; the same segments and float order as
// gemm_i8, so both give the same bits.
void gemm_i8_packed(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t t0, int64_t t1,
                    float* y, int64_t y_stride) {
  if (w.kquant()) return gemm_i8_packed_kquant(w, x, half_sum, m, t0, t1, y, y_stride);
  const int64_t sb = w.scale_bytes(), nb = w.k / 32;
  for (int64_t t = t0; t < t1; ++t) {
    const uint8_t* tile = w.data + t * w.tile_bytes;
    for (int64_t r = 0; r < kPackRows && t * kPackRows + r < w.n; ++r) {
      for (int64_t i = 0; i < m; ++i) {
        const int8_t* xq = x.q + i * x.k;
        float acc = 0.0f;
        const uint8_t* p = tile;
        const uint8_t* scales = nullptr;
        const uint8_t* zeros = nullptr;
        for (int64_t b = 0; b < nb; ++b) {
          if (w.group == 16 || (b * 32) % w.group == 0) {
            scales = p;
            p += (w.group == 16 ? 2 : 1) * kPackRows * sb;
            if (w.zeros) {
              zeros = p;
              p += kPackRows;
            }
          }
          const int bias = w.zeros ? zeros[r] : w.bias;
          int32_t isum[2] = {0, 0};
          for (int c = 0; c < 32; ++c) {
            int v;
            if (w.code == PCode::kU8) {
              v = p[((c / 4) * kPackRows + r) * 4 + c % 4] - bias;
            } else if (pcode_two_bit(w.code)) {
              v = plane_code(p, r, c, pcode_third_bit(w.code)) - bias;
            } else {
              const uint8_t byte = p[(((c % 16) / 4) * kPackRows + r) * 4 + c % 4];
              const int u = c < 16 ? byte & 0xF : byte >> 4;
              v = w.code == PCode::kLut4 ? w.lut[u] : u - bias;
            }
            isum[c / 16] += xq[b * 32 + c] * v;
          }
          const float d = x.d[i * x.nb + b];
          if (w.group == 16) {
            for (int h = 0; h < 2; ++h) {
              const float s = decode_scale(static_cast<ScaleType>(w.stype), scales + (h * kPackRows + r) * sb) * w.scale_mul;
              acc += (d * s) * static_cast<float>(isum[h]);
            }
          } else {
            const float s = decode_scale(static_cast<ScaleType>(w.stype), scales + r * sb) * w.scale_mul;
            acc += (d * s) * static_cast<float>(isum[0] + isum[1]);
          }
          p += w.code_block_bytes();
        }
        y[i * y_stride + t * kPackRows + r] = acc;
      }
    }
  }
}

void gemm_f32(const WeightArgs& w, const float* x, int64_t x_stride, int64_t m, int64_t n0, int64_t n1, float* y,
              int64_t y_stride) {
  for (int64_t i = 0; i < m; ++i) {
    const float* xr = x + i * x_stride;
    for (int64_t j = n0; j < n1; ++j) {
      float acc = 0.0f;
      for (int64_t c = 0; c < w.k; ++c) {
        const float wv = (weight_stored_scale(w, j, c) * w.scale_mul) * weight_value(w, j, c);
        acc += xr[c] * wv;
      }
      y[i * y_stride + j] = acc;
    }
  }
}

void sgemm(const float* x, int64_t x_stride, const float* w, int64_t w_stride, int64_t k, int64_t m, int64_t n0,
           int64_t n1, float* y, int64_t y_stride) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = n0; j < n1; ++j) {
      float acc = 0.0f;
      for (int64_t c = 0; c < k; ++c) acc += x[i * x_stride + c] * w[j * w_stride + c];
      y[i * y_stride + j] = acc;
    }
  }
}

void fwht(float* v, int64_t n) {
  for (int64_t h = 1; h < n; h *= 2) {
    for (int64_t i = 0; i < n; i += 2 * h) {
      for (int64_t j = i; j < i + h; ++j) {
        const float a = v[j], b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
    }
  }
}

double fma_peak(int64_t iters) {
  float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const float m = 0.999999f, c = 1e-7f;
  for (int64_t it = 0; it < iters; ++it)
    for (float& v : a) v = v * m + c;
  volatile float sink = a[0] + a[7];
  (void)sink;
  return 16.0 * static_cast<double>(iters);
}

double dot_peak(int64_t iters) {
  int32_t acc[8] = {0};
  int8_t a[8] = {1, -2, 3, -4, 5, -6, 7, -8};
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 8; ++i) acc[i] += a[i] * static_cast<int8_t>(it);
  volatile int32_t sink = acc[0] + acc[7];
  (void)sink;
  return 16.0 * static_cast<double>(iters);
}

float read(const float* p, int64_t n) {
  float s[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int l = 0; l < 4; ++l) s[l] += p[i + l];
  for (; i < n; ++i) s[0] += p[i];
  return s[0] + s[1] + s[2] + s[3];
}

void f16_to_f32(const uint16_t* h, float* f, int64_t n) {
  for (int64_t i = 0; i < n; ++i) f[i] = fp16_to_fp32(h[i]);
}

void f32_to_f16(const float* f, uint16_t* h, int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(f[i]);
}

// Block by block through the formats' own dequantizers (dequantize()'s).
void dequantize_blocks(Format f, const uint8_t* in, int64_t k, float* out) { ggml_dequantize_row(f, in, k, out); }

// Every shape and group (simd_shapes false).
LOWBIT_DEFINE_KERNEL_TABLE("scalar", false)

}  // namespace lowbit::ref
