#include "tq.h"

#include <cmath>

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

// Trit n (0 = most significant) of a byte holding ceil(t * 256 / 243).
inline int trit(uint8_t byte, int n) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const uint8_t q = static_cast<uint8_t>(byte * kPow3[n]);
  return (q * 3) >> 8;
}

// The base-3 number of `count` codes (the first most significant) as ggml stores it.
uint8_t pack_trits(const int* u, int count) {
  uint8_t q = 0;
  for (int n = 0; n < count; ++n) q = static_cast<uint8_t>(q * 3 + u[n]);
  if (count == 4) q = static_cast<uint8_t>(q * 3);
  return static_cast<uint8_t>((static_cast<uint16_t>(q) * 256 + (243 - 1)) / 243);
}

// Column order of tq1_0's codes: code[c] for column c.
void tq1_0_codes(const uint8_t* blk, uint8_t* code) {
  for (int m = 0; m < 32; ++m)
    for (int n = 0; n < 5; ++n) code[m + 32 * n] = static_cast<uint8_t>(trit(blk[m], n));
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 5; ++n) code[160 + m + 16 * n] = static_cast<uint8_t>(trit(blk[32 + m], n));
  for (int j = 0; j < 4; ++j)
    for (int n = 0; n < 4; ++n) code[240 + j + 4 * n] = static_cast<uint8_t>(trit(blk[48 + j], n));
}

void tq2_0_codes(const uint8_t* blk, uint8_t* code) {
  for (int j = 0; j < 2; ++j)
    for (int l = 0; l < 4; ++l)
      for (int m = 0; m < 32; ++m) code[128 * j + 32 * l + m] = static_cast<uint8_t>((blk[32 * j + m] >> (2 * l)) & 3);
}

void dequantize_codes(const uint8_t* code, float d, float* y) {
  for (int c = 0; c < 256; ++c) y[c] = static_cast<float>(code[c] - 1) * d;
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

void dequantize_tq1_0_block(const uint8_t* blk, float* y) {
  uint8_t code[256];
  tq1_0_codes(blk, code);
  dequantize_codes(code, get_f16(blk + 52), y);
}

void dequantize_tq2_0_block(const uint8_t* blk, float* y) {
  uint8_t code[256];
  tq2_0_codes(blk, code);
  dequantize_codes(code, get_f16(blk + 64), y);
}

void decode_tq1_0_block(const uint8_t* blk, GgmlBlock* out) { tq1_0_codes(blk, out->q); }
void decode_tq2_0_block(const uint8_t* blk, GgmlBlock* out) { tq2_0_codes(blk, out->q); }

}  // namespace lowbit
