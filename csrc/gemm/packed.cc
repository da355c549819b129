#include "packed.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../core/packed_planes.h"
#include "../core/qmatrix.h"
#include "../formats/dequantize_codes.h"
#include "activations_i8.h"
#include "matmul.h"
#include "packed_kquant.h"

namespace lowbit {

PackPlan plan_pack(const QMatrixView& q) {
  const QuantLayout& L = q.layout;
  PackPlan p;
  if (L.super_blocks()) return plan_pack_kquant(q);
  if (L.float_halves()) {
    p.why = "16-bit float values have no integer form";
    return p;
  }
  const WeightArgs w = weight_args(q);
  PackedArgs& a = p.args;
  a.n = L.rows;
  a.k = L.cols;
  if (L.cols % 32 != 0) {
    p.why = "cols is not a multiple of 32";
    return p;
  }
  if (L.granularity == Granularity::kColumn) {
    p.why = "column scales are folded into x, not packed";
    return p;
  }
  switch (w.code) {
    case WCode::kU4: a.code = PCode::kU4; a.bias = w.bias; break;
    case WCode::kU2: a.code = PCode::kU2; a.bias = w.bias; break;
    case WCode::kU3: a.code = PCode::kU3; a.bias = w.bias; break;
    case WCode::kLut4: a.code = PCode::kLut4; break;
    // Signed bytes are stored as u = q ^ 0x80, value u - 128, so every code is unsigned.
    case WCode::kS8: a.code = PCode::kU8; a.bias = 128; break;
    case WCode::kU8: a.code = PCode::kU8; a.bias = w.bias; break;
    case WCode::kE4M3:
    case WCode::kE5M2: p.why = "fp8 values have no integer form"; return p;
  }
  a.group = w.group;
  if (a.group % 32 != 0 && !(a.group == 16 && a.code == PCode::kLut4)) {
    p.why = "groups of " + std::to_string(a.group) + " columns (packed groups: 16 for 4-bit tables, or multiples of 32)";
    return p;
  }
  a.stype = w.stype;
  a.zeros = w.zeros != nullptr;
  a.scale_mul = w.scale_mul_i8;
  if (a.code == PCode::kLut4) {
    a.lut = w.lut_i8;
    int lo = 0;
    for (int u = 0; u < 16; ++u) lo = std::min<int>(lo, a.lut[u]);
    a.lut_bias = -lo;
  }
  const int64_t nb = L.cols / 32;
  const int64_t headers = a.group == 16 ? nb : L.cols / a.group;
  a.tile_bytes = headers * a.header_bytes() + nb * a.code_block_bytes();
  p.bytes = (L.rows + kPackRows - 1) / kPackRows * a.tile_bytes;
  p.packable = true;
  return p;
}

namespace {

// Copies the stored scale of (row r, column c) (or zero for padding rows).
inline void put_scale(const QMatrixView& q, const WeightArgs& w, const PackedArgs& a, int64_t r, int64_t c,
                      uint8_t* dst) {
  const int64_t sb = a.scale_bytes();
  if (r >= a.n) {
    std::memset(dst, 0, sb);
    return;
  }
  std::memcpy(dst, w.scales + r * w.scale_row_bytes + (c / w.group) * w.scale_group_bytes, sb);
}

// The code blocks (no headers) of one tile's rows [r0, r0 + kPackRows): each row's codes unpacked to
// bytes once (unpack_code_row), then written a block at a time; rows past n are zero.
// 2- and 3-bit codes go from each row's bit stream to the planes directly (put_stream_planes).
struct TileCodes {
  std::vector<uint8_t> u;  // kPackRows rows of k codes
  const uint8_t* stream[kPackRows];  // 2- / 3-bit codes: the rows (null past n)
  int bits = 0;
  void load(const QMatrixView& q, const WeightArgs& w, const PackedArgs& a, int64_t r0) {
    bits = q.layout.bit_stream() ? q.layout.bits : 0;
    if (bits) {
      for (int64_t r = 0; r < kPackRows; ++r) stream[r] = r0 + r < a.n ? q.data + (r0 + r) * q.layout.row_bytes() : nullptr;
      return;
    }
    u.resize(static_cast<size_t>(kPackRows * a.k));
    for (int64_t r = 0; r < kPackRows; ++r) {
      uint8_t* row = u.data() + r * a.k;
      if (r0 + r >= a.n) {
        std::memset(row, 0, static_cast<size_t>(a.k));
        continue;
      }
      unpack_code_row(q, r0 + r, row);
      // Signed bytes are stored as u = q ^ 0x80 (plan_pack).
      if (w.code == WCode::kS8)
        for (int64_t c = 0; c < a.k; ++c) row[c] ^= 0x80;
    }
  }
  void put_block(const PackedArgs& a, int64_t c0, uint8_t* dst) const {
    for (int64_t r = 0; r < kPackRows; ++r) {
      if (!bits) {
        put_block_codes(a.code, u.data() + r * a.k + c0, r, dst);
      } else if (stream[r]) {
        put_stream_planes(stream[r] + c0 / 8 * bits, bits, r, dst);
      } else {
        const uint8_t zeros[32] = {};
        put_plane_codes(zeros, r, dst, bits == 3);
      }
    }
  }
};

// ggml's q4_0 / iq4_nl / q8_0 blocks already hold their codes in the chunks' order (byte j: columns j and
// j + 16 in 4 bits, column j in 8), so a tile's block is its rows' fp16 scales followed by each row's 4-byte
// groups of codes moved to their chunk (q8_0's made unsigned): byte moves, no per-code work. The same
// bytes as put_block_codes.
void pack_ggml_tile(const QMatrixView& q, const PackedArgs& a, int64_t t, uint8_t* out) {
  const QuantLayout& L = q.layout;
  const int64_t bb = L.block_bytes(), rb = L.row_bytes(), r0 = t * kPackRows;
  const int64_t rows = a.n - r0 < kPackRows ? a.n - r0 : kPackRows;
  const bool q8 = L.format == Format::kQ8_0;
  const int chunks = q8 ? 8 : 4;
  uint8_t* p = out;
  if (rows < kPackRows) std::memset(out, 0, static_cast<size_t>(a.tile_bytes));  // padding rows: zero scales and codes
  for (int64_t b = 0; b < a.k / 32; ++b) {
    for (int64_t r = 0; r < rows; ++r) std::memcpy(p + 2 * r, q.data + (r0 + r) * rb + b * bb, 2);
    p += a.header_bytes();
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* src = q.data + (r0 + r) * rb + b * bb + 2;
      for (int ch = 0; ch < chunks; ++ch) {
        uint32_t v;
        std::memcpy(&v, src + 4 * ch, 4);
        if (q8) v ^= 0x80808080u;
        std::memcpy(p + (ch * kPackRows + r) * 4, &v, 4);
      }
    }
    p += a.code_block_bytes();
  }
}

// The rows of x one kernel call takes at most: matmul_packed's passes and matmul_packing's.
constexpr int64_t kRowsPerPass = 64;

// Rows [i0, i1) of x (act) against tiles [t0, t1) of w into y (row i at y + i * ldy), in passes of at
// most kRowsPerPass rows.
void gemm_rows(GemmI8PackedFn gemm, const PackedArgs& w, const ActivationsI8& act, int64_t i0, int64_t i1,
               int64_t t0, int64_t t1, float* y, int64_t ldy) {
  for (; i0 < i1; i0 += kRowsPerPass) {
    const int64_t rows = std::min(i1 - i0, kRowsPerPass);
    gemm(w, act.rows(i0), act.half_sums(i0), rows, t0, t1, y + i0 * ldy, ldy);
  }
}

// A task's tiles for about `bytes` of them, but at least two: the x86 kernels stream two side by side
// for the rows of x left over from their row tiles (all of a GEMV).
int64_t tiles_per_task(int64_t bytes, int64_t tile_bytes) { return std::max<int64_t>(2, bytes / tile_bytes); }

}  // namespace

