#include "tq.h"

#include <cmath>

#include "../core/float_formats.h"
#include "ggml_dequantize.h"
#include "ggml_search.h"

// Written from ggml's src/ggml-quants.c (ggml-org/ggml d99724f): quantize_row_tq1_0_ref,
// quantize_row_tq2_0_ref, dequantize_row_tq1_0 and dequantize_row_tq2_0.

namespace lowbit {
namespace {

using ggml::get_f16;
using ggml::put_f16;

// The block's absmax d (stored as fp16) and 1 / d (0 when d is 0).
float block_scale(const float* x, uint8_t* d_out, float* id) {
  float amax = 0.0f;
  for (int j = 0; j < 256; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  put_f16(d_out, amax);
  *id = amax != 0.0f ? 1.0f / amax : 0.0f;
  return amax;
}

// ggml's `int xi = lroundf(v) + 1` as x86 runs it: lroundf rounds half away from zero and gives
// LONG_MIN for NaN and infinities (x / d with 1 / d infinite for a tiny absmax), whose low 32 bits
// plus one are 1. |v| <= 1 + 2^-23 otherwise, so the code is 0, 1 or 2.
int ternary_code(float v) {
  if (!std::isfinite(v)) return 1;
  return static_cast<int>(std::lround(v)) + 1;
}

// The base-3 number of `count` codes (the first most significant) as ggml stores it.
uint8_t pack_trits(const int* u, int count) {
  uint8_t q = 0;
  for (int n = 0; n < count; ++n) q = static_cast<uint8_t>(q * 3 + u[n]);
  if (count == 4) q = static_cast<uint8_t>(q * 3);
  return static_cast<uint8_t>((static_cast<uint16_t>(q) * 256 + (243 - 1)) / 243);
}

}  // namespace

void quantize_tq1_0_block(const float* x, uint8_t* blk) {
  float id;
  block_scale(x, blk + 52, &id);
  int u[5];
  for (int m = 0; m < 32; ++m) {
    for (int n = 0; n < 5; ++n) u[n] = ternary_code(x[m + 32 * n] * id);
    blk[m] = pack_trits(u, 5);
  }
  for (int m = 0; m < 16; ++m) {
    for (int n = 0; n < 5; ++n) u[n] = ternary_code(x[160 + m + 16 * n] * id);
    blk[32 + m] = pack_trits(u, 5);
  }
  for (int j = 0; j < 4; ++j) {
    for (int n = 0; n < 4; ++n) u[n] = ternary_code(x[240 + j + 4 * n] * id);
    blk[48 + j] = pack_trits(u, 4);
  }
}

void quantize_tq2_0_block(const float* x, uint8_t* blk) {
  float id;
  block_scale(x, blk + 64, &id);
  for (int j = 0; j < 2; ++j) {
    for (int m = 0; m < 32; ++m) {
      int q = 0;
      for (int l = 0; l < 4; ++l) q += (ternary_code(x[128 * j + 32 * l + m] * id) & 3) << (2 * l);
      blk[32 * j + m] = static_cast<uint8_t>(q);
    }
  }
}

void dequantize_tq1_0_block(const uint8_t* blk, float* y) { ggml_dequant::tq1_0<fp16_to_fp32>(blk, y); }
void dequantize_tq2_0_block(const uint8_t* blk, float* y) { ggml_dequant::tq2_0<fp16_to_fp32>(blk, y); }

void decode_tq1_0_block(const uint8_t* blk, GgmlBlock* out) { ggml_dequant::codes_tq1_0(blk, out->q); }
void decode_tq2_0_block(const uint8_t* blk, GgmlBlock* out) { ggml_dequant::codes_tq2_0(blk, out->q); }

}  // namespace lowbit
