// Native kernel tests: every kernel set this CPU supports against the scalar
// reference, on random and adversarial inputs. LOWBIT_ISA=<name> restricts the
// run to one set. Tolerances are derived in the comments next to each check.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/dispatch.h"
#include "../core/matmul.h"
#include "../core/matmul_ref.h"
#include "../core/quantize.h"

using namespace lowbit;

namespace {

int g_failures = 0;
int g_checks = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    ++g_checks;                                            \
    if (!(cond)) {                                         \
      if (++g_failures <= 30) {                            \
        std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
        std::fprintf(stderr, __VA_ARGS__);                 \
        std::fprintf(stderr, "\n");                        \
      }                                                    \
    }                                                      \
  } while (0)

struct Quantized {
  QuantLayout L;
  std::vector<uint8_t> data, zeros;
  std::vector<float> scales;
  QMatrixView view() const {
    QMatrixView v;
    v.layout = L;
    v.data = data.data();
    v.scales = scales.data();
    v.zeros = zeros.empty() ? nullptr : zeros.data();
    return v;
  }
};

Quantized make_quantized(const std::vector<float>& w, int64_t rows, int64_t cols, int bits, Scheme s, Granularity g,
                         int64_t gs) {
  Quantized q;
  q.L.rows = rows;
  q.L.cols = cols;
  q.L.bits = bits;
  q.L.scheme = s;
  q.L.granularity = g;
  q.L.group_size = g == Granularity::kGroup ? gs : 0;
  q.data.resize(q.L.data_bytes());
  q.scales.resize(q.L.num_scales());
  q.zeros.resize(q.L.num_zeros());
  const char* err = quantize_matrix(w.data(), q.L, q.data.data(), q.scales.data(), q.zeros.empty() ? nullptr : q.zeros.data());
  if (err) {
    std::fprintf(stderr, "quantize failed: %s\n", err);
    std::exit(2);
  }
  return q;
}

std::vector<float> random_matrix(std::mt19937& rng, int64_t n, int kind) {
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> ud(0.0f, 1.0f);
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) {
    float x = nd(rng);
    switch (kind) {
      case 1: x *= std::exp(1.5f * nd(rng)); break;            // heavy tails
      case 2: x = std::fabs(x); break;                         // non-negative
      case 3: x = (i % 64 < 32) ? 0.0f : x; break;             // all-zero blocks
      case 4: x = std::nearbyint(x * 8.0f) * 0.5f + 0.25f; break;  // many exact ties after scaling
      default: break;
    }
    v[i] = x;
  }
  return v;
}

// Activation quantization must match the reference bit for bit: same division,
// same round-half-even, same sums.
void test_quantize_act(const KernelTable& kt, std::mt19937& rng) {
  for (int kind = 0; kind < 5; ++kind) {
    const int64_t k = 256;
    std::vector<float> x = random_matrix(rng, k, kind);
    if (kind == 4) {
      // Blocks whose amax is exactly 127: every x.5 value is a tie.
      for (int64_t i = 0; i < k; i += 32) x[i] = 127.0f;
      for (int64_t i = 0; i < k; ++i)
        if (i % 32) x[i] = static_cast<float>(static_cast<int>(x[i] * 10) % 120) + 0.5f;
    }
    std::vector<int8_t> q1(k), q2(k);
    std::vector<float> d1(k / 32), d2(k / 32);
    std::vector<int32_t> s1(k / 32), s2(k / 32);
    ref::quantize_act(x.data(), k, q1.data(), d1.data(), s1.data());
    kt.quantize_act(x.data(), k, q2.data(), d2.data(), s2.data());
    CHECK(q1 == q2, "[%s] quantize_act codes differ (kind %d)", kt.name, kind);
    CHECK(std::memcmp(d1.data(), d2.data(), d1.size() * 4) == 0, "[%s] quantize_act scales differ (kind %d)", kt.name, kind);
    CHECK(s1 == s2, "[%s] quantize_act sums differ (kind %d)", kt.name, kind);
  }
}

// Dequantized weights as float32, exactly as dequantize() rounds them.
std::vector<float> dequantized(const Quantized& q) {
  std::vector<float> out(q.L.rows * q.L.cols);
  dequantize_matrix(q.view(), out.data());
  return out;
}

