#include "packed_kquant.h"

#include <cstring>

#include "../core/float_formats.h"
#include "../core/packed_planes.h"
#include "../formats/ggml_types.h"

namespace lowbit {
namespace {

// Row r's header of one block (kernels.h: the arrays [..][kPackRows]).
void put_header(PCode c, const GgmlBlock& b, int64_t r, uint8_t* head) {
  constexpr int64_t R = kPackRows;
  std::memcpy(head + 2 * r, &b.d_bits, 2);
  switch (c) {
    case PCode::kQ4K:
    case PCode::kQ5K:
      std::memcpy(head + 2 * R + 2 * r, &b.dmin_bits, 2);
      for (int j = 0; j < 8; ++j) {
        head[4 * R + j * R + r] = static_cast<uint8_t>(b.sc[j]);
        head[12 * R + j * R + r] = static_cast<uint8_t>(b.m[j]);
      }
      break;
    case PCode::kQ6K:
    case PCode::kQ3K:
      for (int h = 0; h < 16; ++h) head[2 * R + h * R + r] = static_cast<uint8_t>(static_cast<int8_t>(b.sc[h]));
      break;
    case PCode::kQ2K:
      std::memcpy(head + 2 * R + 2 * r, &b.dmin_bits, 2);
      for (int h = 0; h < 16; ++h) head[4 * R + h * R + r] = static_cast<uint8_t>(b.sc[h] | b.m[h] << 4);
      break;
    case PCode::kIQ4XS:
      for (int j = 0; j < 8; ++j) head[2 * R + j * R + r] = static_cast<uint8_t>(static_cast<int8_t>(b.sc[j]));
      break;
    case PCode::kQ4_1:
    case PCode::kQ5_1: std::memcpy(head + 2 * R + 2 * r, &b.dmin_bits, 2); break;  // m
    default: break;
  }
}

}  // namespace

void put_block_codes(PCode c, const uint8_t* u, int64_t r, uint8_t* cb) {
  constexpr int64_t R = kPackRows;
  if (pcode_two_bit(c)) return put_plane_codes(u, r, cb, pcode_third_bit(c));
  if (c == PCode::kU8) {  // four columns a word in chunks 0-7
    for (int t = 0; t < 8; ++t) std::memcpy(cb + (t * R + r) * 4, u + 4 * t, 4);
    return;
  }
  // Byte e of chunk ch: columns 4ch + e (low nibble) and 16 + 4ch + e (high), so a chunk is the words of
  // those four columns; each byte's bits move within it under the masks. The high bits of 5-bit codes
  // go to a plane (bit ch of byte e: column 4ch + e; bit 4 + ch: 16 + 4ch + e), q6_k's two to two.
  uint32_t plane[2] = {0, 0};
  for (int ch = 0; ch < 4; ++ch) {
    const uint32_t lo = static_cast<uint32_t>(load_le(u + 4 * ch, 4));
    const uint32_t hi = static_cast<uint32_t>(load_le(u + 16 + 4 * ch, 4));
    const uint32_t v = (lo & 0x0F0F0F0Fu) | (hi & 0x0F0F0F0Fu) << 4;
    std::memcpy(cb + (ch * R + r) * 4, &v, 4);
    if (pcode_fifth_bit(c)) {
      plane[0] |= (lo >> 4 & 0x01010101u) << ch | (hi >> 4 & 0x01010101u) << (4 + ch);
    } else if (c == PCode::kQ6K) {
      plane[0] |= (lo >> 4 & 0x03030303u) << (2 * ch);
      plane[1] |= (hi >> 4 & 0x03030303u) << (2 * ch);
    }
  }
  if (pcode_fifth_bit(c) || c == PCode::kQ6K) std::memcpy(cb + (4 * R + r) * 4, &plane[0], 4);
  if (c == PCode::kQ6K) std::memcpy(cb + (5 * R + r) * 4, &plane[1], 4);
}

PackPlan plan_pack_kquant(const QMatrixView& q) {
  const QuantLayout& L = q.layout;
  PackPlan p;
  PackedArgs& a = p.args;
  a.n = L.rows;
  a.k = L.cols;  // a multiple of the block's columns: the format's layout requires it
  a.code = ggml_block_type(L.format).pcode;
  a.stype = SType::kF16;
  a.group = a.block_cols();
  if (a.code == PCode::kIQ4XS) a.lut = kIQ4NL;
  a.tile_bytes = L.cols / a.block_cols() * a.header_bytes() + L.cols / 32 * a.code_block_bytes();
  p.bytes = (L.rows + kPackRows - 1) / kPackRows * a.tile_bytes;
  p.packable = true;
  return p;
}

void pack_kquant_tile(const QMatrixView& q, const PackedArgs& a, int64_t t, uint8_t* out) {
  const Format f = q.layout.format;
  const int64_t bb = q.layout.block_bytes(), row_bytes = q.layout.row_bytes(), subs = a.block_cols() / 32;
  const int64_t r0 = t * kPackRows, rows = a.n - r0 < kPackRows ? a.n - r0 : kPackRows;
  // Padding rows are all zero bytes: zero scales and codes, so they add nothing and are never stored.
  // A full tile has every byte written below.
  if (rows < kPackRows) std::memset(out, 0, static_cast<size_t>(a.tile_bytes));
  GgmlBlock blk;
  uint8_t* p = out;
  for (int64_t s = 0; s < a.k / a.block_cols(); ++s) {
    uint8_t* head = p;
    p += a.header_bytes();
    for (int64_t r = 0; r < rows; ++r) {
      ggml_decode_block(f, q.data + (r0 + r) * row_bytes + s * bb, &blk);
      put_header(a.code, blk, r, head);
      for (int64_t sub = 0; sub < subs; ++sub) put_block_codes(a.code, blk.q + 32 * sub, r, p + sub * a.code_block_bytes());
    }
    p += subs * a.code_block_bytes();
  }
}

}  // namespace lowbit
