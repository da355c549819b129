// Rows of x in register tiles of 4, then one tile of the 1-3 rows left: the row loop every
// dot-product kernel (int8 and fp32, every kernel set) runs around its RM x RN tile. Each
// (row, column) pair runs the same instruction sequence whatever the tile, so results do not
// depend on m or on the thread count. Internal linkage, so each set's copy keeps its flags.
#pragma once

#include <cstdint>
#include <type_traits>

// On a tile function: it stays a function of its own. Each tile is a hot loop whose accumulators
// fill the registers; for_row_tiles' lambdas make every tile a single call, which the compiler then
// inlines into one driver holding all of them, where the tiles share one register allocation and
// run slower (measured in CHANGELOG.md, 2026-12-06).
#define LOWBIT_TILE __attribute__((noinline))

namespace lowbit {
namespace {

// tile(rm, i) for row tiles [i, i + rm), rm a std::integral_constant<int, 1..4>.
template <typename Tile>
inline void for_row_tiles(int64_t m, Tile&& tile) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) tile(std::integral_constant<int, 4>(), i);
  switch (m - i) {
    case 3: tile(std::integral_constant<int, 3>(), i); break;
    case 2: tile(std::integral_constant<int, 2>(), i); break;
    case 1: tile(std::integral_constant<int, 1>(), i); break;
    default: break;
  }
}

}  // namespace
}  // namespace lowbit
