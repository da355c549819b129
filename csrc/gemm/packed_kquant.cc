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

// Row r's codes u[0..32) of one 32-column block into its chunks at cb (kernels.h). Every byte of the
// row's chunks is stored whole (no read-modify-write), so a full tile needs no clearing first.
void put_codes(PCode c, const uint8_t* u, int64_t r, uint8_t* cb) {
  constexpr int64_t R = kPackRows;
  if (pcode_two_bit(c)) return put_plane_codes(u, r, cb, pcode_third_bit(c));
  const bool fifth = pcode_fifth_bit(c);
  for (int e = 0; e < 4; ++e) {
    // Byte e of each chunk: the columns 4ch + e (low half of the block) and 16 + 4ch + e (high half).
    uint8_t plane[2] = {0, 0};
    for (int ch = 0; ch < 4; ++ch) {
      const int lo = u[4 * ch + e], hi = u[16 + 4 * ch + e];
      cb[(ch * R + r) * 4 + e] = static_cast<uint8_t>((lo & 0xF) | (hi & 0xF) << 4);
      if (fifth) {
        plane[0] = static_cast<uint8_t>(plane[0] | ((lo >> 4) & 1) << ch | ((hi >> 4) & 1) << (4 + ch));
      } else if (c == PCode::kQ6K) {
        plane[0] = static_cast<uint8_t>(plane[0] | ((lo >> 4) & 3) << (2 * ch));
        plane[1] = static_cast<uint8_t>(plane[1] | ((hi >> 4) & 3) << (2 * ch));
      }
    }
    if (fifth) {
      cb[(4 * R + r) * 4 + e] = plane[0];
    } else if (c == PCode::kQ6K) {
      cb[(4 * R + r) * 4 + e] = plane[0];
      cb[(5 * R + r) * 4 + e] = plane[1];
    }
  }
}

}  // namespace

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
      for (int64_t sub = 0; sub < subs; ++sub) put_codes(a.code, blk.q + 32 * sub, r, p + sub * a.code_block_bytes());
    }
    p += subs * a.code_block_bytes();
  }
}

}  // namespace lowbit
