// The dequantizers of the ggml types stored as whole blocks with headers (Storage::kSuperBlocks:
// q2_k ... q6_k, q4_1, q5_0, q5_1, iq4_xs, tq1_0, tq2_0), as ggml's dequantize_row_* computes
// them, written once for two kinds of caller:
//  - the formats (kquants.cc, q2_q3_k.cc, ...), with float_formats.h's fp16_to_fp32: dequantize()
//    and the reference that test/reference's NumPy ports check value for value;
//  - every kernel set (x86/dequantize_blocks.cc, arm/dequantize_blocks.cc), with the set's own
//    binary16 conversion: the float path of matmul on these types, and the same floats
//    (csrc/tests compare each set with the reference bit for bit).
// The 256-column types first decode a block's codes into bytes, then multiply them by one scale per
// 16 or 32 columns; the 32-column types (q4_1, q5_0, q5_1) work straight from their bytes (see
// dequantize_32), and iq4_xs looks its levels up per column (the kernel sets pass a byte-shuffle
// block function to `row` instead). Loops without branches or gathers, which the compiler vectorizes
// with the unit's own flags. Scales are computed in a loop of their own first (a branch beside the multiply stops GCC
// from vectorizing it), and the short inner loops carry `#pragma GCC unroll 1`: unrolled whole they
// were rebuilt element by element (byte inserts), 2-5x slower than the vector loop. Every value is the reference's expression (the same float32 operations in the same order:
// the build never contracts them into an FMA). Internal linkage throughout (and only data
// headers included), so a set's copy is never merged into baseline code.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../core/format_ids.h"
#include "../core/iq4_levels.h"

namespace lowbit {
namespace {
namespace ggml_dequant {

using HalfFn = float (*)(uint16_t);

template <HalfFn Half>
inline float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return Half(h);
}

// y[i] = d * q[i] - m: the affine block formats' value (q4_1 / q5_1 add their m: d * q - (-m) is
// the same float as d * q + m, signed zeros included).
template <int N>
inline void affine(const uint8_t* __restrict q, float d, float m, float* __restrict y) {
#pragma GCC unroll 1
  for (int i = 0; i < N; ++i) y[i] = d * static_cast<float>(q[i]) - m;
}
// y[i] = d * (q[i] - bias).
template <int N>
inline void offset(const uint8_t* __restrict q, int bias, float d, float* __restrict y) {
#pragma GCC unroll 1
  for (int i = 0; i < N; ++i) y[i] = d * static_cast<float>(q[i] - bias);
}

// Scale and min j (6 bits each) of a q4_k / q5_k block's 12 scale bytes q.
inline void scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}
// q3_k's 6-bit scale j (biased by 32) of its 12 scale bytes s.
inline int q3_k_scale(const uint8_t* s, int j) {
  const int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
  return lo | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4);
}
// iq4_xs's 6-bit scale of sub-block ib (biased by 32).
inline int iq4_xs_scale(const uint8_t* blk, int ib) {
  uint16_t h;
  std::memcpy(&h, blk + 2, 2);
  return ((blk[4 + ib / 2] >> 4 * (ib % 2)) & 0xf) | (((h >> 2 * ib) & 3) << 4);
}

// Block layouts (ggml's block_q2_K ...): byte offsets of each field.
constexpr int kQ2Scales = 0, kQ2Qs = 16, kQ2D = 80, kQ2Dmin = 82;
constexpr int kQ3Hmask = 0, kQ3Qs = 32, kQ3Scales = 96, kQ3D = 108;

// Codes of one block, in column order, into q.
// q2_k: column 128h + 32j + l is bits 2j of qs[32h + l].
inline void codes_q2_k(const uint8_t* blk, uint8_t* q) {
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j)
#pragma GCC unroll 1
      for (int l = 0; l < 32; ++l) q[128 * h + 32 * j + l] = static_cast<uint8_t>((blk[kQ2Qs + 32 * h + l] >> (2 * j)) & 3);
}
// q3_k: the same 2 bits, and bit 4h + j of hmask[l] on top (0..7; the value is the code minus 4).
inline void codes_q3_k(const uint8_t* blk, uint8_t* q) {
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j)
#pragma GCC unroll 1
      for (int l = 0; l < 32; ++l)
        q[128 * h + 32 * j + l] = static_cast<uint8_t>(((blk[kQ3Qs + 32 * h + l] >> (2 * j)) & 3) |
                                                       ((blk[kQ3Hmask + l] >> (4 * h + j)) & 1) << 2);
}
// Bit i of byte x as byte i (0 or 1) of a little-endian word: each byte of x * 0x0101... keeps its
// own bit by the mask, and + 0x7F carries a nonzero byte (at most 0x80) into its top bit only.
inline uint64_t bits_to_bytes(uint8_t x) {
  const uint64_t m = (x * 0x0101010101010101ull) & 0x8040201008040201ull;
  return ((m + 0x7F7F7F7F7F7F7F7Full) >> 7) & 0x0101010101010101ull;
}
// The fifth bits of a q5_0 / q5_1 block (bit j % 8 of qh[j / 8] for column j) as 16 or 0 per column.
inline void fifth_bits_32(const uint8_t* qh, uint8_t* fifth) {
  for (int b = 0; b < 4; ++b) {
    const uint64_t v = bits_to_bytes(qh[b]) << 4;
    std::memcpy(fifth + 8 * b, &v, 8);
  }
}

