// A kernel set's dequantize_blocks (formats/ggml_dequantize.h under the set's flags) against the
// formats' own dequantizers, bit for bit, on blocks of random bytes: every code, scale and min
// pattern, and d / dmin of every kind (subnormal, zero, infinite and NaN binary16 included; NaNs
// compare as NaNs). Rows of several blocks, so the row loop's block strides are checked too.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "../core/float_formats.h"
#include "../core/formats.h"
#include "../formats/ggml_types.h"
#include "check.h"

namespace lowbit::tests {

void test_dequantize_blocks(const KernelTable& kt) {
  std::mt19937 rng(4321);
  std::uniform_int_distribution<int> byte(0, 255);
  for (Format f : kAllFormats) {
    const FormatInfo& info = format_info(f);
    if (info.storage != Storage::kSuperBlocks) continue;
    const int64_t blocks = info.block_cols == 256 ? 5 : 21;
    const int64_t k = blocks * info.block_cols;
    std::vector<uint8_t> row(static_cast<size_t>(blocks * info.block_bytes));
    std::vector<float> want(static_cast<size_t>(k)), got(static_cast<size_t>(k) + 16);
    for (int rep = 0; rep < 40; ++rep) {
      for (uint8_t& b : row) b = static_cast<uint8_t>(byte(rng));
      ggml_dequantize_row(f, row.data(), k, want.data());
      for (float& v : got) v = -7.0f;
      kt.dequantize_blocks(f, row.data(), k, got.data());
      int bad = 0;
      for (int64_t i = 0; i < k; ++i) {
        const bool ok = std::isnan(want[i]) ? std::isnan(got[i]) : float_bits(got[i]) == float_bits(want[i]);
        if (!ok && ++bad <= 3)
          CHECK(false, "[%s] dequantize_blocks %s column %lld: %a, expected %a", kt.name, info.name,
                static_cast<long long>(i), got[i], want[i]);
      }
      CHECK(bad == 0, "[%s] dequantize_blocks %s: %d of %lld values differ", kt.name, info.name, bad,
            static_cast<long long>(k));
      bool tail = true;
      for (size_t i = static_cast<size_t>(k); i < got.size(); ++i) tail &= got[i] == -7.0f;
      CHECK(tail, "[%s] dequantize_blocks %s writes past its %lld columns", kt.name, info.name, static_cast<long long>(k));
    }
  }
}

}  // namespace lowbit::tests