void pack_tile(const QMatrixView& q, const PackPlan& plan, int64_t t, uint8_t* out) {
  const PackedArgs& a = plan.args;
  if (a.kquant()) return pack_kquant_tile(q, a, t, out);
  if (q.layout.ggml_blocks()) return pack_ggml_tile(q, a, t, out);
  const WeightArgs w = weight_args(q);
  const int64_t sb = a.scale_bytes(), r0 = t * kPackRows;
  thread_local TileCodes codes;
  codes.load(q, w, a, r0);
  uint8_t* p = out;
  for (int64_t c0 = 0; c0 < a.k; c0 += 32) {
    if (a.group == 16 || c0 % a.group == 0) {
      for (int half = 0; half < (a.group == 16 ? 2 : 1); ++half)
        for (int64_t r = 0; r < kPackRows; ++r, p += sb) put_scale(q, w, a, r0 + r, c0 + 16 * half, p);
      if (a.zeros) {
        for (int64_t r = 0; r < kPackRows; ++r) *p++ = r0 + r < a.n ? w.zeros[(r0 + r) * w.zero_stride + c0 / w.group] : 0;
      }
    }
    codes.put_block(a, c0, p);
    p += a.code_block_bytes();
  }
}

void pack_weights(const QMatrixView& q, const PackPlan& plan, uint8_t* out, Work* progress) {
  const PackedArgs& a = plan.args;
  const int64_t tiles = (a.n + kPackRows - 1) / kPackRows;
  if (progress) progress->set_total(tiles);
  ThreadPool::global().parallel_for(tiles, [&](int64_t t) {
    pack_tile(q, plan, t, out + t * a.tile_bytes);
    if (progress) progress->advance(1);
  });
}