// q4_k / q5_k: pair p of 64 columns in 32 bytes, low nibbles first; q5_k's fifth bit in qh bit 2p
// (+1 for the high half).
template <bool Five>
inline void codes_qk_min(const uint8_t* blk, uint8_t* q) {
  const uint8_t* ql = blk + (Five ? 48 : 16);
  const uint8_t* qh = blk + 16;
  for (int p = 0; p < 4; ++p) {
#pragma GCC unroll 1
    for (int l = 0; l < 32; ++l) {
      q[64 * p + l] = ql[32 * p + l] & 0xF;
      q[64 * p + 32 + l] = ql[32 * p + l] >> 4;
    }
  }
  if (Five) {
    for (int p = 0; p < 4; ++p) {
#pragma GCC unroll 1
      for (int l = 0; l < 32; ++l) {
        q[64 * p + l] = static_cast<uint8_t>(q[64 * p + l] | ((qh[l] >> (2 * p)) & 1) << 4);
        q[64 * p + 32 + l] = static_cast<uint8_t>(q[64 * p + 32 + l] | ((qh[l] >> (2 * p + 1)) & 1) << 4);
      }
    }
  }
}
// q6_k: each 128 columns, quarter t of 32 in ql[l] low (t 0) / high (t 2) nibble, ql[l + 32] (t 1, 3),
// its top 2 bits in qh[l] bits 2t (0..63; the value is the code minus 32).
inline void codes_q6_k(const uint8_t* blk, uint8_t* q) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = blk + 64 * h;
    const uint8_t* qh = blk + 128 + 32 * h;
    uint8_t* o = q + 128 * h;
#pragma GCC unroll 1
    for (int l = 0; l < 32; ++l) {
      o[l] = static_cast<uint8_t>((ql[l] & 0xF) | (qh[l] & 3) << 4);
      o[32 + l] = static_cast<uint8_t>((ql[32 + l] & 0xF) | ((qh[l] >> 2) & 3) << 4);
      o[64 + l] = static_cast<uint8_t>((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4);
      o[96 + l] = static_cast<uint8_t>((ql[32 + l] >> 4) | ((qh[l] >> 6) & 3) << 4);
    }
  }
}
// iq4_xs: sub-block ib of 32 columns in 16 bytes at 8 + 16 ib, low nibbles first.
inline void codes_iq4_xs(const uint8_t* blk, uint8_t* q) {
  for (int ib = 0; ib < 8; ++ib) {
#pragma GCC unroll 1
    for (int j = 0; j < 16; ++j) q[32 * ib + j] = blk[8 + 16 * ib + j] & 0xf;
#pragma GCC unroll 1
    for (int j = 0; j < 16; ++j) q[32 * ib + 16 + j] = blk[8 + 16 * ib + j] >> 4;
  }
}
// q4_1 / q5_0 / q5_1: 16 bytes of nibbles (columns j and j + 16) and, for the 5-bit types, the
// fifth bits qh.
template <bool Fifth>
inline void codes_32(const uint8_t* qs, const uint8_t* qh, uint8_t* q) {
  uint8_t fifth[32] = {};
  if (Fifth) fifth_bits_32(qh, fifth);
#pragma GCC unroll 1
  for (int j = 0; j < 16; ++j) q[j] = (qs[j] & 0x0F) | fifth[j];
#pragma GCC unroll 1
  for (int j = 0; j < 16; ++j) q[j + 16] = (qs[j] >> 4) | fifth[16 + j];
}
// tq1_0: trit n (0 = most significant) of a byte holding ceil(t * 256 / 243), columns
// m + 32n (bytes 0-31), 160 + m + 16n (32-47), 240 + j + 4n (48-51, four trits).
inline int trit(uint8_t byte, int n) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const uint8_t q = static_cast<uint8_t>(byte * kPow3[n]);
  return (q * 3) >> 8;
}
inline void codes_tq1_0(const uint8_t* blk, uint8_t* code) {
  for (int n = 0; n < 5; ++n)
#pragma GCC unroll 1
    for (int m = 0; m < 32; ++m) code[m + 32 * n] = static_cast<uint8_t>(trit(blk[m], n));
  for (int n = 0; n < 5; ++n)
#pragma GCC unroll 1
    for (int m = 0; m < 16; ++m) code[160 + m + 16 * n] = static_cast<uint8_t>(trit(blk[32 + m], n));
  for (int j = 0; j < 4; ++j)
    for (int n = 0; n < 4; ++n) code[240 + j + 4 * n] = static_cast<uint8_t>(trit(blk[48 + j], n));
}
// tq2_0: column 128j + 32l + m is bits 2l of qs[32j + m].
inline void codes_tq2_0(const uint8_t* blk, uint8_t* code) {
  for (int j = 0; j < 2; ++j)
    for (int l = 0; l < 4; ++l)
#pragma GCC unroll 1
      for (int m = 0; m < 32; ++m) code[128 * j + 32 * l + m] = static_cast<uint8_t>((blk[32 * j + m] >> (2 * l)) & 3);
}

