// Scratch memory for the copies async calls make of JavaScript's buffers (pinned.h). Blocks are kept
// for reuse, a bounded amount for a bounded time: the first touch of fresh pages is what a large copy
// costs (235 MB took 0.76 s into fresh pages and 17 ms into reused ones on a 2-vCPU cloud VM), and
// async calls on the same shapes recur (a model quantized or multiplied layer by layer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace lowbit::napi {

struct ScratchRelease {
  size_t capacity = 0;
  void operator()(uint8_t* p) const;
};
using Scratch = std::unique_ptr<uint8_t[], ScratchRelease>;

// At least `bytes` bytes (contents unspecified), from the cache when a block fits.
Scratch take_scratch(size_t bytes);

}  // namespace lowbit::napi
