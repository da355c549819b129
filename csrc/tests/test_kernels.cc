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

#include "../calibrate/hadamard.h"
#include "../calibrate/linalg.h"
#include "../core/formats.h"
#include "../core/matmul_ref.h"
#include "../core/qbuffers.h"
#include "../core/qmatrix.h"
#include "../core/weights.h"
#include "../formats/kquants.h"
#include "../formats/quantize.h"
#include "../gemm/matmul.h"
#include "../gemm/packed.h"
#include "../runtime/cpu_features.h"
#include "../runtime/dispatch.h"
#include "check.h"

using namespace lowbit;
using namespace lowbit::tests;

namespace {

struct Config {
  Format format = Format::kInt;
  int bits = 8;
  Scheme scheme = Scheme::kSymmetric;
  Granularity granularity = Granularity::kGroup;
  int64_t group = 32;
  ScaleType scale_type = ScaleType::kF32;
};

std::string describe(const Config& c) {
  std::string s = c.format == Format::kInt ? "int" + std::to_string(c.bits) + " " + scheme_name(c.scheme)
                                           : std::string(format_name(c.format));
  s += std::string(" ") + granularity_name(c.granularity);
  if (c.granularity == Granularity::kGroup) s += std::to_string(c.group);
  return s + " " + scale_type_name(c.scale_type);
}

using Quantized = QuantizedBuffers;

QuantLayout layout_of(int64_t rows, int64_t cols, const Config& c) {
  QuantLayout L;
  L.rows = rows;
  L.cols = cols;
  L.bits = c.bits;
  L.scheme = c.scheme;
  L.granularity = c.granularity;
  L.group_size = c.granularity == Granularity::kGroup ? c.group : 0;
  L.format = c.format;
  L.scale_type = c.scale_type;
  return L;
}

Quantized make_quantized(const std::vector<float>& w, int64_t rows, int64_t cols, const Config& c) {
  Quantized q(layout_of(rows, cols, c));
  const char* err = quantize_matrix(w.data(), q.L, q.data.data(), q.scales.data(),
                                    q.zeros.empty() ? nullptr : q.zeros.data(), &q.tensor_scale);
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
      // The integer chains' worst case: one negative spike per 16 values sets each group's (and x's
      // block's) scale, so the rest quantize to the top code (x: 119 of 127) and every product in a
      // chain of sums is near its largest, of one sign. Runs of 256 (the test's rows) alternate in
      // sign, so sums of both signs meet. No randomness.
      case 5: x = (i % 16 == 0 ? -1.07f : 1.0f) * ((i / 256) % 2 ? -1.0f : 1.0f); break;
      default: break;
    }
    v[i] = x;
  }
  return v;
}