// One block into y (its block_cols floats).
template <HalfFn Half>
inline void q2_k(const uint8_t* blk, float* y) {
  uint8_t q[256];
  codes_q2_k(blk, q);
  const float d = f16_at<Half>(blk + kQ2D), min = f16_at<Half>(blk + kQ2Dmin);
  float ds[16], dm[16];
  for (int j = 0; j < 16; ++j) {
    ds[j] = d * (blk[kQ2Scales + j] & 0xF);
    dm[j] = min * (blk[kQ2Scales + j] >> 4);
  }
  for (int j = 0; j < 16; ++j) affine<16>(q + 16 * j, ds[j], dm[j], y + 16 * j);
}
template <HalfFn Half>
inline void q3_k(const uint8_t* blk, float* y) {
  uint8_t q[256];
  codes_q3_k(blk, q);
  const float d_all = f16_at<Half>(blk + kQ3D);
  float ds[16];
  for (int j = 0; j < 16; ++j) ds[j] = d_all * (q3_k_scale(blk + kQ3Scales, j) - 32);
  for (int j = 0; j < 16; ++j) offset<16>(q + 16 * j, 4, ds[j], y + 16 * j);
}
template <HalfFn Half, bool Five>
inline void qk_min(const uint8_t* blk, float* y) {
  uint8_t q[256];
  codes_qk_min<Five>(blk, q);
  const float d = f16_at<Half>(blk), min = f16_at<Half>(blk + 2);
  float ds[8], dm[8];
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    scale_min_k4(j, blk + 4, &s, &m);
    ds[j] = d * s;
    dm[j] = min * m;
  }
  for (int j = 0; j < 8; ++j) affine<32>(q + 32 * j, ds[j], dm[j], y + 32 * j);
}
// ggml's d * sc * q rounds d * sc first, so one such product per 16 columns gives the same floats.
template <HalfFn Half>
inline void q6_k(const uint8_t* blk, float* y) {
  uint8_t q[256];
  codes_q6_k(blk, q);
  const float d = f16_at<Half>(blk + 208);
  const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
  // Column 128h + 32t + 16half + l has scale sc[8h + 2t + half]: the 16-column groups in column order.
  float ds[16];
  for (int j = 0; j < 16; ++j) ds[j] = d * sc[j];
  for (int j = 0; j < 16; ++j) offset<16>(q + 16 * j, 32, ds[j], y + 16 * j);
}
// A table lookup per column (no portable vector form: the kernel sets' dequantize_blocks look the
// levels up with a byte shuffle instead), straight from the bytes as ggml writes it; a table of the 16
// products per sub-block measured up to 1.2x slower.
template <HalfFn Half>
inline void iq4_xs(const uint8_t* blk, float* y) {
  const float d = f16_at<Half>(blk);
  const uint8_t* qs = blk + 8;
  for (int ib = 0; ib < 8; ++ib, qs += 16, y += 32) {
    const float dl = d * (iq4_xs_scale(blk, ib) - 32);
    for (int j = 0; j < 16; ++j) {
      y[j] = dl * kIQ4NL[qs[j] & 0xf];
      y[j + 16] = dl * kIQ4NL[qs[j] >> 4];
    }
  }
}
// The 32-column types straight from their bytes, one loop per half of the block (no code buffer:
// its byte stores would be reloaded wider, which stalls store forwarding at a block's size; the
// fifth bits' words are stored and reloaded at the same width).
template <bool Fifth>
inline void dequantize_32(const uint8_t* __restrict qs, const uint8_t* qh, int bias, float d, float m, float* __restrict y) {
  uint8_t fifth[32] = {};
  if (Fifth) fifth_bits_32(qh, fifth);
#pragma GCC unroll 1
  for (int j = 0; j < 16; ++j) y[j] = d * static_cast<float>(((qs[j] & 0x0F) | fifth[j]) - bias) - m;
#pragma GCC unroll 1
  for (int j = 0; j < 16; ++j) y[16 + j] = d * static_cast<float>(((qs[j] >> 4) | fifth[16 + j]) - bias) - m;
}
template <HalfFn Half>
inline void q4_1(const uint8_t* blk, float* y) {
  dequantize_32<false>(blk + 4, nullptr, 0, f16_at<Half>(blk), -f16_at<Half>(blk + 2), y);
}
// d * (q - 16) - 0 is d * (q - 16) (a zero subtracted changes no float, -0 included: -0 - 0 = -0).
template <HalfFn Half>
inline void q5_0(const uint8_t* blk, float* y) {
  dequantize_32<true>(blk + 6, blk + 2, 16, f16_at<Half>(blk), 0.0f, y);
}
template <HalfFn Half>
inline void q5_1(const uint8_t* blk, float* y) {
  dequantize_32<true>(blk + 8, blk + 4, 0, f16_at<Half>(blk), -f16_at<Half>(blk + 2), y);
}
template <HalfFn Half>
inline void tq1_0(const uint8_t* blk, float* y) {
  uint8_t q[256];
  codes_tq1_0(blk, q);
  offset<256>(q, 1, f16_at<Half>(blk + 52), y);
}
template <HalfFn Half>
inline void tq2_0(const uint8_t* blk, float* y) {
  uint8_t q[256];
  codes_tq2_0(blk, q);
  offset<256>(q, 1, f16_at<Half>(blk + 64), y);
}