void matmul_packing(const KernelTable& kernels, const QMatrixView& q, const PackPlan& plan, const float* x, int64_t m,
                    float* y, ThreadPool& pool) {
  const PackedArgs& a = plan.args;
  const int64_t n = a.n, k = a.k, tiles = (n + kPackRows - 1) / kPackRows;
  const ActivationsI8 act = quantize_activations(kernels, x, m, k, a.half_sums(), pool);
  // About 256 KiB of tiles a task (but at least two: the kernels stream two side by side), and at least
  // four tasks a thread where the matrix has the tiles, packed into the task's own buffer and multiplied
  // while it is in cache. A matrix of too few tiles to occupy the threads also splits the rows of x, in
  // passes of 64, each task packing its tiles again. A matrix of tiles [t0, t1) is the whole one's rows
  // from t0 * kPackRows, so each output gets the bits matmul_packed gives it, whatever the tasks.
  const int64_t spread = (tiles + 4 * pool.threads() - 1) / (4 * pool.threads());
  const int64_t per = std::min(tiles_per_task(int64_t{256} << 10, a.tile_bytes), std::max<int64_t>(2, spread));
  const int64_t chunks = (tiles + per - 1) / per;
  const int64_t row_tasks = chunks < pool.threads() ? (m + 63) / 64 : 1, rows_per_task = row_tasks == 1 ? m : 64;
  run_grid(pool, row_tasks, chunks, m * n * k, [&](int64_t mi, int64_t c) {
    const int64_t t0 = c * per, t1 = std::min(tiles, t0 + per);
    thread_local std::vector<uint8_t> buf;
    buf.resize(static_cast<size_t>((t1 - t0) * a.tile_bytes));
    for (int64_t t = t0; t < t1; ++t) pack_tile(q, plan, t, buf.data() + (t - t0) * a.tile_bytes);
    PackedArgs part = a;
    part.data = buf.data();
    part.n = n - t0 * kPackRows;
    gemm_rows(kernels.gemm_i8_packed, part, act, mi * rows_per_task, std::min(m, (mi + 1) * rows_per_task), 0,
              t1 - t0, y + t0 * kPackRows, n);
  });
}

