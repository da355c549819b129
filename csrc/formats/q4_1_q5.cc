#include "q4_1_q5.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "../core/float_formats.h"
#include "ggml_dequantize.h"
#include "ggml_search.h"

// Written from ggml's src/ggml-quants.c (ggml-org/ggml d99724f): quantize_row_q4_1_ref,
// quantize_row_q5_0_ref, quantize_row_q5_1_ref and their dequantize_row_*, in ggml's float order.

namespace lowbit {
namespace {

using ggml::get_f16;
using ggml::put_f16;

// Codes of 32 columns into qs (nibbles) and, for 5 bits, the fifth bits into qh.
void put_codes(const uint8_t* L, uint8_t* qs, uint8_t* qh) {
  uint32_t h = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((L[j] & 0x0F) | ((L[j + 16] & 0x0F) << 4));
    h |= static_cast<uint32_t>((L[j] & 0x10) >> 4) << j;
    h |= static_cast<uint32_t>((L[j + 16] & 0x10) >> 4) << (j + 16);
  }
  if (qh) std::memcpy(qh, &h, 4);
}

using ggml_dequant::codes_32;

// q4_1 / q5_1: d = (max - min) / nmax, codes (x - min) / d + 0.5 truncated (q4_1 clamped to 15).
void quantize_min_block(const float* x, int nmax, uint8_t* blk) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < 32; ++j) {
    const float v = x[j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const float d = (max - min) / nmax;
  const float id = d ? 1.0f / d : 0.0f;
  put_f16(blk, d);
  put_f16(blk + 2, min);
  uint8_t L[32];
  for (int j = 0; j < 32; ++j) {
    const float v = (x[j] - min) * id;
    L[j] = static_cast<uint8_t>(nmax == 15 ? std::min(15, ggml::trunc_i8(v + 0.5f)) : ggml::trunc_u8(v + 0.5f));
  }
  put_codes(L, blk + (nmax == 15 ? 4 : 8), nmax == 15 ? nullptr : blk + 4);
}

}  // namespace

void quantize_q4_1_block(const float* x, uint8_t* blk) { quantize_min_block(x, 15, blk); }
void quantize_q5_1_block(const float* x, uint8_t* blk) { quantize_min_block(x, 31, blk); }

void quantize_q5_0_block(const float* x, uint8_t* blk) {
  float amax;
  const float max = ggml::signed_absmax(x, 32, &amax);
  const float d = max / -16;
  const float id = d ? 1.0f / d : 0.0f;
  put_f16(blk, d);
  uint8_t L[32];
  for (int j = 0; j < 32; ++j) L[j] = static_cast<uint8_t>(std::min(31, ggml::trunc_i8(x[j] * id + 16.5f)));
  put_codes(L, blk + 6, blk + 2);
}

void dequantize_q4_1_block(const uint8_t* blk, float* y) { ggml_dequant::q4_1<fp16_to_fp32>(blk, y); }
void dequantize_q5_0_block(const uint8_t* blk, float* y) { ggml_dequant::q5_0<fp16_to_fp32>(blk, y); }
void dequantize_q5_1_block(const uint8_t* blk, float* y) { ggml_dequant::q5_1<fp16_to_fp32>(blk, y); }

void decode_q4_1_block(const uint8_t* blk, GgmlBlock* out) { codes_32<false>(blk + 4, nullptr, out->q); }
void decode_q5_0_block(const uint8_t* blk, GgmlBlock* out) { codes_32<true>(blk + 6, blk + 2, out->q); }
void decode_q5_1_block(const uint8_t* blk, GgmlBlock* out) { codes_32<true>(blk + 8, blk + 4, out->q); }

}  // namespace lowbit