// Activation quantization must match the reference bit for bit: same division,
// same round-half-even, same sums.
void test_quantize_act(const KernelTable& kt, std::mt19937& rng) {
  for (int kind = 0; kind < 6; ++kind) {
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
  // Subnormal scales (amax below 127 * 2^-126) round coarsely, so x / s reaches about 190 (block 3:
  // amax 184 * 2^-149, s = 2^-149): the codes are held to [-127, 127] and each block's sum is theirs.
  const int64_t k = 256;
  std::vector<float> x(k);
  for (int64_t i = 0; i < k; ++i) {
    const int top = 64 + 40 * static_cast<int>(i / 32);
    const int j = i % 32 == 0 ? top : static_cast<int>(rng() % static_cast<unsigned>(top + 1));
    x[i] = std::ldexp(static_cast<float>(i % 2 ? -j : j), -149);
  }
  std::vector<int8_t> q1(k), q2(k);
  std::vector<float> d1(k / 32), d2(k / 32);
  std::vector<int32_t> s1(k / 32), s2(k / 32);
  ref::quantize_act(x.data(), k, q1.data(), d1.data(), s1.data());
  kt.quantize_act(x.data(), k, q2.data(), d2.data(), s2.data());
  CHECK(q1 == q2 && s1 == s2, "[%s] quantize_act of subnormal blocks differs from the reference", kt.name);
  int clamped = 0;
  for (int64_t b = 0; b < k / 32; ++b) {
    int32_t total = 0;
    for (int64_t c = 32 * b; c < 32 * b + 32; ++c) total += q2[c];
    CHECK(total == s2[b], "[%s] subnormal block %lld: sum %d, its codes add to %d", kt.name, (long long)b, s2[b], total);
    if (x[32 * b] / d2[b] > 127.5f) {  // the block's first value, its amax, is past the code range
      ++clamped;
      CHECK(q2[32 * b] == 127, "[%s] subnormal block %lld: code %d for x / s > 127", kt.name, (long long)b, q2[32 * b]);
    }
  }
  CHECK(clamped >= 4, "[%s] %d of the subnormal blocks reach past 127", kt.name, clamped);
}

// Dequantized weights as float32, exactly as dequantize() rounds them.
std::vector<float> dequantized(const Quantized& q) {
  std::vector<float> out(q.L.rows * q.L.cols);
  dequantize_matrix(q.view(), out.data());
  return out;
}

// q packed into a buffer one byte longer than the plan, whose last byte must stay untouched.
std::vector<uint8_t> packed_copy(const Quantized& q, const PackPlan& plan, const char* tag) {
  std::vector<uint8_t> buf(plan.bytes + 1, 0xAB);
  pack_weights(q.view(), plan, buf.data());
  CHECK(buf[plan.bytes] == 0xAB, "%s pack_weights wrote past its %lld bytes", tag, (long long)plan.bytes);
  return buf;
}

// Each row's float operations do not depend on the pass that carries it (8-, 4- or 1-row passes):
// the first and last rows alone, through the GEMV pass, give the bits they got in the GEMM; and
// 1 and 3 threads give the same bits (padding rows in the last tile are never written: y's stride
// is exactly n here).
void check_packed_invariance(const KernelTable& kt, const PackedArgs& pa, const std::vector<float>& x, int64_t m,
                             int64_t n, int64_t k, const std::vector<float>& yp, const char* tag) {
  ThreadPool& pool = ThreadPool::global();
  for (int64_t i : {int64_t{0}, m - 1}) {
    if (m == 1) break;
    std::vector<float> y1(n);
    matmul_packed(kt, pa, x.data() + i * k, 1, y1.data(), pool);
    CHECK(std::memcmp(y1.data(), yp.data() + i * n, n * 4) == 0, "%s packed row %lld of %lld differs from its GEMV",
          tag, (long long)i, (long long)m);
  }
  const int saved = pool.threads();
  for (int t : {1, 3}) {
    pool.set_threads(t);
    std::vector<float> yt(m * n);
    matmul_packed(kt, pa, x.data(), m, yt.data(), pool);
    CHECK(std::memcmp(yt.data(), yp.data(), yp.size() * 4) == 0, "%s packed path differs with %d threads", tag, t);
  }
  pool.set_threads(saved);
}

// K-quant int8 path against the scalar kernel: the same exact integer sums per 32-column block;
// the SIMD kernels scale integer partials of 4 columns (16 for q6_k's halves) separately and add
// them in their own order, so (2 nb + 16) * 2^-24 of the partials' magnitude bounds the difference:
//   sum_b |d_x,b| * (|d| * sum_h |sc_h| * (sum_c |q_c * xq_c| + 32 |hs_h|) + |dmin * m_b * xsum_b|).
// The other ggml types have no kernels on their own blocks: matmul packs them for the call, so the
// set's result must equal the scalar one bit for bit.
void test_kquant_int8(const KernelTable& kt, const Quantized& q, const std::vector<float>& x, int64_t m,
                      const char* tag) {
  const int64_t n = q.L.rows, k = q.L.cols, nb = k / 32;
  ThreadPool& pool = ThreadPool::global();
  std::vector<float> yr(m * n), ys(m * n);
  matmul(ref::kTable, q.view(), x.data(), m, Activations::kInt8, yr.data(), pool);
  matmul(kt, q.view(), x.data(), m, Activations::kInt8, ys.data(), pool);
  const bool q6 = q.L.format == Format::kQ6_K;
  const Format f = q.L.format;
  const bool own_kernels = f == Format::kQ4_K || f == Format::kQ5_K || f == Format::kQ6_K;
  if (!own_kernels) {
    CHECK(std::memcmp(ys.data(), yr.data(), ys.size() * 4) == 0, "%s int8 path differs from the scalar kernel", tag);
  }
  std::vector<int8_t> xq(k);
  std::vector<float> xd(nb);
  std::vector<int32_t> xs(nb);
  GgmlBlock blk;
  for (int64_t i = 0; i < m && own_kernels; ++i) {
    ref::quantize_act(x.data() + i * k, k, xq.data(), xd.data(), xs.data());
    for (int64_t j = 0; j < n; ++j) {
      double mag = 0.0;
      for (int64_t b = 0; b < nb; ++b) {
        if (b % 8 == 0) ggml_decode_block(q.L.format, q.data.data() + j * q.L.row_bytes() + (b / 8) * q.L.block_bytes(), &blk);
        const int sub = static_cast<int>(b % 8);
        double part = 0.0;
        for (int h = 0; h < (q6 ? 2 : 1); ++h) {
          double dot = 0.0;
          int32_t hs = 0;
          const int span = q6 ? 16 : 32;
          for (int c = h * span; c < (h + 1) * span; ++c) {
            dot += std::abs(blk.q[32 * sub + c] * xq[b * 32 + c]);
            hs += xq[b * 32 + c];
          }
          part += std::abs(blk.sc[q6 ? 2 * sub + h : sub]) * (dot + (q6 ? 32.0 * std::abs(hs) : 0.0));
        }
        mag += std::fabs(xd[b]) * (std::fabs(blk.d) * part + (q6 ? 0.0 : std::fabs(double(blk.dmin) * blk.m[sub] * xs[b])));
      }
      const double tol = (2 * nb + 16) * std::ldexp(1.0, -24) * mag + 1e-30;
      const double err = std::fabs(static_cast<double>(ys[i * n + j]) - yr[i * n + j]);
      CHECK(err <= tol, "%s int8 path y[%lld,%lld]=%.9g ref %.9g (err %.3g > %.3g)", tag, (long long)i, (long long)j,
            ys[i * n + j], yr[i * n + j], err, tol);
    }
  }
  // Packed tiles: the scalar packed kernel and every set's packed kernel form the same integer
  // sums and the same float operations in the same order as the scalar kernel on ggml's blocks
  // (kernels.h), so all three give the same bits, for any row tiling and thread count.
  const PackPlan plan = plan_pack(q.view());
  CHECK(plan.packable, "%s: K-quants pack (%s)", tag, plan.why.c_str());
  if (!plan.packable) return;
  // Bytes of a 16-row tile's header per ggml block and of its codes per 32 columns (kernels.h).
  int64_t header = 0, block = 0;
  switch (f) {
    case Format::kQ4_K: header = 320; block = 256; break;
    case Format::kQ5_K: header = 320; block = 320; break;
    case Format::kQ6_K: header = 288; block = 384; break;
    case Format::kQ2_K: header = 320; block = 128; break;
    case Format::kQ3_K: header = 288; block = 192; break;
    case Format::kIQ4_XS: header = 160; block = 256; break;
    case Format::kQ4_1: header = 64; block = 256; break;
    case Format::kQ5_0: header = 32; block = 320; break;
    case Format::kTQ1_0: case Format::kTQ2_0: header = 32; block = 128; break;
    default: header = 64; block = 320; break;  // q5_1
  }
  const int64_t nsb = k / q.L.block_cols();
  CHECK(plan.args.tile_bytes == nsb * header + nb * block, "%s packed tile of %lld bytes", tag, (long long)plan.args.tile_bytes);
  const std::vector<uint8_t> buf = packed_copy(q, plan, tag);
  PackedArgs pa = plan.args;
  pa.data = buf.data();
  std::vector<float> yrp(m * n), ykp(m * n);
  matmul_packed(ref::kTable, pa, x.data(), m, yrp.data(), pool);
  CHECK(std::memcmp(yr.data(), yrp.data(), yr.size() * 4) == 0, "%s scalar packed kernel differs from scalar plain", tag);
  matmul_packed(kt, pa, x.data(), m, ykp.data(), pool);
  for (int64_t e = 0; e < m * n; ++e) {
    CHECK(std::memcmp(&ykp[e], &yr[e], 4) == 0, "%s packed y[%lld]=%.9g scalar %.9g", tag, (long long)e, ykp[e], yr[e]);
  }
  check_packed_invariance(kt, pa, x, m, n, k, ykp, tag);
}

void test_matmul_config(const KernelTable& kt, std::mt19937& rng, int64_t n, int64_t k, const Config& cfg, int64_t m,
                        int kind) {
  const std::vector<float> w = random_matrix(rng, n * k, kind);
  const std::vector<float> x = random_matrix(rng, m * k, kind == 3 ? 0 : kind);
  const Quantized q = make_quantized(w, n, k, cfg);
  const std::vector<float> wh = dequantized(q);
  const WeightArgs wa = weight_args(q.view());
  const bool column = cfg.granularity == Granularity::kColumn;
  char tag[200];
  std::snprintf(tag, sizeof tag, "[%s] %s m=%lld n=%lld k=%lld kind=%d", kt.name, describe(cfg).c_str(), (long long)m,
                (long long)n, (long long)k, kind);
  ThreadPool& pool = ThreadPool::global();

  // Float activations against an fp64 reference of x * dequantize(w)^T. fp32
  // accumulation of k products (each FMA or add one rounding) in any order errs by
  // at most k * 2^-24 times sum |x * w^| (recursive summation bound; the panel
  // kernels' sequential chains of up to 256 terms reach it only if every rounding
  // goes the same way, the random-walk typical error is 1e-6). For column
  // granularity with zero-points the kernels sum x'*(u) and subtract x'*z, so
  // the magnitude is sum |x * s| * (u + z).
  std::vector<float> y(m * n);
  matmul(kt, q.view(), x.data(), m, Activations::kFloat, y.data(), pool);
  const bool col_zero = column && cfg.scheme == Scheme::kAsymmetric;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double exact = 0.0, mag = 0.0;
      for (int64_t c = 0; c < k; ++c) {
        exact += static_cast<double>(x[i * k + c]) * wh[j * k + c];
        if (col_zero) {
          mag += std::fabs(static_cast<double>(x[i * k + c]) * scale_at(q.view(), c)) *
                 (weight_code(wa, j, c) + q.zeros[c]);
        } else {
          mag += std::fabs(static_cast<double>(x[i * k + c]) * wh[j * k + c]);
        }
      }
      const double err = std::fabs(y[i * n + j] - exact);
      const double tol = k * 0x1p-24 * mag + 1e-30;
      CHECK(err <= tol, "%s float path y[%lld,%lld]=%.9g exact %.9g (err %.3g > %.3g)", tag, (long long)i, (long long)j,
            y[i * n + j], exact, err, tol);
    }
  }

  if (q.L.super_blocks()) {
    test_kquant_int8(kt, q, x, m, tag);
    return;
  }

  // int8 activations against the scalar reference kernels. Both quantize x the
  // same way (checked bit for bit above) and form the same exact integer sums
  // per block (or half-block for group 16); they differ only in how the float
  // terms are added: the reference adds them in order, the SIMD kernels add each
  // block's lane partial sums (8 or 4 lanes) then reduce horizontally. An fp32
  // sum of N terms in any order errs by at most (N - 1) * 2^-24 * sum |term| (to
  // first order), so the two agree within 2 * (2 nb + 8) * 2^-24 * T, where T
  // bounds sum |term| over every lane partial:
  //   T = sum over segments |d_b * s| * (sum_k |xq_k| * |v_k| + |b8 * sum_b(xq)|),
  // v the integer the kernels multiply by, s the int8-path scale, b8 = z - 128
  // for unsigned 8-bit codes (whose kernels subtract that bias once per block,
  // see the x86 and NEON kernels), 0 otherwise.
  std::vector<float> ys(m * n);
  std::vector<double> tols(m * n);  // the int8 bound of each output (below)
  const bool int8 = format_info(cfg.format).int8_activations;
  if (int8) {
    std::vector<float> yr(m * n);
    matmul(ref::kTable, q.view(), x.data(), m, Activations::kInt8, yr.data(), pool);
    matmul(kt, q.view(), x.data(), m, Activations::kInt8, ys.data(), pool);
    std::vector<float> xs(x);
    if (column)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t c = 0; c < k; ++c) xs[i * k + c] *= scale_at(q.view(), c);
    const int64_t nb = (k + 31) / 32;
    std::vector<int8_t> xq(k);
    std::vector<float> xd(nb);
    std::vector<int32_t> xsum(nb);
    for (int64_t i = 0; i < m; ++i) {
      ref::quantize_act(xs.data() + i * k, k, xq.data(), xd.data(), xsum.data());
      for (int64_t j = 0; j < n; ++j) {
        double mag = 0.0;
        for (int64_t c0 = 0; c0 < k;) {
          const int64_t b = c0 / 32;
          const int64_t c1 = std::min({k, (b + 1) * 32, (c0 / wa.group + 1) * wa.group});
          double seg = 0.0;
          for (int64_t c = c0; c < c1; ++c) seg += std::abs(static_cast<int>(xq[c])) * std::abs(weight_int(wa, j, c));
          if (wa.code == WCode::kU8 && c0 % 32 == 0) {
            seg += std::fabs(static_cast<double>(weight_bias(wa, j, c0) - 128) * xsum[b]);
          }
          mag += std::fabs(static_cast<double>(xd[b]) * weight_stored_scale(wa, j, c0) * wa.scale_mul_i8) * seg;
          c0 = c1;
        }
        const double tol = 2.0 * (2 * nb + 8) * std::ldexp(1.0, -24) * mag * 1.01 + 1e-30;
        tols[i * n + j] = tol;
        const double err = std::fabs(static_cast<double>(ys[i * n + j]) - yr[i * n + j]);
        CHECK(err <= tol, "%s int8 path y[%lld,%lld]=%.9g ref %.9g (err %.3g > %.3g)", tag, (long long)i, (long long)j,
              ys[i * n + j], yr[i * n + j], err, tol);
      }
    }
  }

  // Prepared (packed) weights: the scalar packed kernel reads the same segments in the
  // same order as the scalar plain one, so it must give the same bits; the set's packed
  // kernel forms the same exact integer sums and differs only in float accumulation
  // order (one fused multiply-add per segment, in order), so the int8 bound above holds.
  const PackPlan plan = plan_pack(q.view());
  CHECK(plan.packable == (int8 && k % 32 == 0 && !column && (wa.group % 32 == 0 || (wa.group == 16 && wa.code == WCode::kLut4))),
        "%s packable=%d (%s)", tag, plan.packable, plan.why.c_str());
  std::vector<float> yp;
  if (plan.packable) {
    const std::vector<uint8_t> buf = packed_copy(q, plan, tag);
    PackedArgs pa = plan.args;
    pa.data = buf.data();
    std::vector<float> yref(m * n), yref_packed(m * n);
    yp.resize(m * n);
    matmul(ref::kTable, q.view(), x.data(), m, Activations::kInt8, yref.data(), pool);
    matmul_packed(ref::kTable, pa, x.data(), m, yref_packed.data(), pool);
    CHECK(std::memcmp(yref.data(), yref_packed.data(), yref.size() * 4) == 0, "%s scalar packed kernel differs from scalar plain",
          tag);
    matmul_packed(kt, pa, x.data(), m, yp.data(), pool);
    for (int64_t i = 0; i < m * n; ++i) {
      const double tol = tols[i];
      CHECK(std::fabs(static_cast<double>(yp[i]) - yref[i]) <= tol, "%s packed y[%lld]=%.9g ref %.9g (tol %.3g)", tag,
            (long long)i, yp[i], yref[i], tol);
    }
    check_packed_invariance(kt, pa, x, m, n, k, yp, tag);
  }

  // Bit-identical results for every thread count.
  const int saved = pool.threads();
  for (int t : {1, 3}) {
    pool.set_threads(t);
    std::vector<float> yt(m * n), yi(m * n);
    matmul(kt, q.view(), x.data(), m, Activations::kFloat, yt.data(), pool);
    CHECK(std::memcmp(yt.data(), y.data(), y.size() * 4) == 0, "%s float path differs with %d threads", tag, t);
    if (int8) {
      matmul(kt, q.view(), x.data(), m, Activations::kInt8, yi.data(), pool);
      CHECK(std::memcmp(yi.data(), ys.data(), ys.size() * 4) == 0, "%s int8 path differs with %d threads", tag, t);
    }
  }
  pool.set_threads(saved);
}

