// lowbit's 4-bit rows (core/qmatrix.h nibble_slot: split per 32 columns, ggml's q4_0 order) and the
// interleaved order other tools use (column c in byte c / 2, the low nibble when c is even: onnxruntime's
// MatMulNBits, GPTQ's bit streams, bitsandbytes with its nibbles swapped, lowbit's byte layout 1).
#pragma once

#include <cstdint>

namespace lowbit {

// dst = the rows of src in the other order; both rows * ceil(cols / 2) bytes, not overlapping. A last
// high nibble past cols (odd widths) is written 0.
void nibbles_from_interleaved(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols);
void nibbles_to_interleaved(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols);

}  // namespace lowbit
