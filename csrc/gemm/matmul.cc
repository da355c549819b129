#include "matmul.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <vector>

#include "../core/matmul_ref.h"
#include "../core/qmatrix.h"
#include "activations_i8.h"
#include "matmul_super_blocks.h"
#include "packed.h"

namespace lowbit {
namespace {

// Work is split into fixed-size chunks of output columns (and of x rows for
// large m). Chunk sizes never depend on the thread count, and every kernel
// computes each output element with the same instruction sequence wherever it
// falls, so results are bit-identical for any number of threads.
constexpr int64_t kColsPerTask = 16;
constexpr int64_t kRowsPerTask = 64;
// fp32 products from kPanelMinRows rows of x run on packed panels (32 weight rows on
// zmm): wider column chunks amortise packing x, taller row chunks packing (dequantizing)
// the weights.
struct TaskShape {
  int64_t rows, cols;
};
constexpr TaskShape kDotTask = {kRowsPerTask, kColsPerTask};
constexpr TaskShape kPanelTask = {256, 128};
TaskShape f32_task(int64_t m) { return m >= kPanelMinRows ? kPanelTask : kDotTask; }

const float kUnitScale = 1.0f;

static_assert(static_cast<int>(SType::kF16) == static_cast<int>(ScaleType::kF16) &&
                  static_cast<int>(SType::kE8M0) == static_cast<int>(ScaleType::kE8M0) &&
                  static_cast<int>(SType::kE4M3) == static_cast<int>(ScaleType::kE4M3),
              "kernels' SType mirrors the layout's ScaleType");

// The kernels' tables of the 4-bit table formats, from their traits' levels (core/formats.h): the
// float path multiplies lut_f32, the int8 path lut_i8 = round(int8_per_unit * level) with the scale
// 1 / int8_per_unit. A table whose integers span at most 63 gets the bias that makes them unsigned.
struct Lut {
  float f32[16];
  int8_t i8[16];
  float i8_scale;
  int i8_bias;
};

std::vector<Lut> make_luts() {
  std::vector<Lut> luts(std::size(kAllFormats));
  for (const Format f : kAllFormats) {
    const FormatInfo& fi = format_info(f);
    if (!fi.levels) continue;
    Lut& t = luts[static_cast<size_t>(f)];
    int lo = 127, hi = -128;
    for (int c = 0; c < 16; ++c) {
      t.f32[c] = fi.levels[c];
      t.i8[c] = static_cast<int8_t>(std::nearbyint(static_cast<float>(fi.int8_per_unit) * fi.levels[c]));
      lo = std::min<int>(lo, t.i8[c]);
      hi = std::max<int>(hi, t.i8[c]);
    }
    t.i8_scale = 1.0f / static_cast<float>(fi.int8_per_unit);
    t.i8_bias = lo < 0 && hi - lo <= 63 ? -lo : 0;
  }
  return luts;
}

struct ScaleTables {
  float e8m0[256], e4m3[256];
};

ScaleTables make_scale_tables() {
  ScaleTables t{};
  for (int b = 0; b < 256; ++b) {
    t.e8m0[b] = e8m0_to_fp32(static_cast<uint8_t>(b));
    t.e4m3[b] = fp8_to_fp32(static_cast<uint8_t>(b), kE4M3);
  }
  return t;
}

const ScaleTables kScaleTables = make_scale_tables();

const std::vector<Lut> kLuts = make_luts();

}  // namespace

WeightArgs weight_args(const QMatrixView& q) {
  const QuantLayout& L = q.layout;
  WeightArgs w;
  w.data = q.data;
  w.row_bytes = L.row_bytes();
  w.block_bytes = 32 * L.bits / 8;
  w.k = L.cols;
  w.scales = static_cast<const uint8_t*>(q.scales);
  w.stype = static_cast<SType>(L.scale_type);
  const int64_t ssize = scale_type_bytes(L.scale_type);
  w.scale_mul = q.tensor_scale;  // 1 for the formats without a tensor scale
  w.scale_mul_i8 = w.scale_mul;
  const bool table = format_info(L.format).levels != nullptr;
  if (table) {
    const Lut& lut = kLuts[static_cast<size_t>(L.format)];
    w.code = WCode::kLut4;
    w.lut_f32 = lut.f32;
    w.lut_i8 = lut.i8;
    w.lut_bias = lut.i8_bias;
    w.scale_mul_i8 = w.scale_mul * lut.i8_scale;
  }
  switch (L.format) {
    case Format::kInt: {
      const bool sym = L.scheme == Scheme::kSymmetric;
      w.code = L.bits == 2 ? WCode::kU2 : L.bits == 3 ? WCode::kU3 : L.bits == 4 ? WCode::kU4 : (sym ? WCode::kS8 : WCode::kU8);
      w.bias = (L.bits < 8 && sym) ? 1 << (L.bits - 1) : 0;
      break;
    }
    case Format::kQ4_0: w.code = WCode::kU4; w.bias = 8; break;
    case Format::kQ8_0: w.code = WCode::kS8; break;
    case Format::kFP8E4M3: w.code = WCode::kE4M3; break;
    case Format::kFP8E5M2: w.code = WCode::kE5M2; break;
    default:
      // The table formats (above); whole-block and 16-bit float formats never reach the code kernels
      // (matmul_super_blocks).
      if (!table) return w;
  }
  if (L.ggml_blocks()) {
    // The fp16 scale leads each block; the kernels read codes 2 bytes in.
    w.data = q.data + 2;
    w.block_bytes = L.block_bytes();
    w.scales = q.data;
    w.stype = SType::kF16;
    w.scale_row_bytes = w.row_bytes;
    w.scale_group_bytes = w.block_bytes;
    w.group = 32;
    return w;
  }
  if (w.stype == SType::kE8M0) w.scale_lut = kScaleTables.e8m0;
  if (w.stype == SType::kE4M3) w.scale_lut = kScaleTables.e4m3;
  w.zeros = q.zeros;
  switch (L.granularity) {
    case Granularity::kTensor:
      w.group = L.cols;
      break;
    case Granularity::kRow:
      w.scale_row_bytes = ssize;
      w.zero_stride = 1;
      w.group = L.cols;
      break;
    case Granularity::kGroup:
      w.scale_row_bytes = L.groups_per_row() * ssize;
      w.scale_group_bytes = ssize;
      w.zero_stride = L.groups_per_row();
      w.group = L.group_size;
      break;
    case Granularity::kColumn:
      // Column scales are folded into x, column zero-points into a per-row
      // correction (see matmul); the kernels see unit scales and raw codes.
      w.scales = reinterpret_cast<const uint8_t*>(&kUnitScale);
      w.stype = SType::kF32;
      w.group = L.cols;
      w.zeros = nullptr;
      break;
  }
  return w;
}

void matmul(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, Activations act, float* y,
            ThreadPool& pool) {
  const QuantLayout& L = q.layout;
  if (L.super_blocks() || L.float_halves() ||
      (L.bit_stream() && (act == Activations::kFloat || (kernels.simd_shapes && plan_pack(q).packable)))) {
    matmul_super_blocks(kernels, q, x, m, act, y, pool);
    return;
  }
  const int64_t k = L.cols, n = L.rows;
  const WeightArgs w = weight_args(q);
  // Two scales per 32-block only for table formats (their lanes never mix the halves). int 2- / 3-bit
  // codes left here (shapes the packed layout does not take) run the scalar kernels.
  const bool simd = kernels.simd_shapes && k % 32 == 0 && !L.bit_stream() &&
                    (w.group % 32 == 0 || (w.group == 16 && w.code == WCode::kLut4));
  const KernelTable& kt = simd ? kernels : ref::kTable;
  const bool column = L.granularity == Granularity::kColumn;

  // x' = x * diag(column scales), copied only for column scales.
  std::vector<float> xbuf;
  const float* xp = x;
  if (column) {
    xbuf.assign(x, x + m * k);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t c = 0; c < k; ++c) xbuf[i * k + c] *= scale_at(q, c);
    xp = xbuf.data();
  }
  // Column zero-points: y -= sum_c x'_c z_c, the same for every output column.
  std::vector<float> correction;
  const bool column_zeros = column && q.zeros != nullptr;