// Shapes on both sides of the panel kernels' edges: rows 1, 3, 8 (dot kernels), 12, 77, 300
// (partial register tiles, past a 256-row task), 37 and 300 columns (partial 16- and
// 32-wide panels, several tasks), k 203 (not a multiple of 8) and 600 (three 256-column
// blocks). Tolerance: the recursive summation bound k * 2^-24 * sum |x w|. Bit-identical
// for every thread count and to one kernel call over the whole matrix.
void test_sgemm(const KernelTable& kt, std::mt19937& rng) {
  ThreadPool& pool = ThreadPool::global();
  const int64_t shapes[][3] = {{1, 37, 203}, {3, 37, 600}, {8, 300, 600}, {12, 37, 203}, {77, 300, 600}, {300, 37, 203}};
  for (const auto& s : shapes) {
    const int64_t m = s[0], n = s[1], k = s[2];
    std::vector<float> x = random_matrix(rng, m * k, 0), w = random_matrix(rng, n * k, 0), y(m * n);
    sgemm(kt, x.data(), w.data(), m, n, k, y.data(), pool);
    const int saved = pool.threads();
    for (int t : {1, 3}) {
      pool.set_threads(t);
      std::vector<float> yt(m * n);
      sgemm(kt, x.data(), w.data(), m, n, k, yt.data(), pool);
      CHECK(std::memcmp(yt.data(), y.data(), y.size() * 4) == 0, "[%s] sgemm m=%lld n=%lld k=%lld differs with %d threads",
            kt.name, (long long)m, (long long)n, (long long)k, t);
    }
    pool.set_threads(saved);
    std::vector<float> y1(m * n);
    kt.sgemm(x.data(), k, w.data(), k, k, m, 0, n, y1.data(), n);
    CHECK(std::memcmp(y1.data(), y.data(), y.size() * 4) == 0, "[%s] sgemm m=%lld n=%lld k=%lld: one call differs from tasks",
          kt.name, (long long)m, (long long)n, (long long)k);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double exact = 0, mag = 0;
        for (int64_t c = 0; c < k; ++c) {
          exact += static_cast<double>(x[i * k + c]) * w[j * k + c];
          mag += std::fabs(static_cast<double>(x[i * k + c]) * w[j * k + c]);
        }
        CHECK(std::fabs(y[i * n + j] - exact) <= k * 0x1p-24 * mag, "[%s] sgemm m=%lld n=%lld k=%lld y[%lld,%lld]",
              kt.name, (long long)m, (long long)n, (long long)k, (long long)i, (long long)j);
      }
  }
}

