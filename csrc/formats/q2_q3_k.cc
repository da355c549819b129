#include "q2_q3_k.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../core/float_formats.h"
#include "ggml_dequantize.h"
#include "ggml_search.h"

// Written from ggml's src/ggml-quants.c (ggml-org/ggml d99724f): make_q3_quants,
// quantize_row_q2_K_ref, quantize_row_q3_K_ref, dequantize_row_q2_K, dequantize_row_q3_K, in
// ggml's float order.

namespace lowbit {
namespace {

using ggml::get_f16;
using ggml::nearest_int;
using ggml::put_f16;

// Signed codes in [-nmax, nmax - 1] (stored + nmax) of n weights, refined by ggml's x^2-weighted
// coordinate search (do_rmse); returns the scale.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L) {
  float amax;
  const float max = ggml::signed_absmax(x, n, &amax);
  if (amax < ggml::kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        int new_l = nearest_int(x[i] * sl2 / slx);
        new_l = std::max(-nmax, std::min(nmax - 1, new_l));
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Codes 0..3 of 256 columns into qs (4 per byte, see the header).
void put_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 256; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}
using ggml_dequant::kQ2D;
using ggml_dequant::kQ2Dmin;
using ggml_dequant::kQ2Qs;
using ggml_dequant::kQ2Scales;
using ggml_dequant::kQ3D;
using ggml_dequant::kQ3Hmask;
using ggml_dequant::kQ3Qs;
using ggml_dequant::kQ3Scales;
using ggml_dequant::q3_k_scale;

}  // namespace

void quantize_q2_k_block(const float* x, uint8_t* blk) {
  uint8_t L[256], Laux[16];
  float weights[16], mins[16], scales[16];
  const float q4scale = 15.f;
  uint8_t* sc = blk + kQ2Scales;
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = ggml::make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
    const float scale = scales[j];
    if (scale > max_scale) max_scale = scale;
    const float min = mins[j];
    if (min > max_min) max_min = min;
  }
  if (max_scale > 0) {
    const float iscale = q4scale / max_scale;
    for (int j = 0; j < 16; ++j) sc[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
    put_f16(blk + kQ2D, max_scale / q4scale);
  } else {
    for (int j = 0; j < 16; ++j) sc[j] = 0;
    put_f16(blk + kQ2D, 0.f);
  }
  if (max_min > 0) {
    const float iscale = q4scale / max_min;
    for (int j = 0; j < 16; ++j) sc[j] = static_cast<uint8_t>(sc[j] | (nearest_int(iscale * mins[j]) << 4));
    put_f16(blk + kQ2Dmin, max_min / q4scale);
  } else {
    put_f16(blk + kQ2Dmin, 0.f);
  }
  for (int j = 0; j < 16; ++j) {
    const float d = get_f16(blk + kQ2D) * (sc[j] & 0xF);
    if (!d) continue;
    const float dm = get_f16(blk + kQ2Dmin) * (sc[j] >> 4);
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int((x[16 * j + ii] + dm) / d);
      L[16 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, l)));
    }
  }
  put_2bit(L, blk + kQ2Qs);
}

void quantize_q3_k_block(const float* x, uint8_t* blk) {
  int8_t L[256];
  float scales[16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
    const float scale = std::fabs(scales[j]);
    if (scale > amax) {
      amax = scale;
      max_scale = scales[j];
    }
  }
  uint8_t* s = blk + kQ3Scales;
  std::memset(s, 0, 12);
  if (max_scale) {
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < 16; ++j) {
      int8_t l = static_cast<int8_t>(nearest_int(iscale * scales[j]));
      l = static_cast<int8_t>(std::max(-32, std::min(31, static_cast<int>(l))) + 32);
      if (j < 8) s[j] = static_cast<uint8_t>(l & 0xF);
      else s[j - 8] = static_cast<uint8_t>(s[j - 8] | ((l & 0xF) << 4));
      l = static_cast<int8_t>(l >> 4);
      s[j % 4 + 8] = static_cast<uint8_t>(s[j % 4 + 8] | (l << (2 * (j / 4))));
    }
    put_f16(blk + kQ3D, 1 / iscale);
  } else {
    put_f16(blk + kQ3D, 0.f);
  }
  for (int j = 0; j < 16; ++j) {
    const int8_t sc = static_cast<int8_t>(q3_k_scale(s, j) - 32);
    const float d = get_f16(blk + kQ3D) * sc;
    if (!d) continue;
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int(x[16 * j + ii] / d);
      L[16 * j + ii] = static_cast<int8_t>(std::max(-4, std::min(3, l)) + 4);
    }
  }
  uint8_t* hmask = blk + kQ3Hmask;
  std::memset(hmask, 0, 32);
  uint8_t low[256];
  for (int c = 0; c < 256; ++c) {
    if (L[c] > 3) hmask[c % 32] = static_cast<uint8_t>(hmask[c % 32] | (1 << (c / 32)));
    low[c] = static_cast<uint8_t>(L[c] > 3 ? L[c] - 4 : L[c]);
  }
  put_2bit(low, blk + kQ3Qs);
}

void dequantize_q2_k_block(const uint8_t* blk, float* y) { ggml_dequant::q2_k<fp16_to_fp32>(blk, y); }
void dequantize_q3_k_block(const uint8_t* blk, float* y) { ggml_dequant::q3_k<fp16_to_fp32>(blk, y); }

void decode_q2_k_block(const uint8_t* blk, GgmlBlock* out) {
  for (int j = 0; j < 16; ++j) {
    out->sc[j] = blk[kQ2Scales + j] & 0xF;
    out->m[j] = blk[kQ2Scales + j] >> 4;
  }
  ggml_dequant::codes_q2_k(blk, out->q);
}

void decode_q3_k_block(const uint8_t* blk, GgmlBlock* out) {
  for (int j = 0; j < 16; ++j) out->sc[j] = q3_k_scale(blk + kQ3Scales, j) - 32;
  ggml_dequant::codes_q3_k(blk, out->q);
}

}  // namespace lowbit