void test_matmul_config(const KernelTable& kt, std::mt19937& rng, int64_t n, int64_t k, int bits, Scheme s,
                        Granularity g, int64_t gs, int64_t m, int kind) {
  const std::vector<float> w = random_matrix(rng, n * k, kind);
  const std::vector<float> x = random_matrix(rng, m * k, kind == 3 ? 0 : kind);
  const Quantized q = make_quantized(w, n, k, bits, s, g, gs);
  const std::vector<float> wh = dequantized(q);
  char tag[160];
  std::snprintf(tag, sizeof tag, "[%s] int%d %s %s%s m=%lld n=%lld k=%lld kind=%d", kt.name, bits, scheme_name(s),
                granularity_name(g), g == Granularity::kGroup ? std::to_string(gs).c_str() : "", (long long)m, (long long)n,
                (long long)k, kind);
  ThreadPool& pool = ThreadPool::global();

  // Float activations against an fp64 reference of x * dequantize(w)^T. fp32
  // accumulation of k products in any order errs by at most about k * 2^-24
  // times sum |x * w^|; the kernels add at most 8-lane partial sums of k/8
  // terms, so 1e-5 of sum |x * w^| holds for k <= 256 with a wide margin
  // (256 * 6e-8 = 1.5e-5 worst case, random-walk typical 1e-6). For column
  // granularity with zero-points the kernels sum x'*(u) and subtract x'*z, so
  // the magnitude is sum |x * s| * (u + z).
  std::vector<float> y(m * n);
  matmul(kt, q.view(), x.data(), m, Activations::kFloat, y.data(), pool);
  const bool col_zero = g == Granularity::kColumn && s == Scheme::kAsymmetric;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double exact = 0.0, mag = 0.0;
      for (int64_t c = 0; c < k; ++c) {
        exact += static_cast<double>(x[i * k + c]) * wh[j * k + c];
        if (col_zero) {
          const int u = bits == 4 ? ((c & 1) ? q.data[j * q.L.row_bytes() + c / 2] >> 4 : q.data[j * q.L.row_bytes() + c / 2] & 15)
                                  : q.data[j * k + c];
          mag += std::fabs(static_cast<double>(x[i * k + c]) * q.scales[c]) * (u + q.zeros[c]);
        } else {
          mag += std::fabs(static_cast<double>(x[i * k + c]) * wh[j * k + c]);
        }
      }
      const double err = std::fabs(y[i * n + j] - exact);
      CHECK(err <= 1e-5 * mag + 1e-30, "%s float path y[%lld,%lld]=%.9g exact %.9g (err %.3g > %.3g)", tag, (long long)i,
            (long long)j, y[i * n + j], exact, err, 1e-5 * mag);
    }
  }

  // int8 activations against the scalar reference kernels. Both quantize x the
  // same way (checked bit for bit above) and form the same exact integer sums
  // per block; they differ only in how the per-block float terms are added: the
  // reference adds nb terms (d_b * s_b) * isum_b in order, the SIMD kernels add
  // each block's lane partial sums (8 or 4 lanes) then reduce horizontally. An
  // fp32 sum of N terms in any order errs by at most (N - 1) * 2^-24 * sum |term|
  // (to first order), so the two agree within 2 * (nb + 8) * 2^-24 * T, where T
  // bounds sum |term| over every lane partial:
  //   T = sum_b |d_b * s_b| * (sum_k |xq_k| * |w_k - z| + |b8 * sum_b(xq)|),
  // b8 = z - 128 for unsigned 8-bit codes (whose kernels subtract that bias once
  // per block, see the x86 and NEON kernels), 0 otherwise.
  std::vector<float> yr(m * n), ys(m * n);
  matmul(ref::kTable, q.view(), x.data(), m, Activations::kInt8, yr.data(), pool);
  matmul(kt, q.view(), x.data(), m, Activations::kInt8, ys.data(), pool);
  {
    std::vector<float> xs(x);
    const bool column = g == Granularity::kColumn;
    if (column)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t c = 0; c < k; ++c) xs[i * k + c] *= q.scales[c];
    const int64_t nb = (k + 31) / 32;
    const int64_t rb = q.L.row_bytes();
    std::vector<int8_t> xq(k);
    std::vector<float> xd(nb);
    std::vector<int32_t> xsum(nb);
    for (int64_t i = 0; i < m; ++i) {
      ref::quantize_act(xs.data() + i * k, k, xq.data(), xd.data(), xsum.data());
      for (int64_t j = 0; j < n; ++j) {
        double mag = 0.0;
        for (int64_t b = 0; b < nb; ++b) {
          // Scale and zero-point of this block as the kernels see them (column: unit scale, raw codes).
          const int64_t c0 = b * 32;
          const int64_t si = column ? 0 : q.L.scale_index(j, c0);
          const double sc = column ? 1.0 : q.scales[si];
          const int z = (s == Scheme::kSymmetric) ? (bits == 4 ? 8 : 0) : (column ? 0 : q.zeros[si]);
          double blk = 0.0;
          for (int64_t c = c0; c < std::min(k, c0 + 32); ++c) {
            const int u = bits == 4 ? ((c & 1) ? q.data[j * rb + c / 2] >> 4 : q.data[j * rb + c / 2] & 15)
                                    : (s == Scheme::kSymmetric ? static_cast<int8_t>(q.data[j * k + c]) : q.data[j * k + c]);
            blk += std::abs(static_cast<int>(xq[c])) * std::abs(u - z);
          }
          if (bits == 8 && s == Scheme::kAsymmetric) blk += std::fabs(static_cast<double>(z - 128) * xsum[b]);
          mag += std::fabs(static_cast<double>(xd[b]) * sc) * blk;
        }
        const double tol = 2.0 * (nb + 8) * std::ldexp(1.0, -24) * mag * 1.01 + 1e-30;
        const double err = std::fabs(static_cast<double>(ys[i * n + j]) - yr[i * n + j]);
        CHECK(err <= tol, "%s int8 path y[%lld,%lld]=%.9g ref %.9g (err %.3g > %.3g)", tag, (long long)i, (long long)j,
              ys[i * n + j], yr[i * n + j], err, tol);
      }
    }
  }

  // Bit-identical results for every thread count.
  const int saved = pool.threads();
  for (int t : {1, 3}) {
    pool.set_threads(t);
    std::vector<float> yt(m * n), yi(m * n);
    matmul(kt, q.view(), x.data(), m, Activations::kFloat, yt.data(), pool);
    matmul(kt, q.view(), x.data(), m, Activations::kInt8, yi.data(), pool);
    CHECK(std::memcmp(yt.data(), y.data(), y.size() * 4) == 0, "%s float path differs with %d threads", tag, t);
    CHECK(std::memcmp(yi.data(), ys.data(), ys.size() * 4) == 0, "%s int8 path differs with %d threads", tag, t);
  }
  pool.set_threads(saved);
}