// fp8 weights holding every code, NaN and infinity included, with unit scales:
// each kernel set must decode exactly as the reference does (NaN where it does).
void test_fp8_special_codes(const KernelTable& kt) {
  for (Format f : {Format::kFP8E4M3, Format::kFP8E5M2}) {
    for (ScaleType st : {ScaleType::kF32, ScaleType::kF16}) {
      Quantized q;
      q.L.rows = 8;
      q.L.cols = 32;
      q.L.bits = 8;
      q.L.format = f;
      q.L.granularity = Granularity::kRow;
      q.L.scale_type = st;
      q.data.resize(256);
      for (int c = 0; c < 256; ++c) q.data[c] = static_cast<uint8_t>(c);
      q.scales.resize(8 * scale_type_bytes(st));
      for (int r = 0; r < 8; ++r) {
        if (st == ScaleType::kF32) {
          const float one = 1.0f;
          std::memcpy(q.scales.data() + 4 * r, &one, 4);
        } else {
          q.scales[2 * r] = 0x00;
          q.scales[2 * r + 1] = 0x3C;  // binary16 1.0
        }
      }
      // One-hot x rows pick out single weights: y[i, j] = w[j, i].
      std::vector<float> x(32 * 32, 0.0f), y(32 * 8), yr(32 * 8);
      for (int i = 0; i < 32; ++i) x[i * 32 + i] = 1.0f;
      matmul(kt, q.view(), x.data(), 32, Activations::kFloat, y.data(), ThreadPool::global());
      matmul(ref::kTable, q.view(), x.data(), 32, Activations::kFloat, yr.data(), ThreadPool::global());
      for (int i = 0; i < 32 * 8; ++i) {
        const bool same = (std::isnan(y[i]) && std::isnan(yr[i])) || y[i] == yr[i];
        CHECK(same, "[%s] %s code 0x%02x: kernel %g, reference %g", kt.name, format_name(f),
              (i % 8) * 32 + i / 8, y[i], yr[i]);
      }
    }
  }
}

