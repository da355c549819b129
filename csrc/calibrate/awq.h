// AWQ (Lin et al., 2023): activation-aware per-input-channel scaling before
// quantization. s = meanAbs(X)^alpha (normalised), alpha chosen on a grid to
// minimise the layer's output error on calibration data; optionally each group's
// clipping ratio is searched too. The result quantizes W diag(s); callers fold
// diag(s)^-1 into the previous operation (x' = x / s).
#pragma once

#include <cstdint>
#include <vector>

#include "../core/kernels.h"
#include "../core/layout.h"
#include "../runtime/thread_pool.h"
#include "../runtime/work.h"

namespace lowbit {

struct AwqOptions {
  int grid = 20;             // alpha in {0, 1/grid, ..., (grid - 1)/grid}, as AWQ's reference
  bool clip_search = false;  // per group: clip to r * range, r in {1, 0.95, ..., 0.55}
};

struct AwqResult {
  const char* error = nullptr;
  double alpha = 0.0;
  std::vector<double> errors;  // squared output error for each alpha on the grid
};

// w: [L.rows, L.cols]; x: calibration activations [n, L.cols]. Writes the quantized
// W diag(s) (data / scales / zeros / tensor scale as quantize_matrix) and s (L.cols).
// `progress` (optional) counts multiply-adds and element passes over the grid and the final
// quantization; a cancelled call (work.h) returns early with unspecified outputs.
AwqResult awq_quantize(const float* w, const float* x, int64_t n, const QuantLayout& L, const AwqOptions& o,
                       uint8_t* data, void* scales, uint8_t* zeros, float* tensor_scale, float* s_out,
                       const KernelTable& kt, ThreadPool& pool, Work* progress = nullptr);

}  // namespace lowbit
