#include "kquants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../core/float_formats.h"
#include "ggml_dequantize.h"
#include "ggml_search.h"

// Written from ggml's src/ggml-quants.c (ggml-org/ggml d99724f, 2026-08-21). Every
// float32 expression keeps ggml's operand order; the build's -ffp-contract=off keeps
// the compiler from fusing them, so the bytes match ggml's on every target.

namespace lowbit {
namespace {

using ggml::get_f16;
using ggml::kGroupMaxEps;
using ggml::make_qkx2_quants;
using ggml::nearest_int;
using ggml::put_f16;

// Block layouts (ggml-common.h).
constexpr int64_t kQ4KBytes = 2 + 2 + 12 + 128;      // d, dmin, scales, qs
constexpr int64_t kQ5KBytes = 2 + 2 + 12 + 32 + 128;  // d, dmin, scales, qh, qs
constexpr int64_t kQ6KBytes = 128 + 64 + 16 + 2;      // ql, qh, scales, d

// Signed codes in [-nmax, nmax - 1] (stored + nmax) with the scale that minimises the
// x^2-weighted error over 19 candidate scales (ggml's rmse_type 1, no importance weights).
float make_qx_quants(int n, int nmax, const float* x, int8_t* L) {
  float amax;
  const float max = ggml::signed_absmax(x, n, &amax);
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * x[i]);
        L[i] = static_cast<int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

using ggml_dequant::scale_min_k4;

// Q4_K and Q5_K share everything but the code width and the search's range.
// Block: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, then (Q5_K) 32 bytes of
// fifth bits, then 128 bytes of low nibbles.
void quantize_qk_min_block(const float* x, int nmax, float rmin, int nstep, uint8_t* blk) {
  uint8_t L[kSuperBlock], Laux[32];
  float weights[32], mins[8], scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xj = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xj[l] * xj[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xj[l]);
    scales[j] = make_qkx2_quants(32, nmax, xj, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  uint8_t* sc = blk + 4;
  std::memset(sc, 0, 12);
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < 8; ++j) {
    // ggml stores nearest_int's result in a uint8_t before clamping.
    const uint8_t ls = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
    if (j < 4) {
      sc[j] = ls;
      sc[j + 4] = lm;
    } else {
      sc[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      sc[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      sc[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  put_f16(blk, max_scale / 63.f);
  put_f16(blk + 2, max_min / 63.f);
  const float d_all = get_f16(blk), dmin_all = get_f16(blk + 2);
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    scale_min_k4(j, sc, &s, &m);
    const float d = d_all * s;
    if (!d) continue;
    const float dm = dmin_all * m;
    for (int i = 0; i < 32; ++i) {
      const int l = nearest_int((x[32 * j + i] + dm) / d);
      L[32 * j + i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    }
  }
  // Each 64 weights: the first 32 in low nibbles, the next 32 in high nibbles (Q5_K: the
  // fifth bits of pair p in bits 2p and 2p + 1 of qh).
  uint8_t* qh = nmax == 31 ? blk + 16 : nullptr;
  uint8_t* ql = blk + (qh ? 48 : 16);
  if (qh) std::memset(qh, 0, 32);
  for (int p = 0; p < 4; ++p) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t a = L[64 * p + l], b = L[64 * p + 32 + l];
      ql[32 * p + l] = static_cast<uint8_t>((a & 0xF) | ((b & 0xF) << 4));
      if (qh) qh[l] |= static_cast<uint8_t>(((a >> 4) << (2 * p)) | ((b >> 4) << (2 * p + 1)));
    }
  }
}

}  // namespace

// Block: 128 bytes of low nibbles, 64 of high 2-bit pairs, 16 int8 scales, fp16 d.
void quantize_q6_k_block(const float* x, uint8_t* blk) {
  int8_t L[kSuperBlock];
  float scales[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
    scales[ib] = scale;
    const float abs_scale = std::fabs(scale);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scale;
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(blk, 0, kQ6KBytes);
    return;
  }
  uint8_t* ql = blk;
  uint8_t* qh = blk + 128;
  int8_t* sc = reinterpret_cast<int8_t*>(blk + 192);
  const float iscale = -128.f / max_scale;
  put_f16(blk + 208, 1 / iscale);
  for (int ib = 0; ib < 16; ++ib) sc[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
  const float d_all = get_f16(blk + 208);
  for (int j = 0; j < 16; ++j) {
    const float d = d_all * sc[j];
    if (!d) continue;
    for (int i = 0; i < 16; ++i) {
      const int l = nearest_int(x[16 * j + i] / d);
      L[16 * j + i] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
    }
  }
  // Each 128 weights: quarters q0..q3 of 32; ql holds q0|q2<<4 then q1|q3<<4, qh the
  // four 2-bit tops of column l in bits 0-1, 2-3, 4-5, 6-7.
  for (int h = 0; h < 2; ++h) {
    const int8_t* Lh = L + 128 * h;
    uint8_t* qlh = ql + 64 * h;
    uint8_t* qhh = qh + 32 * h;
    for (int l = 0; l < 32; ++l) {
      const int q0 = Lh[l], q1 = Lh[l + 32], q2 = Lh[l + 64], q3 = Lh[l + 96];
      qlh[l] = static_cast<uint8_t>((q0 & 0xF) | ((q2 & 0xF) << 4));
      qlh[l + 32] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
      qhh[l] = static_cast<uint8_t>((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6));
    }
  }
}

void dequantize_q6_k_block(const uint8_t* blk, float* y) { ggml_dequant::q6_k<fp16_to_fp32>(blk, y); }

void quantize_q4_k_block(const float* x, uint8_t* blk) { quantize_qk_min_block(x, 15, -1.0f, 20, blk); }
void quantize_q5_k_block(const float* x, uint8_t* blk) { quantize_qk_min_block(x, 31, -0.5f, 15, blk); }
void dequantize_q4_k_block(const uint8_t* blk, float* y) { ggml_dequant::qk_min<fp16_to_fp32, false>(blk, y); }
void dequantize_q5_k_block(const uint8_t* blk, float* y) { ggml_dequant::qk_min<fp16_to_fp32, true>(blk, y); }

void decode_q6_k_block(const uint8_t* blk, GgmlBlock* out) {
  for (int j = 0; j < 16; ++j) out->sc[j] = static_cast<int8_t>(blk[192 + j]);
  ggml_dequant::codes_q6_k(blk, out->q);
}

namespace {

void decode_qk_min_block(const uint8_t* blk, bool five, GgmlBlock* out) {
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    scale_min_k4(j, blk + 4, &s, &m);
    out->sc[j] = s;
    out->m[j] = m;
  }
  five ? ggml_dequant::codes_qk_min<true>(blk, out->q) : ggml_dequant::codes_qk_min<false>(blk, out->q);
}

}  // namespace

void decode_q4_k_block(const uint8_t* blk, GgmlBlock* out) { decode_qk_min_block(blk, false, out); }
void decode_q5_k_block(const uint8_t* blk, GgmlBlock* out) { decode_qk_min_block(blk, true, out); }

}  // namespace lowbit
