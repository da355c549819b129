#include "matmul_super_blocks.h"

#include <algorithm>
#include <vector>

#include "kquants.h"

namespace lowbit {

void matmul_super_blocks(const KernelTable& kernels, const QMatrixView& q, const float* x, int64_t m, float* y,
                         ThreadPool& pool) {
  const QuantLayout& L = q.layout;
  const int64_t k = L.cols, n = L.rows, rb = L.row_bytes();
  // Fixed chunks (never sized by the thread count) so results are bit-identical for any
  // number of threads. Few rows of x: 16 weight rows per task, each dequantized once per
  // call. From kPanelMinRows rows the fp32 kernels run on packed panels; wider chunks
  // amortise their packing, taller ones the dequantization.
  const bool panel = m >= kPanelMinRows;
  const int64_t rows_per_task = panel ? 256 : 64, cols_per_task = panel ? 128 : 16;
  const int64_t mt = (m + rows_per_task - 1) / rows_per_task, nt = (n + cols_per_task - 1) / cols_per_task;
  auto task = [&](int64_t t) {
    const int64_t mi = t / nt, ni = t % nt;
    const int64_t i0 = mi * rows_per_task, i1 = std::min(m, i0 + rows_per_task);
    const int64_t n0 = ni * cols_per_task, n1 = std::min(n, n0 + cols_per_task);
    thread_local std::vector<float> panel_buf;
    panel_buf.resize(static_cast<size_t>((n1 - n0) * k));
    for (int64_t j = n0; j < n1; ++j) dequantize_kquant_row(L.format, q.data + j * rb, k, panel_buf.data() + (j - n0) * k);
    kernels.sgemm(x + i0 * k, k, panel_buf.data(), k, k, i1 - i0, 0, n1 - n0, y + i0 * n + n0, n);
  };
  if (m * n * k < (int64_t{1} << 18)) {
    for (int64_t t = 0; t < mt * nt; ++t) task(t);  // the same chunks, so the same bits
  } else {
    pool.parallel_for(mt * nt, task);
  }
}

}  // namespace lowbit
