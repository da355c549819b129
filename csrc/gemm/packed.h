// Prepared weights: a QuantizedMatrix repacked once into the tile layout the int8
// kernels read (PackedArgs in kernels.h), and the matmul that runs on it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../core/kernels.h"
#include "../core/layout.h"
#include "../runtime/thread_pool.h"
#include "../runtime/work.h"

namespace lowbit {

// Everything about a packed matrix except its bytes. `packable` says whether the
// layout takes q at all (int8-activation formats; k a multiple of 32; group 16 only
// for 4-bit tables; no column scales, which matmul folds into x instead; the K-quants in
// their own tiles); `why` says why not.
struct PackPlan {
  bool packable = false;
  std::string why;
  PackedArgs args;  // data unset
  int64_t bytes = 0;
};

PackPlan plan_pack(const QMatrixView& q);

// Writes plan.bytes bytes of packed tiles to `out`; `progress` (optional) counts tiles.
void pack_weights(const QMatrixView& q, const PackPlan& plan, uint8_t* out, Work* progress = nullptr);

// Writes tile t's plan.args.tile_bytes bytes (rows [t * kPackRows, (t + 1) * kPackRows)) to `out`.
void pack_tile(const QMatrixView& q, const PackPlan& plan, int64_t t, uint8_t* out);

// y = x * W^T with int8 activations on q as plan packs it, a few tiles at a time into a per-thread
// buffer (no packed copy of the whole matrix): the bits matmul_packed gives on pack_weights's bytes.
void matmul_packing(const KernelTable& kernels, const QMatrixView& q, const PackPlan& plan, const float* x, int64_t m,
                    float* y, ThreadPool& pool);

// y = x * W^T with int8 activations on packed weights (the matmul() contract: blocks of
// 32, exact integer block sums).
void matmul_packed(const KernelTable& kernels, const PackedArgs& w, const float* x, int64_t m, float* y,
                   ThreadPool& pool);

// Several packed matrices multiplying one x (the same k; any codes): y_i = x * W_i^T
// with x quantized once and one parallel region over all their chunks (a layer's q, k and v products;
// gate and up). Each output gets the bits matmul_packed gives it.
void matmul_packed_multi(const KernelTable& kernels, const PackedArgs* const* w, float* const* y, int count,
                         const float* x, int64_t m, ThreadPool& pool);

}  // namespace lowbit
