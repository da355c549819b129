// The quantizer: the integer formats' formulas in float32, bit for bit as NumPy's float32 arithmetic.
#pragma once

#include <cstdint>

#include "../core/layout.h"
#include "../runtime/thread_pool.h"
#include "../runtime/work.h"

namespace lowbit {

// Quantizes row-major `w` (layout.rows x layout.cols, all finite) into `data`
// (layout.data_bytes()), `scales` (layout.stored_scales() of layout.scale_type),
// for asymmetric layouts `zeros` (layout.num_zeros()), and nvfp4's tensor scale.
// Returns nullptr on success or a message when a scale is not representable in
// its type (an asymmetric range wider than FLT_MAX, a float16 overflow); outputs
// are then unspecified. Work is spread over `pool`
// (results do not depend on its thread count); without one it runs on the caller.
// `progress` (optional) counts elements visited. A cancelled call (work.h) returns early with
// unspecified outputs.
const char* quantize_matrix(const float* w, const QuantLayout& layout, uint8_t* data, void* scales, uint8_t* zeros,
                            float* tensor_scale, ThreadPool* pool = nullptr, Work* progress = nullptr);

// out[r * cols + c] = scale * value(q), float32 (qmatrix.h: scale_at, code_value).
void dequantize_matrix(const QMatrixView& q, float* out, ThreadPool* pool = nullptr);

// ggml's Q8_0 blocks (34 bytes per 32 values: an fp16 d = amax / 127, then roundf(x / d)) of n values,
// n a multiple of 32.
void quantize_row_q8_0(const float* x, int64_t n, uint8_t* out);

// The same for rows [r0, r1) only: out[(r - r0) * cols + c] (an embedding lookup).
void dequantize_rows(const QMatrixView& q, int64_t r0, int64_t r1, float* out);

struct ErrorStats {
  double relative_error;  // ||w - w^||_F / ||w||_F (0 when w is all zeros)
  double max_abs_error;
};
ErrorStats quantization_error(const float* w, const QMatrixView& q);

// Index of the first NaN or infinity in x[0..n), or -1.
int64_t first_non_finite(const float* x, int64_t n);

}  // namespace lowbit
