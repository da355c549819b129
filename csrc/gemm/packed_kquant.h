// The packed tile layout of ggml's block types (PackedArgs codes kQ4K ... kTQ; kernels.h describes the
// bytes): planning and packing, called by plan_pack and pack_tile for those matrices, and the writer of
// a row's 32 codes into a block's chunks that every packer shares.
#pragma once

#include <cstdint>

#include "packed.h"

namespace lowbit {

PackPlan plan_pack_kquant(const QMatrixView& q);

// Row r's codes u[0..32) of one 32-column block (one byte each, below 2^bits of code c) into its chunks at
// cb (kernels.h), every byte of the row's chunks stored whole (no read-modify-write), so a full tile
// needs no clearing first.
void put_block_codes(PCode c, const uint8_t* u, int64_t r, uint8_t* cb);

// Tile `t` (rows t * kPackRows ...) into plan.args.tile_bytes bytes at `out`.
void pack_kquant_tile(const QMatrixView& q, const PackedArgs& a, int64_t t, uint8_t* out);

}  // namespace lowbit