// The FWHT kernels against the scalar one, bit for bit (every butterfly is one rounding),
// and the transform against its definition H_n v with H_ij = (-1)^popcount(i & j).
void test_fwht(const KernelTable& kt, std::mt19937& rng) {
  for (int64_t n : {8, 16, 64, 512, 4096}) {
    std::vector<float> v = random_matrix(rng, n, 1), a(v), b(v);
    ref::kTable.fwht(a.data(), n);
    kt.fwht(b.data(), n);
    CHECK(std::memcmp(a.data(), b.data(), n * 4) == 0, "[%s] fwht n=%lld differs from the scalar transform", kt.name,
          (long long)n);
    if (n <= 512) {
      for (int64_t i = 0; i < n; ++i) {
        double exact = 0.0, mag = 0.0;
        for (int64_t j = 0; j < n; ++j) {
          exact += (__builtin_popcountll(i & j) & 1 ? -1.0 : 1.0) * v[j];
          mag += std::fabs(v[j]);
        }
        // log2(n) rounded additions, each of relative error 2^-24 of partial sums bounded by mag.
        CHECK(std::fabs(b[i] - exact) <= std::log2(static_cast<double>(n)) * std::ldexp(1.0, -24) * mag * 1.01,
              "[%s] fwht n=%lld entry %lld", kt.name, (long long)n, (long long)i);
      }
    }
  }
}

// Blocked Cholesky and triangular inverse on the kernel set's sgemm: L L^T = A and L X = I
// within float32 error bounds for a well-conditioned SPD matrix; an indefinite one is refused.
void test_linalg(const KernelTable& kt, std::mt19937& rng) {
  for (int64_t n : {5, 130, 300}) {
    const int64_t r = n + 7;
    const std::vector<float> x = random_matrix(rng, r * n, 0);
    std::vector<double> acc(static_cast<size_t>(n * n), 0.0);
    accumulate_xtx(x.data(), r, n, acc.data(), kt, ThreadPool::global());
    std::vector<float> a(static_cast<size_t>(n * n));
    double worst_xtx = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double exact = 0.0, mag = 0.0;
        for (int64_t q = 0; q < r; ++q) {
          exact += static_cast<double>(x[q * n + i]) * x[q * n + j];
          mag += std::fabs(static_cast<double>(x[q * n + i]) * x[q * n + j]);
        }
        worst_xtx = std::max(worst_xtx, std::fabs(acc[i * n + j] - exact) / (r * std::ldexp(1.0, -24) * mag + 1e-30));
        CHECK(acc[i * n + j] == acc[j * n + i], "[%s] X^T X not symmetric at %lld,%lld", kt.name, (long long)i, (long long)j);
        a[i * n + j] = static_cast<float>(acc[i * n + j] / r + (i == j ? 1.0 : 0.0));
      }
    }
    CHECK(worst_xtx <= 1.0, "[%s] X^T X n=%lld off by %.3g of its bound", kt.name, (long long)n, worst_xtx);
    std::vector<float> l(a);
    CHECK(cholesky_lower(l.data(), n, kt, ThreadPool::global()), "[%s] cholesky n=%lld refused an SPD matrix", kt.name,
          (long long)n);
    std::vector<float> li(static_cast<size_t>(n * n));
    invert_lower(l.data(), li.data(), n, kt, ThreadPool::global());
    double worst_llt = 0.0, worst_inv = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        if (j > i) CHECK(l[i * n + j] == 0.0f && li[i * n + j] == 0.0f, "[%s] upper triangle not zero", kt.name);
        double llt = 0.0, inv = 0.0;
        for (int64_t q = 0; q < n; ++q) {
          llt += static_cast<double>(l[i * n + q]) * l[j * n + q];
          inv += static_cast<double>(l[i * n + q]) * li[q * n + j];
        }
        worst_llt = std::max(worst_llt, std::fabs(llt - a[i * n + j]));
        worst_inv = std::max(worst_inv, std::fabs(inv - (i == j ? 1.0 : 0.0)));
      }
    }
    // A = X^T X / r + I has eigenvalues in about [1, 5]: backward error ~ n 2^-24 |A|, well under 1e-4.
    CHECK(worst_llt < 1e-4 && worst_inv < 1e-4, "[%s] n=%lld: |L L^T - A| = %.3g, |L L^-1 - I| = %.3g", kt.name,
          (long long)n, worst_llt, worst_inv);
    a[(n / 2) * n + n / 2] = -1.0f;  // no longer positive definite
    CHECK(!cholesky_lower(a.data(), n, kt, ThreadPool::global()), "[%s] cholesky accepted an indefinite matrix",
          kt.name);
  }
}

