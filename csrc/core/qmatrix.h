// Element-level access to a quantized matrix for baseline code (quantizer,
// dequantizer, scalar reference): where a code sits, what it means, and the
// decoded value of each scale. Defines the formats' arithmetic once.
#pragma once

#include <cstdint>

#include "float_formats.h"
#include "formats.h"
#include "layout.h"

namespace lowbit {

// The code of element c in a row of `bits`-bit codes (2, 3; layout.h): a little-endian bit stream.
inline uint8_t bit_stream_code(const uint8_t* row, int bits, int64_t c) {
  const int64_t bit = c * bits;
  const unsigned two = row[bit >> 3] | (((bit & 7) + bits > 8) ? row[(bit >> 3) + 1] << 8 : 0);
  return static_cast<uint8_t>((two >> (bit & 7)) & ((1u << bits) - 1));
}

// Stores a code in a row of `bits`-bit codes (2, 3) whose bytes start cleared.
inline void put_bit_stream_code(uint8_t* row, int bits, int64_t c, unsigned code) {
  const int64_t bit = c * bits;
  row[bit >> 3] = static_cast<uint8_t>(row[bit >> 3] | code << (bit & 7));
  if ((bit & 7) + bits > 8) row[(bit >> 3) + 1] = static_cast<uint8_t>(row[(bit >> 3) + 1] | code >> (8 - (bit & 7)));
}

// Where a 4-bit code sits (layout.h): a row is blocks of 32 columns (the last one w = cols % 32 wide when
// shorter), each ceil(w / 2) bytes; byte j of a block holds its column j in the low nibble and column
// j + ceil(w / 2) in the high one. Whole blocks are ggml's q4_0 order, so a 16-byte load unpacks to the
// block's columns in order (low nibbles, then high).
struct NibbleSlot {
  int64_t byte;  // from the row's start
  int shift;     // 0 (low nibble) or 4
};
inline NibbleSlot nibble_slot(int64_t cols, int64_t c) {
  const int64_t b = c / 32, i = c % 32;
  const int64_t w = cols - 32 * b < 32 ? cols - 32 * b : 32;
  const int64_t half = (w + 1) / 2;
  return i < half ? NibbleSlot{16 * b + i, 0} : NibbleSlot{16 * b + i - half, 4};
}

// The 4-bit code of column c of a row of `cols` columns in that order (a ggml block's 32 codes are
// such a row of 32).
inline uint8_t nibble_code(const uint8_t* row, int64_t cols, int64_t c) {
  const NibbleSlot s = nibble_slot(cols, c);
  return static_cast<uint8_t>((row[s.byte] >> s.shift) & 0xF);
}

// The stored code of an int code q (two's complement for symmetric 8-bit, q + 2^(bits - 1) for
// narrower symmetric codes, q itself when asymmetric).
inline uint8_t stored_int_code(const QuantLayout& L, int q) {
  return static_cast<uint8_t>(L.bits < 8 && L.scheme == Scheme::kSymmetric ? q + (1 << (L.bits - 1)) : q);
}

// Stores the code of element c of a row (of bytes cleared first when bits < 8).
inline void put_element_code(const QuantLayout& L, uint8_t* row, int64_t c, uint8_t code) {
  if (L.bits == 8) {
    row[c] = code;
  } else if (L.bits == 4) {
    const NibbleSlot s = nibble_slot(L.cols, c);
    row[s.byte] = static_cast<uint8_t>(row[s.byte] | code << s.shift);
  } else {
    put_bit_stream_code(row, L.bits, c, code);
  }
}

// The 2-, 3-, 4- or 8-bit code of element (r, c).
inline uint8_t element_code(const QuantLayout& L, const uint8_t* data, int64_t r, int64_t c) {
  const uint8_t* row = data + r * L.row_bytes();
  if (L.ggml_blocks()) {
    const uint8_t* blk = row + (c / 32) * L.block_bytes() + 2;
    const int64_t i = c % 32;
    return L.format == Format::kQ8_0 ? blk[i] : nibble_code(blk, 32, i);
  }
  if (L.bits == 8) return row[c];
  if (L.bits == 4) return nibble_code(row, L.cols, c);
  return bit_stream_code(row, L.bits, c);
}

// The value of a code before scaling, in float32. `z` is the zero-point (int, asymmetric).
inline float code_value(const QuantLayout& L, uint8_t code, int z) {
  if (const float* levels = format_info(L.format).levels) return levels[code & 15];  // the table formats
  switch (L.format) {
    case Format::kInt:
      if (L.scheme == Scheme::kAsymmetric) return static_cast<float>(code - z);
      return static_cast<float>(L.bits == 8 ? static_cast<int8_t>(code) : code - (1 << (L.bits - 1)));
    case Format::kQ4_0: return static_cast<float>(code - 8);
    case Format::kQ8_0: return static_cast<float>(static_cast<int8_t>(code));
    case Format::kFP8E4M3: return fp8_to_fp32(code, kE4M3);
    case Format::kFP8E5M2: return fp8_to_fp32(code, kE5M2);
    default: break;  // no per-element codes: whole ggml blocks (formats/ggml_types.h) and 16-bit floats
  }
  return 0.0f;
}

// A stored scale's value (no tensor scale applied).
inline float decode_scale(ScaleType t, const void* p) {
  switch (t) {
    case ScaleType::kF32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case ScaleType::kF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return fp16_to_fp32(h);
    }
    case ScaleType::kE8M0: return e8m0_to_fp32(*static_cast<const uint8_t*>(p));
    case ScaleType::kE4M3: return fp8_to_fp32(*static_cast<const uint8_t*>(p), kE4M3);
  }
  return 0.0f;
}

// The scale multiplying the codes of scale index `idx` (QuantLayout::scale_index): the block scale
// times the tensor scale, one float32 rounding (tensor_scale is 1 for the formats without one, and
// s * 1 is s).
inline float scale_at(const QMatrixView& q, int64_t idx) {
  const QuantLayout& L = q.layout;
  if (L.ggml_blocks()) {
    const int64_t g = L.groups_per_row();
    return decode_scale(ScaleType::kF16, q.data + (idx / g) * L.row_bytes() + (idx % g) * L.block_bytes());
  }
  const float s = decode_scale(L.scale_type, static_cast<const uint8_t*>(q.scales) + idx * scale_type_bytes(L.scale_type));
  return s * q.tensor_scale;
}

}  // namespace lowbit
