// Dequantization of the formats with one code per element (int 2/3/4/8-bit, q4_0, q8_0, iq4_nl and
// the table and fp8 formats): each row's codes are unpacked into bytes, then every run of columns that
// shares a scale is scaled in one loop the compiler vectorizes. Values are bit for bit those of the
// per-element definition, scale_at(q, idx) * code_value(L, code, z) (core/qmatrix.h).
#pragma once

#include <cstdint>

#include "../core/qmatrix.h"

namespace lowbit {

// Every code of row r, one byte each (codes[c] = element_code(q.layout, q.data, r, c)), for the same
// matrices.
void unpack_code_row(const QMatrixView& q, int64_t r, uint8_t* codes);

// out[(r - r0) * cols + c] for rows [r0, r1) of a matrix of per-element codes (not ggml's whole-block
// types and not 16-bit floats).
void dequantize_code_rows(const QMatrixView& q, int64_t r0, int64_t r1, float* out);

}  // namespace lowbit
