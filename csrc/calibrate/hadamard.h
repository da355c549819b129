// Randomised Hadamard rotations (QuaRot-style): R = D H / sqrt(n) with D a seeded
// random sign diagonal and H a Hadamard matrix, so R is orthogonal and
// (X R)(W R)^T = X W^T. Rotating spreads each outlier channel over all channels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../core/kernels.h"
#include "../runtime/thread_pool.h"

namespace lowbit {

// How a size n is rotated: H = H_m (x) H_p with p the largest power of two dividing n and
// H_m a Paley (q + 1, q prime, q = 3 mod 4) or trivial (m = 1) factor; when no Hadamard
// matrix of order m is constructed here, H = I_m (x) H_p (block-diagonal).
struct HadamardPlan {
  int64_t n = 0, p = 1, m = 1;
  bool block_diagonal = false;
  std::vector<int8_t> hm;  // m x m, +-1, row-major (empty for m = 1 or block-diagonal)
  std::string describe() const;
};

HadamardPlan plan_hadamard(int64_t n);

// Rows of a [rows, n] matrix times R = D H / sqrt(n), in place; D from `seed`.
void rotate_rows(float* a, int64_t rows, const HadamardPlan& plan, uint64_t seed, const KernelTable& kt,
                 ThreadPool& pool);

// The +-1 signs of D for (n, seed).
std::vector<float> rotation_signs(int64_t n, uint64_t seed);

}  // namespace lowbit