// Every format's matrices, in the configurations quantize() accepts.
std::vector<Config> configs() {
  std::vector<Config> out;
  const Granularity all[] = {Granularity::kTensor, Granularity::kRow, Granularity::kColumn, Granularity::kGroup};
  for (int bits : {4, 8})
    for (Scheme s : {Scheme::kSymmetric, Scheme::kAsymmetric})
      for (Granularity g : all)
        for (int64_t gs : {32, 64, 128}) {
          if (g != Granularity::kGroup && gs != 32) continue;
          out.push_back({Format::kInt, bits, s, g, gs, ScaleType::kF32});
          if (gs != 64) out.push_back({Format::kInt, bits, s, g, gs, ScaleType::kF16});
        }
  // 2- and 3-bit codes (no plain SIMD kernels: packed, or the scalar ones): every granularity the
  // packed layout takes and one it does not (column), both schemes, both scale types.
  for (int bits : {2, 3}) {
    const Scheme sym = Scheme::kSymmetric, asym = Scheme::kAsymmetric;
    out.push_back({Format::kInt, bits, sym, Granularity::kRow, 32, ScaleType::kF32});
    out.push_back({Format::kInt, bits, sym, Granularity::kColumn, 32, ScaleType::kF32});
    out.push_back({Format::kInt, bits, sym, Granularity::kGroup, 64, ScaleType::kF32});
    out.push_back({Format::kInt, bits, sym, Granularity::kGroup, 128, ScaleType::kF16});
    out.push_back({Format::kInt, bits, asym, Granularity::kRow, 32, ScaleType::kF16});
    out.push_back({Format::kInt, bits, asym, Granularity::kGroup, 32, ScaleType::kF32});
    out.push_back({Format::kInt, bits, asym, Granularity::kGroup, 128, ScaleType::kF16});
  }
  out.push_back({Format::kQ4_0, 4, Scheme::kSymmetric, Granularity::kGroup, 32, ScaleType::kF16});
  out.push_back({Format::kQ8_0, 8, Scheme::kSymmetric, Granularity::kGroup, 32, ScaleType::kF16});
  for (ScaleType st : {ScaleType::kF32, ScaleType::kF16}) {
    for (Granularity g : all) {
      out.push_back({Format::kNF4, 4, Scheme::kSymmetric, g, 64, st});
      out.push_back({Format::kBnbFP4, 4, Scheme::kSymmetric, g, 64, st});
      out.push_back({Format::kFP8E4M3, 8, Scheme::kSymmetric, g, 32, st});
      out.push_back({Format::kFP8E5M2, 8, Scheme::kSymmetric, g, 32, st});
    }
    out.push_back({Format::kNF4, 4, Scheme::kSymmetric, Granularity::kGroup, 16, st});  // two scales per block
    out.push_back({Format::kNF4, 4, Scheme::kSymmetric, Granularity::kGroup, 32, st});
    out.push_back({Format::kBnbFP4, 4, Scheme::kSymmetric, Granularity::kGroup, 16, st});
  }
  out.push_back({Format::kMXFP4, 4, Scheme::kSymmetric, Granularity::kGroup, 32, ScaleType::kE8M0});
  out.push_back({Format::kNVFP4, 4, Scheme::kSymmetric, Granularity::kGroup, 16, ScaleType::kE4M3});
  out.push_back({Format::kQ4_K, 4, Scheme::kSymmetric, Granularity::kGroup, 256, ScaleType::kF16});
  out.push_back({Format::kQ5_K, 5, Scheme::kSymmetric, Granularity::kGroup, 256, ScaleType::kF16});
  out.push_back({Format::kQ6_K, 6, Scheme::kSymmetric, Granularity::kGroup, 256, ScaleType::kF16});
  out.push_back({Format::kQ2_K, 2, Scheme::kSymmetric, Granularity::kGroup, 256, ScaleType::kF16});
  out.push_back({Format::kQ3_K, 3, Scheme::kSymmetric, Granularity::kGroup, 256, ScaleType::kF16});
  out.push_back({Format::kIQ4_XS, 4, Scheme::kSymmetric, Granularity::kGroup, 256, ScaleType::kF16});
  out.push_back({Format::kQ4_1, 4, Scheme::kSymmetric, Granularity::kGroup, 32, ScaleType::kF16});
  out.push_back({Format::kQ5_0, 5, Scheme::kSymmetric, Granularity::kGroup, 32, ScaleType::kF16});
  out.push_back({Format::kQ5_1, 5, Scheme::kSymmetric, Granularity::kGroup, 32, ScaleType::kF16});
  out.push_back({Format::kIQ4_NL, 4, Scheme::kSymmetric, Granularity::kGroup, 32, ScaleType::kF16});
  out.push_back({Format::kTQ1_0, 2, Scheme::kSymmetric, Granularity::kGroup, 256, ScaleType::kF16});
  out.push_back({Format::kTQ2_0, 2, Scheme::kSymmetric, Granularity::kGroup, 256, ScaleType::kF16});
  out.push_back({Format::kF16, 16, Scheme::kSymmetric, Granularity::kTensor, 0, ScaleType::kF32});
  out.push_back({Format::kBF16, 16, Scheme::kSymmetric, Granularity::kTensor, 0, ScaleType::kF32});
  return out;
}

// A matrix of ggml blocks with random codes (and q4_k's scales and mins) and fp16 block scales in
// [2^-8, 2^-4): what a pass computes, without the cost of quantizing (the K-quants' search took a
// minute under qemu on the few MiB below).
Quantized random_blocks(std::mt19937& rng, int64_t rows, int64_t cols, const Config& c) {
  Quantized q(layout_of(rows, cols, c));
  const int bb = format_info(c.format).block_bytes, d_fields = c.format == Format::kQ4_K ? 2 : 1;
  std::uniform_real_distribution<float> ud(1.0f / 256, 1.0f / 16);
  for (uint8_t& byte : q.data) byte = static_cast<uint8_t>(rng());
  for (size_t b = 0; b + bb <= q.data.size(); b += bb) {
    for (int f = 0; f < d_fields; ++f) {
      const uint16_t h = fp32_to_fp16(ud(rng));
      std::memcpy(&q.data[b + 2 * f], &h, 2);
    }
  }
  return q;
}

// A GEMV's chunks scale with the thread count (matmul_packed_multi): on a matrix large enough for
// that to change the chunks (1.1 MiB of q4_0, 2.3 MiB of q4_k), every thread count gives the same
// bits, and a multi-matrix call gives each output what its own call gives.
void test_packed_gemv_chunking(const KernelTable& kt, std::mt19937& rng) {
  ThreadPool& pool = ThreadPool::global();
  const int saved = pool.threads();
  for (Format f : {Format::kQ4_0, Format::kQ4_K}) {
    Config c;
    c.format = f;
    c.bits = 4;
    c.group = f == Format::kQ4_K ? 256 : 32;
    c.scale_type = ScaleType::kF16;
    const int64_t n = 1000, k = f == Format::kQ4_K ? 4096 : 2048;
    const Quantized q = random_blocks(rng, n, k, c);
    const PackPlan plan = plan_pack(q.view());
    std::vector<uint8_t> buf(plan.bytes);
    pack_weights(q.view(), plan, buf.data());
    PackedArgs pa = plan.args;
    pa.data = buf.data();
    const std::vector<float> x = random_matrix(rng, 2 * k, 0);
    std::vector<float> y1(n), yt(n), y2(n);
    pool.set_threads(1);
    matmul_packed(kt, pa, x.data(), 1, y1.data(), pool);
    CHECK(std::all_of(y1.begin(), y1.end(), [](float v) { return std::isfinite(v); }) &&
              std::count(y1.begin(), y1.end(), 0.0f) < n / 10,
          "[%s] %s GEMV of random blocks gives non-finite or zero outputs", kt.name, format_name(f));
    for (int t : {2, 3, 5, 16}) {
      pool.set_threads(t);
      matmul_packed(kt, pa, x.data(), 1, yt.data(), pool);
      CHECK(std::memcmp(y1.data(), yt.data(), n * 4) == 0, "[%s] %s GEMV %lldx%lld differs with %d threads", kt.name,
            format_name(f), (long long)n, (long long)k, t);
      const PackedArgs* ws[] = {&pa, &pa};
      float* ys[] = {yt.data(), y2.data()};
      matmul_packed_multi(kt, ws, ys, 2, x.data(), 1, pool);
      CHECK(std::memcmp(y1.data(), yt.data(), n * 4) == 0 && std::memcmp(y1.data(), y2.data(), n * 4) == 0,
            "[%s] %s multi-matrix GEMV differs from one matrix's with %d threads", kt.name, format_name(f), t);
    }
  }
  pool.set_threads(saved);
}

