// The 2-bit code planes of a packed block (kernels.h): codes of up to 3 bits as two chunks of 2-bit
// planes (q2_k, q3_k, tq, int 2- and 3-bit) and, for 3-bit codes, a third chunk of their high bits.
// Bits 2s and 2s + 1 of byte e of row r in chunk h are the low bits of column 16h + 4s + e; bit
// 4h + s of byte e in chunk 2 is bit 2 of that column. Scalar code for the packers and the scalar
// kernels; the SIMD kernels decode the same bits a vector at a time.
#pragma once

#include <cstdint>

#include "kernels.h"

namespace lowbit {

// Column c's code (0..7) of row r in the block of chunks at p.
inline int plane_code(const uint8_t* p, int64_t r, int c, bool third) {
  constexpr int64_t R = kPackRows;
  const int s = (c % 16) / 4, e = c % 4, h = c / 16;
  int u = (p[(h * R + r) * 4 + e] >> (2 * s)) & 3;
  if (third) u |= ((p[(2 * R + r) * 4 + e] >> (4 * h + s)) & 1) << 2;
  return u;
}

// Row r's codes u[0..32) of one block into its chunks at cb, every byte stored whole.
inline void put_plane_codes(const uint8_t* u, int64_t r, uint8_t* cb, bool third) {
  constexpr int64_t R = kPackRows;
  for (int e = 0; e < 4; ++e) {
    uint8_t plane[3] = {0, 0, 0};
    for (int s = 0; s < 4; ++s) {
      const int lo = u[4 * s + e], hi = u[16 + 4 * s + e];
      plane[0] = static_cast<uint8_t>(plane[0] | (lo & 3) << (2 * s));
      plane[1] = static_cast<uint8_t>(plane[1] | (hi & 3) << (2 * s));
      plane[2] = static_cast<uint8_t>(plane[2] | ((lo >> 2) & 1) << s | ((hi >> 2) & 1) << (4 + s));
    }
    cb[(0 * R + r) * 4 + e] = plane[0];
    cb[(1 * R + r) * 4 + e] = plane[1];
    if (third) cb[(2 * R + r) * 4 + e] = plane[2];
  }
}

}  // namespace lowbit
