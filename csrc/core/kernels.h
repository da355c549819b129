// Kernel interfaces: plain pointers, sizes and strides. Every ISA implements the
// same signatures in its own namespace (lowbit::ref, lowbit::avx2, lowbit::neon,
// ...); the dispatcher hands them out. No ISA-specific code may live here.
#pragma once

#include <cstdint>
#include <type_traits>

#include "format_ids.h"

namespace lowbit {

// Activations are quantized in blocks of this many values (like ggml's Q8_0).
constexpr int64_t kActBlock = 32;

// How a weight byte (or nibble) encodes its value.
enum class WCode : uint8_t {
  kU4,    // unsigned nibble u, value u - bias
  kS8,    // signed byte q, value q (bias is 0)
  kU8,    // unsigned byte u, value u - bias
  kLut4,  // nibble u, value lut_f32[u] (float path) or lut_i8[u] (int8 path)
  kE4M3,  // OCP FP8 E4M3 byte (float path only)
  kE5M2,  // OCP FP8 E5M2 byte (float path only)
  kU2,    // 2- / 3-bit code u in each row's bit stream (layout.h), value u - bias: the scalar
  kU3,    // kernels only (the SIMD sets multiply these codes packed, PCode kU2 / kU3)
};

// How a scale is stored.
enum class SType : uint8_t { kF32, kF16, kE8M0, kE4M3 };

// A slice of weight rows with their scales. A row is k / 32 blocks of 32 columns,
// block b of row j at data + j * row_bytes + b * block_bytes (4-bit: 16 bytes, byte e
// holding column e in its low nibble and column 16 + e in its high one; 8-bit: 32 bytes).
// The scale of (row j, column c) is stored at
//   scales + j * scale_row_bytes + (c / group) * scale_group_bytes
// as `stype`, and multiplies the codes after being multiplied by scale_mul
// (float path) or scale_mul_i8 (int8 path: lut_i8 is lut_f32 / lut_i8_scale).
// The bias (zero-point) is zeros[j * zero_stride + c / group] when zeros is
// set, else `bias`. Column granularity is handled by the driver (scales folded
// into x), so kernels never see it.
struct WeightArgs {
  const uint8_t* data = nullptr;
  int64_t row_bytes = 0;
  int64_t block_bytes = 0;
  int64_t k = 0;  // columns
  WCode code = WCode::kS8;
  const uint8_t* scales = nullptr;
  SType stype = SType::kF32;
  int64_t scale_row_bytes = 0;  // 0: one scale for all rows
  int64_t scale_group_bytes = 0;
  float scale_mul = 1.0f;
  float scale_mul_i8 = 1.0f;
  int64_t group = 0;  // columns per scale along a row: 16 (two scales per block) or a multiple of 32
  const uint8_t* zeros = nullptr;
  int64_t zero_stride = 0;
  int bias = 0;
  const float* lut_f32 = nullptr;  // 16 entries
  const int8_t* lut_i8 = nullptr;  // 16 entries
  // When nonzero, lut_i8[u] + lut_bias is in [0, 63] for every u, so kernels may multiply
  // unsigned entries and subtract lut_bias * sum(x) (E2M1's table; NF4's spans 254).
  int lut_bias = 0;
  // kE8M0 / kE4M3 scales: the value of each of the 256 bytes, so kernels decode with one load.
  const float* scale_lut = nullptr;
};

// int8-quantized activations: row i has k codes at q + i * k, block scales at
// d + i * nb and block sums of the codes at sum + i * nb, nb = ceil(k / 32).
struct ActI8 {
  const int8_t* q = nullptr;
  const float* d = nullptr;
  const int32_t* sum = nullptr;
  int64_t k = 0;
  int64_t nb = 0;
};

// y[i * y_stride + j] for i in [0, m), j in [n0, n1):
//   gemm_i8:  sum over blocks b: (d_ib * s_j,b) * (sum_k xq_ik * (w_jk - bias_j,b))
//             (per-block integer sums; the float accumulation order is the kernel's own)
//   gemm_f32: sum_k x_ik * (s_jk * v_jk), v the code's value (w - bias, a table entry or
//             an fp8 value), the dequantized weight rounded to float32 exactly as
//             dequantize() does.
//   In gemm_i8 the integer value of a kLut4 code is lut_i8[code].
using GemmI8Fn = void (*)(const WeightArgs& w, const ActI8& x, int64_t m, int64_t n0, int64_t n1, float* y,
                          int64_t y_stride);
using GemmF32Fn = void (*)(const WeightArgs& w, const float* x, int64_t x_stride, int64_t m, int64_t n0, int64_t n1,
                           float* y, int64_t y_stride);
// Quantizes one row of k floats: per block of 32, d = amax / 127 and
// q = round-half-even(x / d) held to [-127, 127] (0 when d == 0; past 127 only where d is
// subnormal); sum = sum of the block's codes.
using QuantizeActFn = void (*)(const float* x, int64_t k, int8_t* q, float* d, int32_t* sum);
// From this many rows of x, gemm_f32 and sgemm run on packed panels (see
// gemm/panel_gemm.h) and the driver hands them wider column chunks; below it
// the dot-product kernels, which stream each weight row once, are as fast or faster.
constexpr int64_t kPanelMinRows = 12;
// Plain fp32 y = x * w^T, w row-major [n, k]: the baseline the benchmarks compare against.
using SgemmFn = void (*)(const float* x, int64_t x_stride, const float* w, int64_t w_stride, int64_t k, int64_t m,
                         int64_t n0, int64_t n1, float* y, int64_t y_stride);

// In-place unnormalised fast Walsh-Hadamard transform of n floats (n a power of two, >= 8):
// v <- H_n v with Sylvester's H_n. Every butterfly is one float32 add or subtract, so every
// kernel set gives the same bits.
using FwhtFn = void (*)(float* v, int64_t n);

// Prepared (packed) weights: the layout every x86 kernel set reads, made once by
// pack_weights() (gemm/packed.h). Rows are packed in tiles of kPackRows; a tile is
// one contiguous stream, for each scale group in turn:
//   scales: kPackRows values of `stype` (group 16: 2 * kPackRows per 32-block, the
//           block's first halves then its second halves, stored just before the block),
//   zero-points: kPackRows bytes when `zeros` (int asymmetric),
//   the group's 32-column blocks of codes, each as chunks of kPackRows x 4 bytes:
//     4-bit: 4 chunks; byte e of row r in chunk t holds column 4t + e in its low nibble
//            and column 16 + 4t + e in its high nibble (so low nibbles are the block's
//            first 16 columns, high nibbles its last 16);
//     8-bit: 8 chunks; byte e of row r in chunk t is column 4t + e.
// Codes are unsigned u with value u - bias (zero-point when `zeros`); 4-bit tables
// (kLut4) hold a nibble whose value is lut_i8[u]. One 4-byte group of a row is what an
// int8 dot-product instruction (vpdpbusd, sdot) multiplies by 4 broadcast activations,
// so a vector of kPackRows lanes accumulates kPackRows output rows with no
// horizontal sums. Rows past n in the last tile are zero codes with zero scales.
constexpr int64_t kPackRows = 16;
//
// The ggml types that decode whole blocks (codes kQ4K ... kQ5_1; stype kF16, group the block's
// columns: 256, or 32 for q4_1 / q5_0 / q5_1) keep ggml's scales: each tile's block starts with
// a header of arrays [..][kPackRows] (fp16 as their bits, one byte per small scale):
//   q4_k / q5_k: d, dmin, then sc[8] and m[8] (sub-block j's 6-bit scale and min);
//   q6_k:        d, then sc[16] (each 16 columns' int8 scale);
//   q3_k:        d, then sc[16] (each 16 columns' 6-bit scale minus 32, as int8);
//   q2_k:        d, dmin, then scm[16] (each 16 columns' ggml byte: scale | min << 4);
//   iq4_xs:      d, then sc[8] (each 32 columns' 6-bit scale minus 32, as int8);
//   q4_1 / q5_1: d, m;   q5_0, tq (tq1_0 and tq2_0, both packed alike): d;
// and its blocks of 32 columns follow, each the 4 chunks of 4-bit codes above holding the codes'
// low 4 bits (iq4_xs: indices into `lut`), then the high bits:
//   q5_k, q5_0, q5_1: 1 chunk; bit t of byte e of row r is bit 4 of the column whose low bits sit
//         in chunk t % 4, byte e, low nibble (t < 4) or high nibble (t >= 4);
//   q6_k: 2 chunks; in chunk h, bits 2s and 2s + 1 of byte e of row r are bits 4 and 5 of
//         column 16h + 4s + e;
// except q2_k, q3_k and tq, whose 2 low bits take 2 chunks laid out as q6_k's high bits (bits 2s
// and 2s + 1 of chunk h: column 16h + 4s + e), q3_k's third bit then 1 chunk laid out as q5_k's fifth.
// So decoding is a shift and a mask per chunk, every row stays in its own lane, and a tile holds
// the bytes ggml's blocks hold plus 4 bytes per row and super-block for q4_k / q5_k (the scales
// unpacked from 12 bytes to 16), 4 for q3_k, 2 for iq4_xs, none for the others (tq1_0's five
// trits a byte become 2 bits each: 66 bytes per row and 256 columns against the file's 54). Codes
// are unsigned: the value of u is u (q4_k, q5_k, q2_k, q4_1, q5_1), u - 32 (q6_k), u - 4 (q3_k),
// u - 16 (q5_0), u - 1 (tq), lut[u] (iq4_xs).

enum class PCode : uint8_t { kU4, kLut4, kU8, kU2, kU3, kQ4K, kQ5K, kQ6K, kQ2K, kQ3K, kIQ4XS, kQ4_1, kQ5_0, kQ5_1, kTQ };

// What the block-header codes' tiles hold, as every kernel (scalar, x86, NEON) and the packer read them.
constexpr bool pcode_has_dmin(PCode c) {  // a second fp16 per block: dmin, or q4_1 / q5_1's m
  return c == PCode::kQ4K || c == PCode::kQ5K || c == PCode::kQ2K || c == PCode::kQ4_1 || c == PCode::kQ5_1;
}
constexpr bool pcode_fifth_bit(PCode c) { return c == PCode::kQ5K || c == PCode::kQ5_0 || c == PCode::kQ5_1; }
// Codes in 2-bit planes (2 chunks a block) and, for 3-bit ones, a third chunk of their high bits.
constexpr bool pcode_two_bit(PCode c) {
  return c == PCode::kQ2K || c == PCode::kQ3K || c == PCode::kTQ || c == PCode::kU2 || c == PCode::kU3;
}
constexpr bool pcode_third_bit(PCode c) { return c == PCode::kQ3K || c == PCode::kU3; }
// Codes offset by a constant with one scale per block (value d * (u - offset)): q5_0, tq.
constexpr int pcode_code_offset(PCode c) { return c == PCode::kQ5_0 ? 16 : c == PCode::kTQ ? 1 : 0; }
// int8 scales per 16 columns and codes offset by a constant (32 / 4): q6_k, q3_k.
constexpr bool pcode_signed_halves(PCode c) { return c == PCode::kQ6K || c == PCode::kQ3K; }
// The largest unsigned code a kernel multiplies (kLut4 / iq4_xs: table entries, taken as bytes).
constexpr int pcode_max_code(PCode c) {
  switch (c) {
    case PCode::kTQ: return 2;
    case PCode::kU2: case PCode::kQ2K: return 3;
    case PCode::kU3: case PCode::kQ3K: return 7;
    case PCode::kU4: case PCode::kQ4K: case PCode::kQ4_1: return 15;
    case PCode::kQ5K: case PCode::kQ5_0: case PCode::kQ5_1: return 31;
    case PCode::kQ6K: return 63;
    default: return 255;
  }
}
constexpr int64_t pcode_block_cols(PCode c) {
  return c == PCode::kQ4_1 || c == PCode::kQ5_0 || c == PCode::kQ5_1 ? 32 : 256;
}

struct PackedArgs {
  const uint8_t* data = nullptr;
  int64_t n = 0, k = 0;    // output rows, columns (k a multiple of 32)
  int64_t tile_bytes = 0;  // bytes per tile of kPackRows rows
  PCode code = PCode::kU4;
  SType stype = SType::kF32;
  int64_t group = 32;      // columns per scale: 16, or a multiple of 32 (row and tensor scales: k)
  bool zeros = false;
  int bias = 0;            // value = u - bias when !zeros
  float scale_mul = 1.0f;  // decoded scales are multiplied by this (the int8 path's scale_mul_i8)
  const int8_t* lut = nullptr;  // kLut4: 16 signed values
  int lut_bias = 0;             // lut[u] + lut_bias is in [0, 255] for every u
  // The ggml codes with block headers (the layout above), and their block's columns.
  bool kquant() const { return code >= PCode::kQ4K; }
  int64_t block_cols() const { return pcode_block_cols(code); }
  // Whether the kernels read the activation codes' sums per 16 columns (ActI8 half sums).
  bool half_sums() const { return group == 16 || code == PCode::kQ6K || code == PCode::kQ3K || code == PCode::kQ2K; }
  // Bytes of a scale group's header (scales and zero-points) and of one block of codes.
  int64_t scale_bytes() const { return stype == SType::kF32 ? 4 : stype == SType::kF16 ? 2 : 1; }
  int64_t header_bytes() const {
    switch (code) {
      case PCode::kQ4K: case PCode::kQ5K: return kPackRows * (2 + 2 + 8 + 8);
      case PCode::kQ6K: case PCode::kQ3K: return kPackRows * (2 + 16);
      case PCode::kQ2K: return kPackRows * (2 + 2 + 16);
      case PCode::kIQ4XS: return kPackRows * (2 + 8);
      case PCode::kQ4_1: case PCode::kQ5_1: return kPackRows * 4;
      case PCode::kQ5_0: case PCode::kTQ: return kPackRows * 2;
      default: return (group == 16 ? 2 : 1) * kPackRows * scale_bytes() + (zeros ? kPackRows : 0);
    }
  }
  int64_t code_block_bytes() const {
    switch (code) {
      case PCode::kU8: return 32 * kPackRows;
      case PCode::kQ5K: case PCode::kQ5_0: case PCode::kQ5_1: return 20 * kPackRows;
      case PCode::kQ6K: return 24 * kPackRows;
      case PCode::kQ2K: case PCode::kTQ: case PCode::kU2: return 8 * kPackRows;
      case PCode::kQ3K: case PCode::kU3: return 12 * kPackRows;
      default: return 16 * kPackRows;
    }
  }
};

// Calls f(std::integral_constant<PCode, C>{}) with the code C of a block-header tile (kquant()):
// the one switch from a tile's code to the kernels each set instantiates per code.
template <typename F>
void visit_block_header_code(PCode code, F&& f) {
  switch (code) {
    case PCode::kQ4K: return f(std::integral_constant<PCode, PCode::kQ4K>{});
    case PCode::kQ5K: return f(std::integral_constant<PCode, PCode::kQ5K>{});
    case PCode::kQ6K: return f(std::integral_constant<PCode, PCode::kQ6K>{});
    case PCode::kQ2K: return f(std::integral_constant<PCode, PCode::kQ2K>{});
    case PCode::kQ3K: return f(std::integral_constant<PCode, PCode::kQ3K>{});
    case PCode::kIQ4XS: return f(std::integral_constant<PCode, PCode::kIQ4XS>{});
    case PCode::kQ4_1: return f(std::integral_constant<PCode, PCode::kQ4_1>{});
    case PCode::kQ5_0: return f(std::integral_constant<PCode, PCode::kQ5_0>{});
    case PCode::kQ5_1: return f(std::integral_constant<PCode, PCode::kQ5_1>{});
    case PCode::kTQ: return f(std::integral_constant<PCode, PCode::kTQ>{});
    case PCode::kU4: case PCode::kU2: case PCode::kU3: case PCode::kU8: case PCode::kLut4:
      return;  // the codes without block headers (never passed here)
  }
}

// y[i * y_stride + j] for i in [0, m), j in rows of tiles [t0, t1) (clipped to n): the
// gemm_i8 contract on packed weights. The codes with block headers take, per 32-column block
// b, exact integer sums (D_h = sum over the 16-column half h of u * xq, D = D_0 + D_1, S_h and S
// the sums of xq, sc / m the block's small scales) and the term, in this float32 order:
//   q4_k / q5_k: d_x,b * (d * float(sc * D) - dmin * float(m * S))
//   q6_k / q3_k: d_x,b * (d * float(sum_h sc_h * (D_h - c * S_h))), c = 32 / 4
//   q2_k:        d_x,b * (d * float(sum_h sc_h * D_h) - dmin * float(sum_h m_h * S_h))
//   iq4_xs:      d_x,b * (d * float(sc * D)), D over lut[u]
//   q4_1 / q5_1: d_x,b * (d * float(D) + m * float(S))
//   q5_0 / tq:   d_x,b * (d * float(D - c * S)), c = 16 / 1
// summed over b in the kernel's order; every integer is below 2^24 and every product of d and a
// small scale is exact, so each set gives the scalar kernel's bits. `half_sum` (half_sums()
// only) holds the sums of the activation codes per 16 columns, 2 * nb per row.
using GemmI8PackedFn = void (*)(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t t0,
                                int64_t t1, float* y, int64_t y_stride);

// ggml's K-quant super-blocks (kquants.h) as the int8 kernels read them: rows of k / 256
// blocks, row j at data + j * row_bytes, the blocks exactly as in GGUF.
enum class KQuant : uint8_t { kQ4K, kQ5K, kQ6K };

// Calls f(std::integral_constant<KQuant, K>{}) with the kind K.
template <typename F>
void visit_kquant(KQuant kind, F&& f) {
  switch (kind) {
    case KQuant::kQ4K: return f(std::integral_constant<KQuant, KQuant::kQ4K>{});
    case KQuant::kQ5K: return f(std::integral_constant<KQuant, KQuant::kQ5K>{});
    case KQuant::kQ6K: return f(std::integral_constant<KQuant, KQuant::kQ6K>{});
  }
}

struct KQuantArgs {
  const uint8_t* data = nullptr;
  int64_t row_bytes = 0;
  int64_t k = 0;  // columns, a multiple of 256
  KQuant kind = KQuant::kQ4K;
};

// y[i * y_stride + j] for i in [0, m), j in [n0, n1), with int8 activations in blocks of 32
// (ActI8, natural column order; `half_sum`: q6_k only, the code sums per 16 columns, 2 * nb per
// row). Over each 32-column block b, with exact integer sums:
//   q4_k / q5_k: d_x,b * (d * I_b - dmin * M_b), I_b = sc_j * sum(q * xq), M_b = m_j * sum(xq),
//   q6_k:        d_x,b * (d * I_b), I_b = sum over the two halves h of sc_h * sum((q - 32) * xq),
// (j the block's 6-bit scale/min pair, d and dmin the super-block's fp16 scales; every I_b and
// M_b is below 2^24, so exact in float32), summed over b in fp32 in the kernel's own order.
using GemmI8KQuantFn = void (*)(const KQuantArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t n0,
                                int64_t n1, float* y, int64_t y_stride);

// IEEE binary16 bit patterns to float32 (exact) and float32 to binary16 rounded to nearest even
// (overflow to infinity), n values: a KV cache's rows. NaNs stay NaNs (payloads may differ by set).
using F16ToF32Fn = void (*)(const uint16_t* h, float* f, int64_t n);
using F32ToF16Fn = void (*)(const float* f, uint16_t* h, int64_t n);

// k columns (whole blocks) of a ggml type stored as blocks with headers (layout.h: super_blocks())
// to floats, the values dequantize() gives (formats/ggml_dequantize.h): the float path's weight rows.
using DequantizeBlocksFn = void (*)(Format f, const uint8_t* in, int64_t k, float* out);

// Machine-limit probes for the benchmarks: each runs `iters` iterations of the
// ISA's best instruction mix and returns the operations it performed.
using PeakFn = double (*)(int64_t iters);
// Sums n floats (a streaming read); the result only defeats dead-code elimination.
using ReadFn = float (*)(const float* p, int64_t n);

// The kernel entries every set defines in its own namespace under these names, with the table's
// function types: X(type, name) for each. The table's fields, each set's declarations
// (x86/kernel_set.h, arm/kernel_set.h) and the tables themselves (LOWBIT_KERNEL_TABLE_OF_SET below)
// all come from this one list.
#define LOWBIT_KERNEL_ENTRIES(X)                                                                        \
  X(QuantizeActFn, quantize_act)                                                                        \
  X(GemmI8Fn, gemm_i8)                                                                                  \
  X(GemmF32Fn, gemm_f32)                                                                                \
  X(SgemmFn, sgemm)                                                                                     \
  X(FwhtFn, fwht)                                                                                       \
  X(PeakFn, fma_peak)        /* fp32 flops (an FMA is 2) */                                             \
  X(PeakFn, dot_peak)        /* int8 ops of the kernels' int8 dot-product sequence (a multiply-add is 2) */ \
  X(ReadFn, read)                                                                                       \
  X(GemmI8PackedFn, gemm_i8_packed) /* prepared weights (PackedArgs) */                                 \
  X(GemmI8KQuantFn, gemm_i8_kquant) /* K-quant super-blocks as stored, int8 activations */              \
  X(F16ToF32Fn, f16_to_f32)                                                                             \
  X(F32ToF16Fn, f32_to_f16)                                                                             \
  X(DequantizeBlocksFn, dequantize_blocks)

struct KernelTable {
  const char* name;
  // Shapes the SIMD kernels take: k a multiple of 32, the group a multiple of 32 or 16.
  bool simd_shapes;
#define LOWBIT_KERNEL_FIELD(type, entry) type entry;
  LOWBIT_KERNEL_ENTRIES(LOWBIT_KERNEL_FIELD)
#undef LOWBIT_KERNEL_FIELD
};

// Every table fills every entry (the native tests check each one), so no caller checks for a
// missing kernel.
inline bool complete(const KernelTable& t) {
  bool all = t.name != nullptr;
#define LOWBIT_KERNEL_FILLED(type, entry) all = all && t.entry != nullptr;
  LOWBIT_KERNEL_ENTRIES(LOWBIT_KERNEL_FILLED)
#undef LOWBIT_KERNEL_FILLED
  return all;
}

// Declares a kernel set's entries; used inside the set's namespace (its kernel_set.h).
#define LOWBIT_KERNEL_DECLARE(type, entry) std::remove_pointer_t<type> entry;

// The table of the kernel set whose entries are in scope (each set's kernel_table.cc, inside its
// namespace), every field filled by name: constant-initialized.
#define LOWBIT_KERNEL_SET_ASSIGN(type, entry) t.entry = entry;
#define LOWBIT_KERNEL_TABLE_OF_SET(set_name, set_simd_shapes) \
  [] {                                                       \
    KernelTable t{};                                         \
    t.name = set_name;                                       \
    t.simd_shapes = set_simd_shapes;                         \
    LOWBIT_KERNEL_ENTRIES(LOWBIT_KERNEL_SET_ASSIGN)          \
    return t;                                                \
  }()

// Defines kTable, the dispatch table of the kernel set whose entries are in scope (in the set's
// namespace): the constexpr copy makes the compiler check that it is constant-initialized.
#define LOWBIT_DEFINE_KERNEL_TABLE(set_name, set_simd_shapes)                                     \
  namespace {                                                                                     \
  constexpr KernelTable kTableOfSet = LOWBIT_KERNEL_TABLE_OF_SET(set_name, set_simd_shapes);      \
  }                                                                                               \
  extern const KernelTable kTable = kTableOfSet;

}  // namespace lowbit
