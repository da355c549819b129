#include "dequantize_codes.h"

#include <cstring>
#include <vector>

namespace lowbit {
namespace {

// The codes of a row of 4-bit codes in blocks of 32 (nibble_slot's order: byte j holds column j in
// the low nibble and column j + half in the high one), at `block_stride` bytes a block from `row`
// plus `skip` (ggml's blocks lead with their fp16 scale).
void unpack_nibble_blocks(const uint8_t* row, int64_t cols, int64_t block_stride, int64_t skip, uint8_t* codes) {
  for (int64_t b = 0; b * 32 < cols; ++b) {
    const uint8_t* p = row + b * block_stride + skip;
    const int64_t w = cols - 32 * b < 32 ? cols - 32 * b : 32, half = (w + 1) / 2;
    uint8_t* c = codes + 32 * b;
    for (int64_t j = 0; j < half; ++j) c[j] = p[j] & 0xF;
    for (int64_t j = 0; j < w - half; ++j) c[half + j] = p[j] >> 4;
  }
}

// A row of 2- or 3-bit codes (layout.h's bit streams): kBits bytes hold 8 whole codes.
template <int kBits>
void unpack_bit_stream(const uint8_t* row, int64_t cols, uint8_t* codes) {
  const int64_t whole = cols / 8 * 8;
  for (int64_t c = 0; c < whole; c += 8) {
    const uint8_t* p = row + c / 8 * kBits;
    uint32_t v = 0;
    for (int j = 0; j < kBits; ++j) v |= static_cast<uint32_t>(p[j]) << (8 * j);
    for (int j = 0; j < 8; ++j) codes[c + j] = (v >> (kBits * j)) & ((1u << kBits) - 1);
  }
  for (int64_t c = whole; c < cols; ++c) codes[c] = bit_stream_code(row, kBits, c);
}

}  // namespace

void unpack_code_row(const QMatrixView& q, int64_t r, uint8_t* codes) {
  const QuantLayout& L = q.layout;
  const uint8_t* row = q.data + r * L.row_bytes();
  if (L.ggml_blocks()) {
    // q4_0 / iq4_nl: 2 + 16 bytes a block; q8_0: 2 + 32.
    if (L.format == Format::kQ8_0) {
      for (int64_t b = 0; b * 32 < L.cols; ++b) std::memcpy(codes + 32 * b, row + b * L.block_bytes() + 2, 32);
    } else {
      unpack_nibble_blocks(row, L.cols, L.block_bytes(), 2, codes);
    }
  } else if (L.bits == 8) {
    std::memcpy(codes, row, static_cast<size_t>(L.cols));
  } else if (L.bits == 4) {
    unpack_nibble_blocks(row, L.cols, 16, 0, codes);
  } else if (L.bits == 2) {
    unpack_bit_stream<2>(row, L.cols, codes);
  } else {
    unpack_bit_stream<3>(row, L.cols, codes);
  }
}

namespace {

// How a code becomes its value before scaling (code_value): code - offset for the integer codes (the
// zero-point too when asymmetric; exact in float32), the code as int8 (8-bit symmetric, q8_0), or a
// lookup (the level tables and fp8).
struct CodeValues {
  enum class Kind { kOffset, kSigned8, kTable } kind = Kind::kTable;
  int offset = 0;           // kOffset
  bool zero_point = false;  // kOffset: minus the run's zero-point as well
  float table[256];         // kTable
};

CodeValues code_values(const QuantLayout& L) {
  CodeValues v;
  const bool levels = format_info(L.format).levels != nullptr;
  if (!levels && L.format == Format::kInt) {
    if (L.scheme == Scheme::kAsymmetric) {
      v.kind = CodeValues::Kind::kOffset;
      v.zero_point = true;
    } else if (L.bits == 8) {
      v.kind = CodeValues::Kind::kSigned8;
    } else {
      v.kind = CodeValues::Kind::kOffset;
      v.offset = 1 << (L.bits - 1);
    }
  } else if (!levels && L.format == Format::kQ4_0) {
    v.kind = CodeValues::Kind::kOffset;
    v.offset = 8;
  } else if (!levels && L.format == Format::kQ8_0) {
    v.kind = CodeValues::Kind::kSigned8;
  } else {
    for (int c = 0; c < 256; ++c) v.table[c] = code_value(L, static_cast<uint8_t>(c), 0);
  }
  return v;
}

// o[i] = s[i] * value(k[i]) (s[i] the run's scale; off[i] its offset, zero-points included).
template <typename Scale, typename Offset>
void scale_codes(const CodeValues& v, const uint8_t* k, int64_t n, Scale s, Offset off, float* o) {
  switch (v.kind) {
    case CodeValues::Kind::kOffset:
      for (int64_t i = 0; i < n; ++i) o[i] = s(i) * static_cast<float>(static_cast<int>(k[i]) - off(i));
      break;
    case CodeValues::Kind::kSigned8:
      for (int64_t i = 0; i < n; ++i) o[i] = s(i) * static_cast<float>(static_cast<int8_t>(k[i]));
      break;
    case CodeValues::Kind::kTable:
      for (int64_t i = 0; i < n; ++i) o[i] = s(i) * v.table[k[i]];
      break;
  }
}

}  // namespace

void dequantize_code_rows(const QMatrixView& q, int64_t r0, int64_t r1, float* out) {
  const QuantLayout& L = q.layout;
  const CodeValues v = code_values(L);
  std::vector<uint8_t> codes(static_cast<size_t>(L.cols));
  if (L.granularity == Granularity::kColumn) {
    // A scale (and zero-point) per column, the same for every row: decoded once.
    std::vector<float> s(static_cast<size_t>(L.cols));
    std::vector<int> off(static_cast<size_t>(L.cols), v.offset);
    for (int64_t c = 0; c < L.cols; ++c) {
      s[c] = scale_at(q, c);
      if (v.zero_point) off[c] += q.zeros[c];
    }
    for (int64_t r = r0; r < r1; ++r) {
      unpack_code_row(q, r, codes.data());
      scale_codes(v, codes.data(), L.cols, [&](int64_t i) { return s[i]; }, [&](int64_t i) { return off[i]; },
                  out + (r - r0) * L.cols);
    }
    return;
  }
  const int64_t span = L.scale_span();
  for (int64_t r = r0; r < r1; ++r) {
    unpack_code_row(q, r, codes.data());
    for (int64_t c0 = 0; c0 < L.cols; c0 += span) {
      const int64_t idx = L.scale_index(r, c0), n = span < L.cols - c0 ? span : L.cols - c0;
      const float s = scale_at(q, idx);
      const int off = v.offset + (v.zero_point ? q.zeros[idx] : 0);
      scale_codes(v, codes.data() + c0, n, [s](int64_t) { return s; }, [off](int64_t) { return off; },
                  out + (r - r0) * L.cols + c0);
    }
  }
}

}  // namespace lowbit
