#include "matmul_super_blocks.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "../core/float_formats.h"
#include "../formats/kquants.h"
#include "../formats/quantize.h"
#include "activations_i8.h"
#include "packed.h"

namespace lowbit {
namespace {

void matmul_float(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, float* y,
                  ThreadPool& pool) {
  const QuantLayout& L = q.layout;
  const int64_t k = L.cols, n = L.rows, rb = L.row_bytes();
  // Few rows of x: 16 weight rows per task, each dequantized once per call. From
  // kPanelMinRows rows the fp32 kernels run on packed panels; wider chunks amortise their
  // packing, taller ones the dequantization.
  const bool panel = m >= kPanelMinRows;
  run_chunks(pool, m, n, k, panel ? 256 : 64, panel ? 128 : 16, [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
    thread_local std::vector<float> buf;
    buf.resize(static_cast<size_t>((n1 - n0) * k));
    for (int64_t j = n0; j < n1; ++j) {
      const uint8_t* row = q.data + j * rb;
      float* out = buf.data() + (j - n0) * k;
      if (L.format == Format::kF16 && reinterpret_cast<uintptr_t>(row) % 2 == 0) {
        kernels.f16_to_f32(reinterpret_cast<const uint16_t*>(row), out, k);  // the set's F16C / NEON conversion
      } else if (L.float_halves()) {
        halves_to_fp32(L.format == Format::kBF16, row, k, out);
      } else if (L.super_blocks()) {
        kernels.dequantize_blocks(L.format, row, k, out);  // the set's vectorized dequantizer
      } else {
        dequantize_rows(q, j, j + 1, out);
      }
    }
    kernels.sgemm(x + i0 * k, k, buf.data(), k, k, i1 - i0, 0, n1 - n0, y + i0 * n + n0, n);
  });
}

// The ggml types without kernels on their own blocks, and int 2- / 3-bit codes, are packed for the
// call (what prepare() does once), a few tiles at a time, and multiplied by the packed kernels.
void matmul_int8_packing(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, float* y,
                         ThreadPool& pool) {
  matmul_packing(kernels, q, plan_pack(q), x, m, y, pool);
}

void matmul_int8(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, float* y,
                 ThreadPool& pool) {
  const Format f = q.layout.format;
  if (f != Format::kQ4_K && f != Format::kQ5_K && f != Format::kQ6_K) return matmul_int8_packing(kernels, q, x, m, y, pool);
  const KQuantArgs w = kquant_args(q);
  const int64_t k = w.k, n = q.layout.rows;
  const GemmI8KQuantFn gemm = kernels.gemm_i8_kquant;
  const ActivationsI8 a = quantize_activations(kernels, x, m, k, w.kind == KQuant::kQ6K, pool);
  // 64 x rows by 16 weight rows: each task streams its weight rows once per 64 x rows.
  run_chunks(pool, m, n, k, 64, 16, [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
    gemm(w, a.rows(i0), a.half_sums(i0), i1 - i0, n0, n1, y + i0 * n, n);
  });
}

}  // namespace

KQuantArgs kquant_args(const QMatrixView& q) {
  KQuantArgs w;
  w.data = q.data;
  w.row_bytes = q.layout.row_bytes();
  w.k = q.layout.cols;
  w.kind = q.layout.format == Format::kQ4_K ? KQuant::kQ4K : q.layout.format == Format::kQ5_K ? KQuant::kQ5K : KQuant::kQ6K;
  return w;
}

void matmul_super_blocks(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, Activations act,
                         float* y, ThreadPool& pool) {
  if (act == Activations::kInt8 && !q.layout.float_halves()) {
    matmul_int8(kernels, q, x, m, y, pool);
  } else {
    matmul_float(kernels, q, x, m, y, pool);
  }
}

}  // namespace lowbit