void test_sgemm(const KernelTable& kt, std::mt19937& rng) {
  for (int64_t m : {1, 5, 8}) {
    const int64_t n = 37, k = 203;
    std::vector<float> x = random_matrix(rng, m * k, 0), w = random_matrix(rng, n * k, 0), y(m * n);
    sgemm(kt, x.data(), w.data(), m, n, k, y.data(), ThreadPool::global());
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double exact = 0, mag = 0;
        for (int64_t c = 0; c < k; ++c) {
          exact += static_cast<double>(x[i * k + c]) * w[j * k + c];
          mag += std::fabs(static_cast<double>(x[i * k + c]) * w[j * k + c]);
        }
        CHECK(std::fabs(y[i * n + j] - exact) <= 1e-5 * mag, "[%s] sgemm m=%lld y[%lld,%lld]", kt.name, (long long)m,
              (long long)i, (long long)j);
      }
  }
}

void test_table(const KernelTable& kt) {
  std::mt19937 rng(1234);
  test_quantize_act(kt, rng);
  test_sgemm(kt, rng);
  const int64_t ms[] = {1, 2, 3, 7, 8, 33, 128};
  int variant = 0;
  for (int bits : {4, 8}) {
    for (Scheme s : {Scheme::kSymmetric, Scheme::kAsymmetric}) {
      for (Granularity g : {Granularity::kTensor, Granularity::kRow, Granularity::kColumn, Granularity::kGroup}) {
        for (int64_t gs : {32, 64, 128}) {
          if (g != Granularity::kGroup && gs != 32) continue;
          for (int64_t m : ms) {
            const int kind = variant++ % 5;
            test_matmul_config(kt, rng, /*n=*/37, /*k=*/256, bits, s, g, gs, m, kind);
          }
        }
        // Shapes the SIMD kernels hand to the scalar path: odd cols, a group of 8.
        test_matmul_config(kt, rng, 5, g == Granularity::kGroup ? 40 : 45, bits, s, g, 8, 3, variant++ % 5);
      }
    }
  }
}

}  // namespace

int main() {
  std::string only = std::getenv("LOWBIT_ISA") ? std::getenv("LOWBIT_ISA") : "";
  std::printf("cpu: %s, features:", cpu_features().arch);
  for (const auto& f : cpu_features().names()) std::printf(" %s", f.c_str());
  std::printf("\n");
  int tables = 0;
  for (const auto& name : supported_isas()) {
    if (!only.empty() && name != only) continue;
    const KernelTable* kt = kernels_for(name);
    const int before = g_failures, checks = g_checks;
    test_table(*kt);
    std::printf("%-14s %6d checks, %d failures\n", name.c_str(), g_checks - checks, g_failures - before);
    ++tables;
  }
  if (!only.empty() && tables == 0) {
    std::fprintf(stderr, "LOWBIT_ISA=%s is not supported here: %s\n", only.c_str(), select_isa(only).c_str());
    return 1;
  }
  std::printf("%d passed, %d failed\n", g_checks - g_failures, g_failures);
  return g_failures == 0 ? 0 : 1;
}
