// The native test program's checks: CHECK counts every check and prints the first 30 failures.
#pragma once

#include <cstdio>

#include "../core/kernels.h"

namespace lowbit::tests {

inline int g_failures = 0;
inline int g_checks = 0;

// Tests of the runtime beside the kernels (test_runtime.cc).
void test_thread_pool();
// A kernel set's fp16 <-> fp32 conversions (test_conversions.cc).
void test_f16_conversions(const KernelTable& kt);
// A kernel set's dequantizer of the ggml block-header types (test_dequantize_blocks.cc).
void test_dequantize_blocks(const KernelTable& kt);

}  // namespace lowbit::tests

#define CHECK(cond, ...)                                            \
  do {                                                              \
    ++::lowbit::tests::g_checks;                                    \
    if (!(cond)) {                                                  \
      if (++::lowbit::tests::g_failures <= 30) {                    \
        std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);   \
        std::fprintf(stderr, __VA_ARGS__);                          \
        std::fprintf(stderr, "\n");                                 \
      }                                                             \
    }                                                               \
  } while (0)
