#include "hadamard.h"

#include <cmath>

#include "../core/matmul_ref.h"

namespace lowbit {
namespace {

bool is_prime(int64_t q) {
  if (q < 2) return false;
  for (int64_t d = 2; d * d <= q; ++d)
    if (q % d == 0) return false;
  return true;
}

// Paley's first construction: for a prime q = 3 (mod 4), H = I + S with
// S = [[0, 1^T], [-1, Q]], Q_ij = chi(j - i) (chi the quadratic character mod q),
// is a Hadamard matrix of order q + 1.
std::vector<int8_t> paley(int64_t q) {
  const int64_t m = q + 1;
  std::vector<int> chi(static_cast<size_t>(q), -1);
  chi[0] = 0;
  for (int64_t x = 1; x < q; ++x) chi[(x * x) % q] = 1;
  std::vector<int8_t> h(static_cast<size_t>(m * m));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < m; ++j) {
      int v;
      if (i == 0) v = j == 0 ? 0 : 1;
      else if (j == 0) v = -1;
      else v = chi[((j - i) % q + q) % q];
      h[i * m + j] = static_cast<int8_t>(v + (i == j ? 1 : 0));
    }
  }
  return h;
}

// splitmix64: a seeded, portable sign stream.
uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::string HadamardPlan::describe() const {
  if (m == 1) return "hadamard " + std::to_string(p);
  if (block_diagonal) return "block-diagonal hadamard " + std::to_string(m) + " x " + std::to_string(p);
  return "hadamard paley " + std::to_string(m) + " (x) " + std::to_string(p);
}

HadamardPlan plan_hadamard(int64_t n) {
  HadamardPlan plan;
  plan.n = n;
  while (n % (plan.p * 2) == 0) plan.p *= 2;
  plan.m = n / plan.p;
  if (plan.m == 1) return plan;
  // Move factors of two back from p until m = q + 1 with q a prime = 3 (mod 4), if possible.
  for (int64_t p = plan.p, m = plan.m; p >= 1; p /= 2, m *= 2) {
    if (m % 4 == 0 && is_prime(m - 1) && (m - 1) % 4 == 3 && m <= 1024) {
      plan.p = p;
      plan.m = m;
      plan.hm = paley(m - 1);
      return plan;
    }
    if (p == 1) break;
  }
  plan.block_diagonal = true;
  return plan;
}

std::vector<float> rotation_signs(int64_t n, uint64_t seed) {
  std::vector<float> d(static_cast<size_t>(n));
  uint64_t s = seed;
  for (int64_t i = 0; i < n; ++i) d[i] = (splitmix(s) >> 63) ? -1.0f : 1.0f;
  return d;
}

void rotate_rows(float* a, int64_t rows, const HadamardPlan& plan, uint64_t seed, const KernelTable& kt,
                 ThreadPool& pool) {
  const int64_t n = plan.n, p = plan.p, m = plan.m;
  const std::vector<float> d = rotation_signs(n, seed);
  const bool dense = !plan.hm.empty();
  // Orthogonal: H_m (x) H_p has rows of norm sqrt(m p); the block-diagonal I_m (x) H_p sqrt(p).
  const float norm = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dense ? n : p)));
  pool.parallel_for((rows + 15) / 16, [&](int64_t t) {
    std::vector<float> tmp(dense ? static_cast<size_t>(n) : 0);
    for (int64_t r = t * 16; r < std::min(rows, (t + 1) * 16); ++r) {
      float* v = a + r * n;
      for (int64_t i = 0; i < n; ++i) v[i] *= d[i];
      // v (as [m, p]) times H_p along each segment, then H_m^T across segments.
      for (int64_t j = 0; j < m; ++j) {
        // The kernels take n >= 8; the scalar transform any power of two.
        (p >= 8 ? kt : ref::kTable).fwht(v + j * p, p);
      }
      if (dense) {
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t s = 0; s < p; ++s) {
            double acc = 0.0;
            for (int64_t j = 0; j < m; ++j) acc += plan.hm[j * m + i] * static_cast<double>(v[j * p + s]);
            tmp[i * p + s] = static_cast<float>(acc);
          }
        }
        std::copy(tmp.begin(), tmp.end(), v);
      }
      for (int64_t i = 0; i < n; ++i) v[i] *= norm;
    }
  });
}

}  // namespace lowbit