  if (act == Activations::kFloat) {
    if (column_zeros) {
      correction.resize(m);
      for (int64_t i = 0; i < m; ++i) {
        double c = 0.0;
        for (int64_t j = 0; j < k; ++j) c += static_cast<double>(xp[i * k + j]) * q.zeros[j];
        correction[i] = static_cast<float>(c);
      }
    }
    run_chunks(pool, m, n, k, f32_task(m).rows, f32_task(m).cols, [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
      kt.gemm_f32(w, xp + i0 * k, k, i1 - i0, n0, n1, y + i0 * n, n);
    });
  } else {
    ActivationsI8 xq = quantize_activations(kt, xp, m, k, false, pool);
    const int64_t nb = xq.nb;
    if (column_zeros) correction.resize(m);
    pool.parallel_for(column_zeros ? m : 0, [&](int64_t i) {
      const int8_t* qi = xq.q.data() + i * k;
      float c = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t isum = 0;
        for (int64_t j = b * kActBlock; j < std::min(k, (b + 1) * kActBlock); ++j) isum += qi[j] * q.zeros[j];
        c += xq.d[i * nb + b] * static_cast<float>(isum);
      }
      correction[i] = c;
    });
    run_chunks(pool, m, n, k, kDotTask.rows, kDotTask.cols, [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
      kt.gemm_i8(w, xq.rows(i0), i1 - i0, n0, n1, y + i0 * n, n);
    });
  }
  if (column_zeros) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) y[i * n + j] -= correction[i];
  }
}

void sgemm(const KernelTable& kernels, const float* x, const float* w, int64_t m, int64_t n, int64_t k, float* y,
           ThreadPool& pool) {
  run_chunks(pool, m, n, k, f32_task(m).rows, f32_task(m).cols, [&](int64_t i0, int64_t i1, int64_t n0, int64_t n1) {
    kernels.sgemm(x + i0 * k, k, w, k, k, i1 - i0, n0, n1, y + i0 * n, n);
  });
}

}  // namespace lowbit
