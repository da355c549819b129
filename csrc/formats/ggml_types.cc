#include "ggml_types.h"

#include <cstring>

#include "ggml_search.h"
#include "iq4.h"
#include "kquants.h"
#include "q2_q3_k.h"
#include "q4_1_q5.h"
#include "tq.h"

namespace lowbit {
namespace {

const GgmlBlockType kTypes[] = {
    {Format::kQ4_K, 0, 2, PCode::kQ4K, quantize_q4_k_block, dequantize_q4_k_block, decode_q4_k_block},
    {Format::kQ5_K, 0, 2, PCode::kQ5K, quantize_q5_k_block, dequantize_q5_k_block, decode_q5_k_block},
    {Format::kQ6_K, 208, -1, PCode::kQ6K, quantize_q6_k_block, dequantize_q6_k_block, decode_q6_k_block},
    {Format::kQ2_K, 80, 82, PCode::kQ2K, quantize_q2_k_block, dequantize_q2_k_block, decode_q2_k_block},
    {Format::kQ3_K, 108, -1, PCode::kQ3K, quantize_q3_k_block, dequantize_q3_k_block, decode_q3_k_block},
    {Format::kIQ4_XS, 0, -1, PCode::kIQ4XS, quantize_iq4_xs_block, dequantize_iq4_xs_block, decode_iq4_xs_block},
    {Format::kQ4_1, 0, 2, PCode::kQ4_1, quantize_q4_1_block, dequantize_q4_1_block, decode_q4_1_block},
    {Format::kQ5_0, 0, -1, PCode::kQ5_0, quantize_q5_0_block, dequantize_q5_0_block, decode_q5_0_block},
    {Format::kQ5_1, 0, 2, PCode::kQ5_1, quantize_q5_1_block, dequantize_q5_1_block, decode_q5_1_block},
    {Format::kTQ1_0, 52, -1, PCode::kTQ, quantize_tq1_0_block, dequantize_tq1_0_block, decode_tq1_0_block},
    {Format::kTQ2_0, 64, -1, PCode::kTQ, quantize_tq2_0_block, dequantize_tq2_0_block, decode_tq2_0_block},
};

}  // namespace

const GgmlBlockType& ggml_block_type(Format f) {
  for (const GgmlBlockType& t : kTypes)
    if (t.format == f) return t;
  return kTypes[0];  // unreachable for super_blocks() formats (the same ones: core/formats.h's storage column)
}

void ggml_quantize_row(Format f, const float* x, int64_t k, uint8_t* out) {
  const GgmlBlockType& t = ggml_block_type(f);
  const int64_t cols = format_info(f).block_cols, bytes = format_info(f).block_bytes;
  for (int64_t b = 0; b < k / cols; ++b) t.quantize(x + b * cols, out + b * bytes);
}

void ggml_dequantize_row(Format f, const uint8_t* in, int64_t k, float* out) {
  const GgmlBlockType& t = ggml_block_type(f);
  const int64_t cols = format_info(f).block_cols, bytes = format_info(f).block_bytes;
  for (int64_t b = 0; b < k / cols; ++b) t.dequantize(in + b * bytes, out + b * cols);
}

void ggml_decode_block(Format f, const uint8_t* blk, GgmlBlock* out) {
  // Only the fields of the format are written (a 400-byte clear per 32-column block was most of
  // packing q4_1 / q5_0 / q5_1).
  const GgmlBlockType& t = ggml_block_type(f);
  std::memcpy(&out->d_bits, blk + t.d_offset, 2);
  out->dmin_bits = 0;
  if (t.dmin_offset >= 0) std::memcpy(&out->dmin_bits, blk + t.dmin_offset, 2);
  out->d = fp16_to_fp32(out->d_bits);
  out->dmin = t.dmin_offset >= 0 ? fp16_to_fp32(out->dmin_bits) : 0.0f;
  t.decode(blk, out);
}

void ggml_block_scales(Format f, const uint8_t* blk, float* d, float* dmin) {
  const GgmlBlockType& t = ggml_block_type(f);
  *d = ggml::get_f16(blk + t.d_offset);
  *dmin = t.dmin_offset >= 0 ? ggml::get_f16(blk + t.dmin_offset) : 0.0f;
}

}  // namespace lowbit