void test_table(const KernelTable& kt) {
  CHECK(complete(kt), "[%s] every entry of the kernel table is filled", kt.name);
  std::mt19937 rng(1234);
  test_quantize_act(kt, rng);
  test_sgemm(kt, rng);
  test_fp8_special_codes(kt);
  test_fwht(kt, rng);
  test_f16_conversions(kt);
  test_dequantize_blocks(kt);
  test_linalg(kt, rng);
  test_packed_gemv_chunking(kt, rng);
  // LOWBIT_TEST_QUICK=1 (the runs under qemu's x86 models, which emulate every vector instruction in
  // software) leaves out m = 128, 40% of the multiply-adds: it takes the same passes as m = 33 (rows in 8s,
  // the float panels), only more of them, so it runs no instruction the other m do not.
  static const bool quick = std::getenv("LOWBIT_TEST_QUICK") && std::string(std::getenv("LOWBIT_TEST_QUICK")) == "1";
  const int64_t ms[] = {1, 2, 3, 7, 8, 33, 128};
  int variant = 0;
  for (const Config& c : configs()) {
    for (int64_t m : ms) {
      const int kind = variant++ % 5;
      if (!quick || m != 128) test_matmul_config(kt, rng, /*n=*/37, /*k=*/256, c, m, kind);
    }
    // Sums at the ends of their range: m = 9 takes passes of several rows and, on most sets, a
    // one-row pass.
    test_matmul_config(kt, rng, /*n=*/37, /*k=*/256, c, /*m=*/9, /*kind=*/5);
    if (format_info(c.format).fixed_group && c.group == 256) {
      // K-quant super-blocks: three of them, for GEMV and on the panel path; no odd shapes exist.
      for (int64_t m : {1, 13}) test_matmul_config(kt, rng, /*n=*/37, /*k=*/768, c, m, variant++ % 5);
      continue;
    }
    // The float path's panels over three column blocks (256, 256, 128) of dequantized weights.
    test_matmul_config(kt, rng, /*n=*/37, /*k=*/640, c, /*m=*/13, variant++ % 5);
    // Past 64 blocks of 32 (the avx512vnni passes compute the bias * sum(x) corrections 64
    // blocks at a time) with a partial last batch: k = 2176 is 68 blocks, 17 groups of 128.
    test_matmul_config(kt, rng, /*n=*/37, /*k=*/2176, c, /*m=*/9, variant++ % 5);
    // Shapes the SIMD kernels hand to the scalar path: odd cols, a group of 8.
    if (format_info(c.format).fixed_group) {
      continue;
    }
    Config odd = c;
    if (c.granularity == Granularity::kGroup) odd.group = 8;
    test_matmul_config(kt, rng, 5, c.granularity == Granularity::kGroup ? 40 : 45, odd, 3, variant++ % 5);
  }
}

// The scalar codecs against the formats' definitions, exhaustively where the
// code space allows.
void test_codecs() {
  for (const Fp8Spec* sp : {&kE4M3, &kE5M2}) {
    const int eb = 7 - sp->mbits;
    for (int c = 0; c < 256; ++c) {
      const int e = (c >> sp->mbits) & ((1 << eb) - 1), mant = c & ((1 << sp->mbits) - 1);
      const double sign = (c & 0x80) ? -1.0 : 1.0;
      double want;
      bool nan = false;
      if (sp->has_inf && e == (1 << eb) - 1) {
        nan = mant != 0;
        want = sign * INFINITY;
      } else if (!sp->has_inf && (c & 0x7F) == 0x7F) {
        nan = true;
        want = NAN;
      } else if (e == 0) {
        want = sign * mant / double(1 << sp->mbits) * std::ldexp(1.0, 1 - sp->bias);
      } else {
        want = sign * (1.0 + mant / double(1 << sp->mbits)) * std::ldexp(1.0, e - sp->bias);
      }
      const float got = fp8_to_fp32(static_cast<uint8_t>(c), *sp);
      if (nan) {
        CHECK(std::isnan(got), "fp8 (mbits %d) code 0x%02x should be NaN, got %g", sp->mbits, c, got);
        continue;
      }
      CHECK(got == want && std::signbit(got) == std::signbit(want), "fp8 (mbits %d) code 0x%02x: %g, want %g",
            sp->mbits, c, got, want);
      CHECK(fp32_to_fp8(got, *sp) == c, "fp8 (mbits %d) encode(decode(0x%02x)) = 0x%02x", sp->mbits, c,
            fp32_to_fp8(got, *sp));
    }
    // Saturation, and nearest-even between neighbours: the midpoint of two codes goes to the even one.
    CHECK(fp32_to_fp8(1e30f, *sp) == sp->max_code && fp32_to_fp8(-1e30f, *sp) == (0x80 | sp->max_code),
          "fp8 (mbits %d) does not saturate", sp->mbits);
    for (int c = 0; c < sp->max_code; ++c) {
      const float lo = fp8_to_fp32(static_cast<uint8_t>(c), *sp), hi = fp8_to_fp32(static_cast<uint8_t>(c + 1), *sp);
      const float mid = lo + (hi - lo) / 2;  // exact: fp8 spacing is far above float32's
      const int want = (c % 2 == 0) ? c : c + 1;
      CHECK(fp32_to_fp8(mid, *sp) == want, "fp8 (mbits %d) tie between 0x%02x and 0x%02x -> 0x%02x", sp->mbits, c,
            c + 1, fp32_to_fp8(mid, *sp));
    }
  }
  // binary16: every non-NaN pattern round-trips; ties between neighbours go to the even pattern.
  for (int h = 0; h < 65536; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    CHECK(fp32_to_fp16(f) == h, "fp16 0x%04x round trip gives 0x%04x", h, fp32_to_fp16(f));
    if ((h & 0x7FFF) < 0x7BFF) {
      const float g = fp16_to_fp32(static_cast<uint16_t>(h + 1));
      const uint16_t t = fp32_to_fp16(f + (g - f) / 2);
      CHECK(t == ((h % 2 == 0) ? h : h + 1), "fp16 tie after 0x%04x gives 0x%04x", h, t);
    }
  }
  CHECK(fp32_to_fp16(65519.0f) == 0x7BFF && fp32_to_fp16(65520.0f) == 0x7C00, "fp16 overflow boundary");
  // E2M1 ties: 0.25 -> 0, 0.75 -> 1.0, 1.25 -> 1.0, 1.75 -> 2, 2.5 -> 2, 3.5 -> 4, 5 -> 4; above 6 saturates.
  const float ties[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f, 7.0f, 1e9f};
  const uint8_t want[] = {0, 2, 2, 4, 4, 6, 6, 7, 7};
  for (int i = 0; i < 9; ++i) {
    CHECK(fp32_to_e2m1(ties[i]) == want[i], "e2m1(%g) = %d, want %d", ties[i], fp32_to_e2m1(ties[i]), want[i]);
    CHECK(fp32_to_e2m1(-ties[i]) == (8 | want[i]), "e2m1(-%g)", ties[i]);
  }
  for (int c = 0; c < 8; ++c) CHECK(fp32_to_e2m1(kE2M1[c]) == c, "e2m1 round trip of code %d", c);
  // NF4: each level maps to itself; a midpoint goes to the lower index.
  for (int c = 0; c < 16; ++c) CHECK(nearest_nf4(kNF4[c]) == c, "nf4 level %d", c);
  CHECK(nearest_nf4(0.5f * (kNF4[7] + kNF4[8])) == 7 || kNF4[8] - 0.5f * (kNF4[7] + kNF4[8]) <
                                                            0.5f * (kNF4[7] + kNF4[8]) - kNF4[7],
        "nf4 tie");
  // bitsandbytes FP4: each level (both signs) maps to its own code, and away from bnb's midpoints
  // (within 1e-5 of one, its decimal literals decide) every value goes to the nearest level.
  for (int c = 0; c < 16; ++c) {
    if (c == 8) continue;  // -0 is written as code 0 (v < 0 is false for it)
    CHECK(nearest_bnb_fp4(kBnbFP4Levels.v[c]) == c, "bnb fp4 level %d", c);
  }
  for (int i = -1100; i <= 1100; ++i) {
    const float v = static_cast<float>(i) / 1000.0f + 0.0001234f;
    int best = 0;
    for (int c = 1; c < 16; ++c)
      if (std::fabs(v - kBnbFP4Levels.v[c]) < std::fabs(v - kBnbFP4Levels.v[best])) best = c;
    bool near_mid = false;
    for (int a = 0; a < 8; ++a)
      for (int b = 0; b < 8; ++b) near_mid |= std::fabs(std::fabs(v) - 0.5f * (kBnbFP4[a] + kBnbFP4[b])) < 1e-5f && a != b;
    const uint8_t got = nearest_bnb_fp4(v);
    if (!near_mid) CHECK(kBnbFP4Levels.v[got] == kBnbFP4Levels.v[best], "bnb fp4 of %.9g", v);
  }
}

}  // namespace

