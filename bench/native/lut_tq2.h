// The table-lookup GEMV of bench_native's `lut` suite (lut_tq2_avx2.cc, x86-64 with AVX2 only): a
// measurement beside the multiply kernels, not a kernel lowbit ships.
#pragma once

#include <cstdint>
#include <vector>

#include "../../csrc/core/kernels.h"
#include "../../csrc/core/qmatrix.h"

namespace lowbit::bench {

// tq2_0 weights in the lookup kernel's tiles (layout: lut_tq2_avx2.cc).
struct LutTq2 {
  int64_t n = 0, k = 0;
  std::vector<uint8_t> data;
};
LutTq2 pack_lut_tq2(const QMatrixView& tq2_0);

// The tables of one row of int8 x (k a multiple of 256): 512 bytes per 32 columns.
void lut_tq2_tables(const int8_t* xq, int64_t k, uint8_t* tables);

// y[0..n) for one row of x, on the calling thread; the multiply kernel's floats bit for bit.
void lut_tq2_gemv(const LutTq2& w, const ActI8& x, const uint8_t* tables, float* y);

}  // namespace lowbit::bench
