#include "scratch.h"

#include <chrono>
#include <mutex>
#include <new>
#include <vector>

namespace lowbit::napi {
namespace {

using Clock = std::chrono::steady_clock;

// At most this much is kept, and a block unused for this long is freed at the next take or release.
constexpr size_t kMaxCachedBytes = size_t{512} << 20;
constexpr auto kMaxIdle = std::chrono::seconds(30);
// Blocks are sized in these steps, so that a slightly larger request reuses a block.
constexpr size_t kGranule = size_t{64} << 10;
constexpr std::align_val_t kAlign{64};

struct Block {
  uint8_t* p;
  size_t capacity;
  Clock::time_point released;
};

struct Cache {
  std::mutex mu;
  std::vector<Block> blocks;
  size_t bytes = 0;

  // Frees blocks idle too long (under mu).
  void trim(Clock::time_point now) {
    for (size_t i = 0; i < blocks.size();) {
      if (now - blocks[i].released > kMaxIdle) {
        ::operator delete[](blocks[i].p, kAlign);
        bytes -= blocks[i].capacity;
        blocks[i] = blocks.back();
        blocks.pop_back();
      } else {
        ++i;
      }
    }
  }
};

Cache& cache() {
  // Leaked on purpose, like the thread pool: releases may come during static destruction.
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

void ScratchRelease::operator()(uint8_t* p) const {
  if (p == nullptr) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  const auto now = Clock::now();
  c.trim(now);
  if (capacity > kMaxCachedBytes) {
    ::operator delete[](p, kAlign);
    return;
  }
  // Make room by dropping the oldest blocks.
  while (c.bytes + capacity > kMaxCachedBytes && !c.blocks.empty()) {
    size_t oldest = 0;
    for (size_t i = 1; i < c.blocks.size(); ++i)
      if (c.blocks[i].released < c.blocks[oldest].released) oldest = i;
    ::operator delete[](c.blocks[oldest].p, kAlign);
    c.bytes -= c.blocks[oldest].capacity;
    c.blocks[oldest] = c.blocks.back();
    c.blocks.pop_back();
  }
  c.blocks.push_back({p, capacity, now});
  c.bytes += capacity;
}

Scratch take_scratch(size_t bytes) {
  const size_t want = (bytes + kGranule - 1) / kGranule * kGranule;
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.trim(Clock::now());
    // The smallest block that fits and wastes at most half of itself.
    size_t best = c.blocks.size();
    for (size_t i = 0; i < c.blocks.size(); ++i) {
      const size_t cap = c.blocks[i].capacity;
      if (cap >= want && cap / 2 <= want && (best == c.blocks.size() || cap < c.blocks[best].capacity)) best = i;
    }
    if (best < c.blocks.size()) {
      Block b = c.blocks[best];
      c.blocks[best] = c.blocks.back();
      c.blocks.pop_back();
      c.bytes -= b.capacity;
      return Scratch(b.p, ScratchRelease{b.capacity});
    }
  }
  return Scratch(static_cast<uint8_t*>(::operator new[](want, kAlign)), ScratchRelease{want});
}

}  // namespace lowbit::napi