// The x86 kernel sets compiled a second time against SIMDe (scripts/native-tests.sh), each when the
// build asked for it: run in place of the native ones this CPU lacks.
#if LOWBIT_TEST_SIMDE_AVX2
namespace lowbit::avx2_simde { extern const KernelTable kTable; }
#endif
#if LOWBIT_TEST_SIMDE_AVXVNNI
namespace lowbit::avxvnni_simde { extern const KernelTable kTable; }
#endif
#if LOWBIT_TEST_SIMDE_AVX512
namespace lowbit::avx512_simde { extern const KernelTable kTable; }
#endif
#if LOWBIT_TEST_SIMDE_AVX512VNNI
namespace lowbit::avx512vnni_simde { extern const KernelTable kTable; }
#endif
const KernelTable* const kEmulated[] = {
#if LOWBIT_TEST_SIMDE_AVX512VNNI
    &avx512vnni_simde::kTable,
#endif
#if LOWBIT_TEST_SIMDE_AVX512
    &avx512_simde::kTable,
#endif
#if LOWBIT_TEST_SIMDE_AVXVNNI
    &avxvnni_simde::kTable,
#endif
#if LOWBIT_TEST_SIMDE_AVX2
    &avx2_simde::kTable,
#endif
    nullptr};

// LOWBIT_ISA: one kernel set or a comma-separated list ("" runs every set).
bool selected(const std::string& only, const std::string& name) {
  if (only.empty()) return true;
  return ("," + only + ",").find("," + name + ",") != std::string::npos;
}

int main() {
  std::string only = std::getenv("LOWBIT_ISA") ? std::getenv("LOWBIT_ISA") : "";
  std::printf("cpu: %s, features:", cpu_features().arch);
  for (const auto& f : cpu_features().names()) std::printf(" %s", f.c_str());
  std::printf("\n");
  // LOWBIT_TEST_LIST=1: only say which sets dispatch offers here, best first (CI checks it under qemu).
  if (std::getenv("LOWBIT_TEST_LIST")) {
    std::printf("isas:");
    for (const auto& name : supported_isas()) std::printf(" %s", name.c_str());
    std::printf("\n");
    return 0;
  }
  if (selected(only, "scalar")) test_codecs();
  // Whatever sets were selected: the pool is what every run (and every emulator) exercises.
  test_thread_pool();
  const char* emu = std::getenv("LOWBIT_TEST_EMULATED");
  // LOWBIT_TEST_EMULATED=only: the SIMDe builds alone, every one of them (the native sets ran elsewhere).
  const bool emulated_only = emu && std::string(emu) == "only";
  int tables = 0;
  for (const auto& name : supported_isas()) {
    if (emulated_only || !selected(only, name)) continue;
    const KernelTable* kt = kernels_for(name);
    const int before = g_failures, checks = g_checks;
    test_table(*kt);
    std::printf("%-14s %6d checks, %d failures\n", name.c_str(), g_checks - checks, g_failures - before);
    ++tables;
  }
  for (const KernelTable* kt : kEmulated) {
    if (kt == nullptr || (emu && std::string(emu) == "0")) break;
    if (!selected(only, kt->name)) continue;
    // Sets this CPU runs are tested natively above; LOWBIT_TEST_EMULATED=all (or only) runs their SIMDe
    // builds too (a check of the emulation itself).
    if (kernels_for(kt->name) && !(emu && (std::string(emu) == "all" || emulated_only))) continue;
    const int before = g_failures, checks = g_checks;
    test_table(*kt);
    std::printf("%-14s %6d checks, %d failures (SIMDe emulation)\n", kt->name, g_checks - checks, g_failures - before);
    ++tables;
  }
  if (!only.empty() && tables == 0) {
    std::fprintf(stderr, "LOWBIT_ISA=%s: none of these sets is supported here\n", only.c_str());
    return 1;
  }
  std::printf("%d passed, %d failed\n", g_checks - g_failures, g_failures);
  return g_failures == 0 ? 0 : 1;
}
