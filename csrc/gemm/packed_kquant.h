// The packed tile layout of the K-quant super-block formats (PackedArgs codes kQ4K, kQ5K,
// kQ6K; kernels.h describes the bytes): planning and packing, called by plan_pack and
// pack_weights for super-block matrices.
#pragma once

#include <cstdint>

#include "packed.h"

namespace lowbit {

PackPlan plan_pack_kquant(const QMatrixView& q);

// Tile `t` (rows t * kPackRows ...) into plan.args.tile_bytes bytes at `out`.
void pack_kquant_tile(const QMatrixView& q, const PackedArgs& a, int64_t t, uint8_t* out);

}  // namespace lowbit
