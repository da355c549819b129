#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../core/float_formats.h"
#include "../formats/quantize.h"

namespace lowbit::llm {

void rms_norm(const float* x, const float* w, int64_t n, float eps, float* y) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * (w ? w[i] : 1.0f);
}

Rope make_rope(int64_t dims, double base, bool neox, const float* factors) {
  Rope r;
  r.dims = dims;
  r.neox = neox;
  r.inv_freq.resize(static_cast<size_t>(dims / 2));
  for (int64_t i = 0; i < dims / 2; ++i) {
    r.inv_freq[i] = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(dims));
    if (factors) r.inv_freq[i] /= factors[i];
  }
  return r;
}

void apply_rope(const Rope& r, float* v, int64_t heads, int64_t head_dim, int64_t pos) {
  const int64_t half = r.dims / 2;
  for (int64_t i = 0; i < half; ++i) {
    const double a = static_cast<double>(pos) * r.inv_freq[i];
    const float c = static_cast<float>(std::cos(a)), s = static_cast<float>(std::sin(a));
    const int64_t i0 = r.neox ? i : 2 * i, i1 = r.neox ? i + half : 2 * i + 1;
    for (int64_t h = 0; h < heads; ++h) {
      float* p = v + h * head_dim;
      const float x0 = p[i0], x1 = p[i1];
      p[i0] = x0 * c - x1 * s;
      p[i1] = x0 * s + x1 * c;
    }
  }
}

int64_t kv_row_bytes(KvType t, int64_t head_dim) {
  return t == KvType::kF16 ? head_dim * 2 : head_dim / 32 * 34;
}

void kv_store(const KernelTable& kt, KvType t, const float* x, int64_t head_dim, uint8_t* row) {
  if (t == KvType::kQ8_0) {
    quantize_row_q8_0(x, head_dim, row);
  } else {
    kt.f32_to_f16(x, reinterpret_cast<uint16_t*>(row), head_dim);
  }
}

void kv_load(KvType t, const uint8_t* row, int64_t head_dim, float* x) {
  if (t == KvType::kQ8_0) {
    for (int64_t b = 0; b < head_dim / 32; ++b) {
      const uint8_t* blk = row + b * 34;
      uint16_t h;
      std::memcpy(&h, blk, 2);
      const float d = fp16_to_fp32(h);
      for (int i = 0; i < 32; ++i) x[b * 32 + i] = d * static_cast<float>(static_cast<int8_t>(blk[2 + i]));
    }
    return;
  }
  for (int64_t i = 0; i < head_dim; ++i) {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, 2);
    x[i] = fp16_to_fp32(h);
  }
}


void silu_mul(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

}  // namespace lowbit::llm
