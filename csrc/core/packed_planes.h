// The 2-bit code planes of a packed block (kernels.h): codes of up to 3 bits as two chunks of 2-bit
// planes (q2_k, q3_k, tq, int 2- and 3-bit) and, for 3-bit codes, a third chunk of their high bits.
// Bits 2s and 2s + 1 of byte e of row r in chunk h are the low bits of column 16h + 4s + e; bit
// 4h + s of byte e in chunk 2 is bit 2 of that column. Scalar code for the packers and the scalar
// kernels; the SIMD kernels decode the same bits a vector at a time.
#pragma once

#include <cstdint>

#include "kernels.h"

namespace lowbit {

// Little-endian bytes p[0..n) as an integer.
inline uint64_t load_le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// Column c's code (0..7) of row r in the block of chunks at p.
inline int plane_code(const uint8_t* p, int64_t r, int c, bool third) {
  constexpr int64_t R = kPackRows;
  const int s = (c % 16) / 4, e = c % 4, h = c / 16;
  int u = (p[(h * R + r) * 4 + e] >> (2 * s)) & 3;
  if (third) u |= ((p[(2 * R + r) * 4 + e] >> (4 * h + s)) & 1) << 2;
  return u;
}

// Row r's codes u[0..32) of one block into its chunks at cb, every byte stored whole. Four columns
// (4s..4s + 3 of a half) are a little-endian 32-bit word, one byte each, and each byte's bits are moved
// within it by the masks, so four columns take a few word operations.
inline void put_plane_codes(const uint8_t* u, int64_t r, uint8_t* cb, bool third) {
  constexpr int64_t R = kPackRows;
  uint32_t high = 0;
  for (int h = 0; h < 2; ++h) {
    uint32_t plane = 0;
    for (int s = 0; s < 4; ++s) {
      const uint32_t v = static_cast<uint32_t>(load_le(u + 16 * h + 4 * s, 4));
      plane |= (v & 0x03030303u) << (2 * s);
      high |= ((v >> 2) & 0x01010101u) << (4 * h + s);
    }
    for (int e = 0; e < 4; ++e) cb[(h * R + r) * 4 + e] = static_cast<uint8_t>(plane >> (8 * e));
  }
  if (third)
    for (int e = 0; e < 4; ++e) cb[(2 * R + r) * 4 + e] = static_cast<uint8_t>(high >> (8 * e));
}

// A 4 x 4 transpose of 2-bit fields: the field at bits 8s + 2e moves to 8e + 2s, by two exchanges of
// the fields that differ in both indices (2 x 2 fields by 6 bits, then 2 x 2 blocks of them by 12).
inline uint32_t transpose_2bit_4x4(uint32_t x) {
  uint32_t t = (x ^ (x >> 6)) & 0x00CC00CCu;
  x ^= t ^ (t << 6);
  t = (x ^ (x >> 12)) & 0x0000F0F0u;
  return x ^ t ^ (t << 12);
}

// 8 codes of 3 bits (a 24-bit value) one a byte, by halving the fields' groups: 12-, 6-, then 3-bit.
inline uint64_t spread_3bit(uint64_t v) {
  v = (v & 0xFFF) | (v & 0xFFF000) << 20;
  v = (v & 0x0000003F0000003Full) | (v & 0x00000FC000000FC0ull) << 10;
  return (v & 0x0007000700070007ull) | (v & 0x0038003800380038ull) << 5;
}

// Row r's block of 32 codes from a row's bit stream (layout.h; `src` at the block's first byte: 8 bytes of
// 2-bit codes or 12 of 3-bit) into its chunks at cb: the bytes put_plane_codes writes for those codes.
// 2-bit: column 4s + e of a half sits at bit 8s + 2e of its 32 bits, and the plane wants it at 8e + 2s.
inline void put_stream_planes(const uint8_t* src, int bits, int64_t r, uint8_t* cb) {
  constexpr int64_t R = kPackRows;
  uint32_t plane[3];
  if (bits == 2) {
    const uint64_t w = load_le(src, 8);
    plane[0] = transpose_2bit_4x4(static_cast<uint32_t>(w));
    plane[1] = transpose_2bit_4x4(static_cast<uint32_t>(w >> 32));
  } else {
    // a holds columns 16h .. 16h + 7 a byte each (s = 0, 1), b columns 16h + 8 .. 16h + 15 (s = 2, 3);
    // byte j of either is e = j % 4.
    plane[2] = 0;
    for (int h = 0; h < 2; ++h) {
      const uint64_t a = spread_3bit(load_le(src + 6 * h, 3)), b = spread_3bit(load_le(src + 6 * h + 3, 3));
      const uint64_t low = (a & 0x0303030303030303ull) | (b & 0x0303030303030303ull) << 4;
      plane[h] = static_cast<uint32_t>(low) | static_cast<uint32_t>(low >> 32) << 2;
      const uint64_t high = (a >> 2 & 0x0101010101010101ull) | (b >> 2 & 0x0101010101010101ull) << 2;
      plane[2] |= (static_cast<uint32_t>(high) | static_cast<uint32_t>(high >> 32) << 1) << (4 * h);
    }
  }
  for (int h = 0; h < (bits == 3 ? 3 : 2); ++h)
    for (int e = 0; e < 4; ++e) cb[(h * R + r) * 4 + e] = static_cast<uint8_t>(plane[h] >> (8 * e));
}

}  // namespace lowbit
