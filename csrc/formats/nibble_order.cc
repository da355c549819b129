#include "nibble_order.h"

#include <cstring>

#include "../core/qmatrix.h"

namespace lowbit {

namespace {

inline unsigned interleaved_code(const uint8_t* row, int64_t c) { return (row[c >> 1] >> ((c & 1) * 4)) & 0xF; }

// dst's rows from src's: `block` converts each whole 32-column block (16 bytes, the same in both orders'
// positions), `column` places one column of the last, shorter block into a cleared row.
template <typename Block, typename Column>
void convert_rows(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols, Block block, Column column) {
  const int64_t rb = (cols + 1) / 2;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * rb;
    uint8_t* d = dst + r * rb;
    std::memset(d, 0, static_cast<size_t>(rb));
    int64_t c = 0;
    for (; c + 32 <= cols; c += 32) block(s + c / 2, d + c / 2);
    for (; c < cols; ++c) column(s, d, c);
  }
}

}  // namespace

void nibbles_from_interleaved(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols) {
  convert_rows(
      src, dst, rows, cols,
      // Byte j gets columns j and j + 16, from bytes j / 2 and 8 + j / 2.
      [](const uint8_t* s, uint8_t* d) {
        for (int j = 0; j < 16; ++j) d[j] = static_cast<uint8_t>(interleaved_code(s, j) | interleaved_code(s, j + 16) << 4);
      },
      [cols](const uint8_t* s, uint8_t* d, int64_t c) {
        const NibbleSlot at = nibble_slot(cols, c);
        d[at.byte] = static_cast<uint8_t>(d[at.byte] | interleaved_code(s, c) << at.shift);
      });
}

void nibbles_to_interleaved(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols) {
  convert_rows(
      src, dst, rows, cols,
      // Byte i gets columns 2i and 2i + 1; column j < 16 is the low nibble of byte j, the rest high.
      [](const uint8_t* s, uint8_t* d) {
        for (int i = 0; i < 16; ++i) {
          d[i] = static_cast<uint8_t>(nibble_code(s, 32, 2 * i) | nibble_code(s, 32, 2 * i + 1) << 4);
        }
      },
      [cols](const uint8_t* s, uint8_t* d, int64_t c) {
        d[c >> 1] = static_cast<uint8_t>(d[c >> 1] | nibble_code(s, cols, c) << ((c & 1) * 4));
      });
}

}  // namespace lowbit