void matmul_packed(const KernelTable& kernels, const PackedArgs& w, const float* x, int64_t m, float* y,
                   ThreadPool& pool) {
  const PackedArgs* ws[] = {&w};
  float* ys[] = {y};
  matmul_packed_multi(kernels, ws, ys, 1, x, m, pool);
}

void matmul_packed_multi(const KernelTable& kernels, const PackedArgs* const* ws, float* const* ys, int count,
                         const float* x, int64_t m, ThreadPool& pool) {
  const int64_t k = ws[0]->k;
  bool half = false;
  for (int i = 0; i < count; ++i) half = half || ws[i]->half_sums();
  const GemmI8PackedFn gemm = kernels.gemm_i8_packed;
  const ActivationsI8 a = quantize_activations(kernels, x, m, k, half, pool);
  // Each output row runs the same instruction sequence whichever tiles share its chunk or pass
  // (kernels.h), so results are bit-identical for any chunking and any number of threads.
  // At least two tiles per chunk, which the x86 kernels stream side by side for the rows of x
  // left over from their row tiles (all of a GEMV; NEON takes its tiles one at a time): with one
  // stream per core a 16384x8192 int4 g32 GEMV on Zen 5 ran at 65-75% of the read probe's
  // bandwidth on 2 threads, with two at the probe's pace. GEMM chunks hold about 64 KiB of
  // weights: enough to amortise a task, small enough to balance. A GEMV's chunks are longer, about
  // an eighth of a thread's share of the weights (64 KiB to 1 MiB): each chunk's streams start
  // cold, and on short rows (k = 2048: 18 KiB tiles) 64 KiB chunks held a 2-thread q4_0 GEMV at
  // 63-66% of the probe where 256 KiB and 1 MiB chunks gave 71-84% (Zen 5, TinyLlama's shapes).
  // The matrices' chunks form one grid.
  int64_t total_bytes = 0;
  for (int i = 0; i < count; ++i) total_bytes += (ws[i]->n + kPackRows - 1) / kPackRows * ws[i]->tile_bytes;
  const int64_t chunk_bytes =
      m > 4 ? int64_t{64} << 10 : std::clamp<int64_t>(total_bytes / (8 * pool.threads()), int64_t{64} << 10, int64_t{1} << 20);
  struct Part {
    const PackedArgs* w;
    float* y;
    int64_t tiles, tiles_per_task, first;  // first: the part's first chunk in the grid
  };
  std::vector<Part> parts;
  int64_t chunks = 0, macs = 0;
  for (int i = 0; i < count; ++i) {
    const PackedArgs& w = *ws[i];
    const int64_t tiles = (w.n + kPackRows - 1) / kPackRows;
    const int64_t per = tiles_per_task(chunk_bytes, w.tile_bytes);
    parts.push_back({&w, ys[i], tiles, per, chunks});
    chunks += (tiles + per - 1) / per;
    macs += m * w.n * k;
  }
  const int64_t mt = (m + kRowsPerPass - 1) / kRowsPerPass;
  run_grid(pool, mt, chunks, macs, [&](int64_t mi, int64_t c) {
    const Part* p = &parts[0];
    for (const Part& q : parts) {
      if (q.first <= c) p = &q;
    }
    const int64_t ti = c - p->first, n = p->w->n;
    const int64_t i0 = mi * kRowsPerPass;
    gemm_rows(gemm, *p->w, a, i0, std::min(m, i0 + kRowsPerPass), ti * p->tiles_per_task,
              std::min(p->tiles, (ti + 1) * p->tiles_per_task), p->y, n);
  });
}

}  // namespace lowbit
