// The ISA-independent half of the packed-panel fp32 GEMM (the BLIS / MLAS SGEMM scheme): the
// block size, the packing buffers, the packing loop and the loops around the micro-kernel, as
// templates over a kernel set's panel leaf P (x86/sgemm_panel.h, arm/sgemm_panel.h), which
// provides
//   kMR, kNR                 the register tile of y (kNR weight rows per panel);
//   ukernel(x, xs, panel, kc, y, ys, rows, cols, first)
//                            y tile (rows x cols of kMR x kNR) = (first ? 0 : y) + x rows * panel;
//   TVec, kT, tload, tstore, transpose(TVec[kT])
//                            a kT x kT float transpose in registers, for packing.
// Everything here has internal linkage, so each set's translation unit compiles its own copy
// with its own flags and the linker never merges one built for a newer ISA into another set.
// Summation order: each y element is a sequential FMA chain over one kPanelKC block, blocks
// added to y in increasing k, whatever the tiling, the caller's split or the thread count.
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
template <class P>
PanelBuffers<P::kNR>& panel_buffers() {
  thread_local PanelBuffers<P::kNR> buffers;
  return buffers;
}

// b[kk * kNR + c] = w[c * ws + kk] for c < nr, zero for the panel's rows past nr.
template <class P>
void pack_panel_b(const float* w, int64_t ws, int nr, int64_t kc, float* b) {
  constexpr int T = P::kT, NR = P::kNR;
  static_assert(NR % T == 0, "a panel is whole transposes wide");
  for (int c0 = 0; c0 < NR; c0 += T) {
    if (c0 + T <= nr) {
      int64_t kk = 0;
      for (; kk + T <= kc; kk += T) {
        typename P::TVec r[T];
        for (int i = 0; i < T; ++i) r[i] = P::tload(w + (c0 + i) * ws + kk);
        P::transpose(r);
        for (int t = 0; t < T; ++t) P::tstore(b + (kk + t) * NR + c0, r[t]);
      }
      for (; kk < kc; ++kk)
        for (int i = 0; i < T; ++i) b[kk * NR + c0 + i] = w[(c0 + i) * ws + kk];
    } else {
      for (int64_t kk = 0; kk < kc; ++kk)
        for (int i = 0; i < T; ++i) b[kk * NR + c0 + i] = c0 + i < nr ? w[(c0 + i) * ws + kk] : 0.0f;
    }
  }
}

// y[i * ys + j] for i < m, j in [n0, n1) over k columns; pack_b(j, nr, kk0, kc, panel) fills
// the transposed panel of weight rows [j, j + nr), columns [kk0, kk0 + kc), zeros past nr.
template <class P, typename PackB>
void panel_gemm(const float* x, int64_t xs, int64_t k, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ys,
                PackB&& pack_b) {
  float* panel = panel_buffers<P>().b;
  for (int64_t kk0 = 0; kk0 < k; kk0 += kPanelKC) {
    const int64_t kc = std::min(kPanelKC, k - kk0);
    for (int64_t j = n0; j < n1; j += P::kNR) {
      const int nr = static_cast<int>(std::min<int64_t>(P::kNR, n1 - j));
      pack_b(j, nr, kk0, kc, panel);
      for (int64_t i = 0; i < m; i += P::kMR) {
        P::ukernel(x + i * xs + kk0, xs, panel, kc, y + i * ys + j, ys,
                   static_cast<int>(std::min<int64_t>(P::kMR, m - i)), nr, kk0 == 0);
      }
    }
  }
}

}  // namespace
}  // namespace lowbit