// A row of k columns (whole blocks) of format f at `in` into out; false for a format not stored as
// such blocks (nothing written). IQ4XS: iq4_xs's block function (a kernel set's byte shuffle).
using BlockFn = void (*)(const uint8_t*, float*);
template <HalfFn Half, BlockFn IQ4XS = iq4_xs<Half>>
inline bool row(Format f, const uint8_t* in, int64_t k, float* out) {
  auto each = [&](auto cols, auto bytes, auto block) {
    for (int64_t b = 0; b < k / cols; ++b) block(in + b * bytes, out + b * cols);
    return true;
  };
  using C256 = std::integral_constant<int, 256>;
  using C32 = std::integral_constant<int, 32>;
  switch (f) {
    case Format::kQ2_K: return each(C256{}, 84, [](const uint8_t* b, float* y) { q2_k<Half>(b, y); });
    case Format::kQ3_K: return each(C256{}, 110, [](const uint8_t* b, float* y) { q3_k<Half>(b, y); });
    case Format::kQ4_K: return each(C256{}, 144, [](const uint8_t* b, float* y) { qk_min<Half, false>(b, y); });
    case Format::kQ5_K: return each(C256{}, 176, [](const uint8_t* b, float* y) { qk_min<Half, true>(b, y); });
    case Format::kQ6_K: return each(C256{}, 210, [](const uint8_t* b, float* y) { q6_k<Half>(b, y); });
    case Format::kIQ4_XS: return each(C256{}, 136, IQ4XS);
    case Format::kQ4_1: return each(C32{}, 20, [](const uint8_t* b, float* y) { q4_1<Half>(b, y); });
    case Format::kQ5_0: return each(C32{}, 22, [](const uint8_t* b, float* y) { q5_0<Half>(b, y); });
    case Format::kQ5_1: return each(C32{}, 24, [](const uint8_t* b, float* y) { q5_1<Half>(b, y); });
    case Format::kTQ1_0: return each(C256{}, 54, [](const uint8_t* b, float* y) { tq1_0<Half>(b, y); });
    case Format::kTQ2_0: return each(C256{}, 66, [](const uint8_t* b, float* y) { tq2_0<Half>(b, y); });
    default: return false;
  }
}

}  // namespace ggml_dequant
}  // namespace
}  // namespace lowbit
