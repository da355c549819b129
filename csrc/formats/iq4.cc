#include "iq4.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../core/float_formats.h"
#include "ggml_dequantize.h"
#include "ggml_search.h"

// Written from ggml's src/ggml-quants.c (ggml-org/ggml d99724f): quantize_row_iq4_nl_impl
// (no importance weights, so each weight is x^2), dequantize_row_iq4_xs, in ggml's float order.

namespace lowbit {
namespace {

using ggml::best_index_int8;
using ggml::get_f16;
using ggml::nearest_int;
using ggml::put_f16;

constexpr int kTries = 7;

// Blocks of 32 in a super-block of n (32: iq4_nl, 256: iq4_xs); writes d, the codes into q4, and
// for n = 256 the 6-bit block scales into scales_h / scales_l.
void quantize_iq4(const float* x, int n, uint8_t* dh, uint8_t* q4, uint16_t* scales_h, uint8_t* scales_l) {
  const int8_t* values = kIQ4NL;
  uint8_t L[256];
  float scales[8];
  float weight[32];
  std::memset(q4, 0, static_cast<size_t>(n / 2));
  put_f16(dh, 0.0f);
  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < n / 32; ++ib) {
    const float* xb = x + 32 * ib;
    uint8_t* Lb = L + 32 * ib;
    for (int j = 0; j < 32; ++j) weight[j] = xb[j] * xb[j];
    float amax;
    const float max = ggml::signed_absmax(xb, 32, &amax);
    if (amax < ggml::kGroupMaxEps) {
      scales[ib] = 0;
      std::memset(Lb, 0, 32);
      continue;
    }
    float d = -max / values[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; ++j) {
      const float al = id * xb[j];
      const int l = best_index_int8(16, values, al);
      Lb[j] = static_cast<uint8_t>(l);
      const float q = values[l];
      const float w = weight[j];
      sumqx += w * q * xb[j];
      sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -kTries; itry <= kTries; ++itry) {
      id = (itry + values[0]) / max;
      sumqx = sumq2 = 0;
      for (int j = 0; j < 32; ++j) {
        const float al = id * xb[j];
        const int l = best_index_int8(16, values, al);
        const float q = values[l];
        const float w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
      }
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    const float abs_d = std::fabs(d);
    if (abs_d > amax_scale) {
      amax_scale = abs_d;
      max_scale = d;
    }
  }
  if (n > 32) {
    *scales_h = 0;
    const float d = -max_scale / 32;
    put_f16(dh, d);
    const float id = d ? 1 / d : 0.f;
    for (int ib = 0; ib < n / 32; ++ib) {
      int l = nearest_int(id * scales[ib]);
      l = std::max(-32, std::min(31, l));
      const float dl = d * l;
      const float idl = dl ? 1 / dl : 0.f;
      for (int j = 0; j < 32; ++j) L[32 * ib + j] = static_cast<uint8_t>(best_index_int8(16, values, idl * x[32 * ib + j]));
      l += 32;
      const uint8_t l_l = static_cast<uint8_t>(l & 0xf), l_h = static_cast<uint8_t>(l >> 4);
      if (ib % 2 == 0) scales_l[ib / 2] = l_l;
      else scales_l[ib / 2] |= static_cast<uint8_t>(l_l << 4);
      *scales_h = static_cast<uint16_t>(*scales_h | (l_h << 2 * (ib % 8)));
    }
  } else {
    put_f16(dh, scales[0]);
    const float id = scales[0] ? 1 / scales[0] : 0;
    for (int j = 0; j < 32; ++j) L[j] = static_cast<uint8_t>(best_index_int8(16, values, id * x[j]));
  }
  for (int i = 0; i < n / 32; ++i)
    for (int j = 0; j < 16; ++j) q4[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

using ggml_dequant::iq4_xs_scale;

}  // namespace

void quantize_iq4_nl_block(const float* x, uint8_t* blk) { quantize_iq4(x, 32, blk, blk + 2, nullptr, nullptr); }

void quantize_iq4_xs_block(const float* x, uint8_t* blk) {
  uint16_t h = 0;
  quantize_iq4(x, 256, blk, blk + 8, &h, blk + 4);
  std::memcpy(blk + 2, &h, 2);
}

void dequantize_iq4_xs_block(const uint8_t* blk, float* y) { ggml_dequant::iq4_xs<fp16_to_fp32>(blk, y); }

void decode_iq4_xs_block(const uint8_t* blk, GgmlBlock* out) {
  for (int ib = 0; ib < 8; ++ib) out->sc[ib] = iq4_xs_scale(blk, ib) - 32;
  ggml_dequant::codes_iq4_xs(blk, out->q);
}

}  // namespace lowbit
