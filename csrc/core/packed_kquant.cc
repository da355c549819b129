#include "packed_kquant.h"

#include <cstring>

#include "kquants.h"

namespace lowbit {

PackPlan plan_pack_kquant(const QMatrixView& q) {
  const QuantLayout& L = q.layout;
  PackPlan p;
  PackedArgs& a = p.args;
  a.n = L.rows;
  a.k = L.cols;  // a multiple of 256: the format's layout requires it
  a.code = L.format == Format::kQ4_K ? PCode::kQ4K : L.format == Format::kQ5_K ? PCode::kQ5K : PCode::kQ6K;
  a.stype = SType::kF16;
  a.group = kSuperBlock;
  a.tile_bytes = L.cols / kSuperBlock * a.header_bytes() + L.cols / 32 * a.code_block_bytes();
  p.bytes = (L.rows + kPackRows - 1) / kPackRows * a.tile_bytes;
  p.packable = true;
  return p;
}

void pack_kquant_tile(const QMatrixView& q, const PackedArgs& a, int64_t t, uint8_t* out) {
  const Format f = q.layout.format;
  const bool q6 = a.code == PCode::kQ6K;
  const int64_t bb = kquant_block_bytes(f), row_bytes = q.layout.row_bytes();
  const int64_t r0 = t * kPackRows, rows = a.n - r0 < kPackRows ? a.n - r0 : kPackRows;
  // Padding rows are all zero bytes: zero scales and codes, so they add nothing and are never stored.
  std::memset(out, 0, static_cast<size_t>(a.tile_bytes));
  KQuantBlock blk;
  uint8_t* p = out;
  for (int64_t s = 0; s < a.k / kSuperBlock; ++s) {
    uint8_t* head = p;
    p += a.header_bytes();
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* src = q.data + (r0 + r) * row_bytes + s * bb;
      kquant_decode(f, src, &blk);
      // The fp16 scales' own bits (Q6_K: d at byte 208; Q4_K / Q5_K: d, dmin at 0 and 2).
      if (q6) {
        std::memcpy(head + 2 * r, src + 208, 2);
        for (int h = 0; h < 16; ++h) head[2 * kPackRows + h * kPackRows + r] = static_cast<uint8_t>(static_cast<int8_t>(blk.sc[h]));
      } else {
        std::memcpy(head + 2 * r, src, 2);
        std::memcpy(head + 2 * kPackRows + 2 * r, src + 2, 2);
        for (int j = 0; j < 8; ++j) {
          head[4 * kPackRows + j * kPackRows + r] = static_cast<uint8_t>(blk.sc[j]);
          head[12 * kPackRows + j * kPackRows + r] = static_cast<uint8_t>(blk.m[j]);
        }
      }
      for (int sub = 0; sub < 8; ++sub) {
        uint8_t* cb = p + sub * a.code_block_bytes();
        const uint8_t* u = blk.q + 32 * sub;
        for (int ch = 0; ch < 4; ++ch) {
          for (int e = 0; e < 4; ++e) {
            const int lo = 4 * ch + e, hi = 16 + 4 * ch + e;  // the columns in the byte's low and high nibbles
            cb[(ch * kPackRows + r) * 4 + e] = static_cast<uint8_t>((u[lo] & 0xF) | (u[hi] & 0xF) << 4);
            if (a.code == PCode::kQ5K) {
              cb[(4 * kPackRows + r) * 4 + e] |= static_cast<uint8_t>(((u[lo] >> 4) & 1) << ch | ((u[hi] >> 4) & 1) << (4 + ch));
            } else if (q6) {
              cb[(4 * kPackRows + r) * 4 + e] |= static_cast<uint8_t>(((u[lo] >> 4) & 3) << (2 * ch));
              cb[(5 * kPackRows + r) * 4 + e] |= static_cast<uint8_t>(((u[hi] >> 4) & 3) << (2 * ch));
            }
          }
        }
      }
    }
    p += 8 * a.code_block_bytes();
  }
}

}  // namespace lowbit
