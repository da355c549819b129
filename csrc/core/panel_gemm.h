// The ISA-independent half of the packed-panel fp32 GEMM: the block size, the packing
// buffers and the loops around the micro-kernel, as templates over the register tile
// (MR x NR) and the micro-kernel that each kernel set's panel header (x86/sgemm_panel.h,
// arm/sgemm_panel.h) instantiates with its own types. Everything here has internal
// linkage, so each set's translation unit compiles its own copy with its own flags and the
// linker never merges one built for a newer ISA into another set. Summation order: each y
// element is a sequential FMA chain over one kPanelKC block, blocks added to y in
// increasing k, whatever the tiling, the caller's split or the thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace lowbit {
namespace {

// Columns per block: the same on every kernel set (so fp32 results agree across x86 sets),
// a multiple of 32 (a quantized block never straddles two), 32 KiB of zmm panel.
constexpr int64_t kPanelKC = 256;

// One thread's packing buffers for panels NR weight rows wide, 64-byte aligned.
template <int NR>
struct PanelBuffers {
  std::vector<float> storage;
  float* b = nullptr;     // kPanelKC x NR
  float* rows = nullptr;  // NR x kPanelKC: dequantized weight rows before transposing
  PanelBuffers() {
    const size_t b_n = kPanelKC * NR, r_n = NR * kPanelKC;
    storage.resize(b_n + r_n + 16);
    float* base = storage.data();
    base += (16 - (reinterpret_cast<uintptr_t>(base) / 4) % 16) % 16;
    b = base;
    rows = b + b_n;
  }
};

// Allocated on first use.
template <int NR>
PanelBuffers<NR>& panel_buffers_of() {
  thread_local PanelBuffers<NR> buffers;
  return buffers;
}

// y[i * ys + j] for i < m, j in [n0, n1) over k columns; pack_b(j, nr, kk0, kc, panel) fills
// the transposed panel of weight rows [j, j + nr), columns [kk0, kk0 + kc), zeros past nr;
// ukernel(x, xs, panel, kc, y, ys, rows, cols, first) multiplies one MR x NR tile.
template <int MR, int NR, typename Ukernel, typename PackB>
void panel_gemm_of(const float* x, int64_t xs, int64_t k, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ys,
                   Ukernel&& ukernel, PackB&& pack_b) {
  float* panel = panel_buffers_of<NR>().b;
  for (int64_t kk0 = 0; kk0 < k; kk0 += kPanelKC) {
    const int64_t kc = std::min(kPanelKC, k - kk0);
    for (int64_t j = n0; j < n1; j += NR) {
      const int nr = static_cast<int>(std::min<int64_t>(NR, n1 - j));
      pack_b(j, nr, kk0, kc, panel);
      for (int64_t i = 0; i < m; i += MR) {
        ukernel(x + i * xs + kk0, xs, panel, kc, y + i * ys + j, ys, static_cast<int>(std::min<int64_t>(MR, m - i)), nr,
                kk0 == 0);
      }
    }
  }
}

}  // namespace
}  // namespace lowbit
