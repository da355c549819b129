// Native benchmark runner: the same kernels, drivers and probes as `npm run bench`,
// with no Node (for machines that have compilers but no Node, and for perf profiling).
// Build and run: bench/native/run.sh [suite...]   suites: limits gemv gemm lut (default all)
// LOWBIT_ISA=<set> runs one kernel set (default: every set this CPU supports);
// LOWBIT_NUM_THREADS caps the thread counts (1 and the maximum are measured);
// `lut` (x86-64, the avx2 set): a table-lookup GEMV of tq2_0 (lut_tq2_avx2.cc) beside the multiply kernel;
// LOWBIT_BENCH_CASE=<name>[,<name>...] (e.g. "int4 g32,q4_k") runs those weight formats in the gemv and
// gemm suites; LOWBIT_BENCH_M=<m>[,<m>...] sets the GEMM's rows of x (default 8,32,128,512).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../../csrc/core/formats.h"
#include "../../csrc/core/qbuffers.h"
#include "../../csrc/formats/quantize.h"
#include "../../csrc/gemm/matmul.h"
#include "../../csrc/gemm/packed.h"
#include "../../csrc/runtime/cpu_features.h"
#include "../../csrc/runtime/dispatch.h"
#include "../../csrc/runtime/probe.h"
#include "../../csrc/gemm/activations_i8.h"
#if defined(__x86_64__)
#include "lut_tq2.h"
#endif

using namespace lowbit;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Median seconds per call over about `budget` seconds (at least 5 calls, after a warm-up).
template <typename F>
double time_median(F&& f, double budget = 1.0) {
  f();
  std::vector<double> t;
  const double start = now();
  while (t.size() < 5 || (now() - start < budget && t.size() < 2000)) {
    const double t0 = now();
    f();
    t.push_back(now() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<float> signal(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = std::sin(i * 0.618f) * (1 + ((i * 7919) % 13 == 0 ? 4 : 0));
  return v;
}

struct Case {
  const char* name;
  Format format;
  int bits;
  Scheme scheme;
  int64_t group;
};

const Case kCases[] = {
    {"int4 g32", Format::kInt, 4, Scheme::kSymmetric, 32},
    {"int4 g128", Format::kInt, 4, Scheme::kSymmetric, 128},
    {"int4 g128 asym", Format::kInt, 4, Scheme::kAsymmetric, 128},
    // Below 4 bits: 2-bit planes (3-bit: plus a plane of third bits) in the packed tiles.
    {"int2 g64", Format::kInt, 2, Scheme::kAsymmetric, 64},
    {"int3 g64", Format::kInt, 3, Scheme::kAsymmetric, 64},
    {"q4_0", Format::kQ4_0, 4, Scheme::kSymmetric, 32},
    {"int8 g32", Format::kInt, 8, Scheme::kSymmetric, 32},
    {"q8_0", Format::kQ8_0, 8, Scheme::kSymmetric, 32},
    {"nf4 g64", Format::kNF4, 4, Scheme::kSymmetric, 64},
    {"mxfp4", Format::kMXFP4, 4, Scheme::kSymmetric, 32},
    {"nvfp4", Format::kNVFP4, 4, Scheme::kSymmetric, 16},
    // K-quants: "plain" is ggml's row-major blocks and their kernels, "packed" the tiles.
    {"q4_k", Format::kQ4_K, 4, Scheme::kSymmetric, 256},
    {"q5_k", Format::kQ5_K, 5, Scheme::kSymmetric, 256},
    {"q6_k", Format::kQ6_K, 6, Scheme::kSymmetric, 256},
    // The other ggml types: no kernels on their own blocks ("plain" packs per call), packed tiles.
    {"q2_k", Format::kQ2_K, 2, Scheme::kSymmetric, 256},
    {"q3_k", Format::kQ3_K, 3, Scheme::kSymmetric, 256},
    {"iq4_xs", Format::kIQ4_XS, 4, Scheme::kSymmetric, 256},
    {"iq4_nl", Format::kIQ4_NL, 4, Scheme::kSymmetric, 32},
    {"q4_1", Format::kQ4_1, 4, Scheme::kSymmetric, 32},
    {"q5_0", Format::kQ5_0, 5, Scheme::kSymmetric, 32},
    {"q5_1", Format::kQ5_1, 5, Scheme::kSymmetric, 32},
    // Ternary: both prepare into the same 2-bit tiles (tq1_0's five trits a byte become 2 bits each).
    {"tq1_0", Format::kTQ1_0, 2, Scheme::kSymmetric, 256},
    {"tq2_0", Format::kTQ2_0, 2, Scheme::kSymmetric, 256},
};

struct Matrix {
  QuantizedBuffers q;
  std::vector<uint8_t> packed;
  PackedArgs pa;
  QMatrixView view() const { return q.view(); }
  int64_t bytes() const { return q.L.byte_length(); }
};

Matrix make(const Case& c, int64_t n, int64_t k, const std::vector<float>& w) {
  QuantLayout L;
  L.rows = n;
  L.cols = k;
  L.bits = c.bits;
  L.scheme = c.scheme;
  L.granularity = Granularity::kGroup;
  L.group_size = c.group;
  L.format = c.format;
  L.scale_type = format_info(c.format).scale_type;
  Matrix m;
  m.q = QuantizedBuffers(L);
  quantize_matrix(w.data(), L, m.q.data.data(), m.q.scales.data(), m.q.zeros.empty() ? nullptr : m.q.zeros.data(),
                  &m.q.tensor_scale, &ThreadPool::global());
  const PackPlan plan = plan_pack(m.view());
  if (!plan.packable) return m;
  m.packed.resize(plan.bytes);
  pack_weights(m.view(), plan, m.packed.data());
  m.pa = plan.args;
  m.pa.data = m.packed.data();
  return m;
}

bool wanted(int argc, char** argv, const char* s) {
  if (argc < 2) return true;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], s) == 0) return true;
  return false;
}

#if defined(__x86_64__)
// tq2_0 GEMV 16384x8192 from DRAM on 1 thread: the avx2 set's prepared (multiply) kernel and the
// table-lookup one, alternated; their outputs must agree bit for bit (false, and nothing timed, if not).
bool lut_suite(const KernelTable& kt, ThreadPool& pool, double read_bw) {
  const int64_t n = 16384, k = 8192;
  pool.set_threads(1);
  const std::vector<float> w = signal(n * k), x = signal(k);
  const Case c{"tq2_0", Format::kTQ2_0, 2, Scheme::kSymmetric, 256};
  std::vector<Matrix> ms;
  ms.push_back(make(c, n, k, w));
  std::vector<bench::LutTq2> lut;
  lut.push_back(bench::pack_lut_tq2(ms[0].view()));
  const double bytes = double(lut[0].data.size());
  while (double(ms.size()) * bytes < double(int64_t(256) << 20)) {
    ms.push_back(ms[0]);
    lut.push_back(lut[0]);
  }
  for (auto& m : ms) m.pa.data = m.packed.data();
  std::vector<float> y_mul(n), y_lut(n);
  std::vector<uint8_t> tables(k / 32 * 512);
  auto run_lut = [&](size_t i) {
    const ActivationsI8 a = quantize_activations(kt, x.data(), 1, k, false, pool);
    bench::lut_tq2_tables(a.q.data(), k, tables.data());
    bench::lut_tq2_gemv(lut[i], a.rows(0), tables.data(), y_lut.data());
  };
  matmul_packed(kt, ms[0].pa, x.data(), 1, y_mul.data(), pool);
  run_lut(0);
  int64_t differ = 0;
  for (int64_t j = 0; j < n; ++j) differ += std::memcmp(&y_mul[j], &y_lut[j], 4) != 0;
  std::printf("\n| tq2_0 GEMV %lldx%lld, 1 thread | multiply ms | table lookup ms | lookup / multiply | multiply of read bw "
              "| lookup of read bw |\n|---|---|---|---|---|---|\n", (long long)n, (long long)k);
  if (differ) {
    std::printf("| %lld of %lld outputs differ: the lookup kernel is wrong | | | | | |\n", (long long)differ, (long long)n);
    return false;
  }
  const ActivationsI8 a = quantize_activations(kt, x.data(), 1, k, false, pool);
  const double tt = time_median([&] { bench::lut_tq2_tables(a.q.data(), k, tables.data()); }, 0.3);
  for (int round = 0; round < 3; ++round) {
    size_t i = 0, j = 0;
    const double tm = time_median([&] { matmul_packed(kt, ms[i++ % ms.size()].pa, x.data(), 1, y_mul.data(), pool); }, 0.5);
    const double tl = time_median([&] { run_lut(j++ % lut.size()); }, 0.5);
    std::printf("| round %d | %.3f | %.3f | %.2f | %.0f%% | %.0f%% |\n", round + 1, tm * 1e3, tl * 1e3, tl / tm,
                100 * bytes / tm / 1e9 / read_bw, 100 * bytes / tl / 1e9 / read_bw);
  }
  std::printf("\nThe lookup times include building the tables: %.3f ms.\n", tt * 1e3);
  return true;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  ThreadPool& pool = ThreadPool::global();
  const int max_threads = pool.threads();
  std::vector<int> threads = {1};
  if (max_threads > 1) threads.push_back(max_threads);
  std::printf("# lowbit native bench: features");
  for (const auto& f : cpu_features().names()) std::printf(" %s", f.c_str());
  std::printf(", %d threads\n", max_threads);
  const char* only = std::getenv("LOWBIT_ISA");
  for (const std::string& isa : supported_isas()) {
    if (only && *only && isa != only) continue;
    const KernelTable& kt = *kernels_for(isa);
    std::printf("\n## kernel set %s\n\n| threads | read GB/s | FMA GFLOP/s | int8 dot GOP/s |\n|---|---|---|---|\n",
                isa.c_str());
    std::vector<double> bw(threads.size()), dot(threads.size());
    for (size_t ti = 0; ti < threads.size(); ++ti) {
      pool.set_threads(threads[ti]);
      bw[ti] = probe_read_bandwidth(kt, pool, int64_t(1) << 30, 5);
      dot[ti] = probe_dot_peak(kt, pool, 5);
      std::printf("| %d | %.1f | %.0f | %.0f |\n", threads[ti], bw[ti], probe_fma_peak(kt, pool, 5), dot[ti]);
    }
    const char* only_case = std::getenv("LOWBIT_BENCH_CASE");
    auto skipped = [only_case](const Case& c) {
      if (!only_case || !*only_case) return false;
      const std::string list = std::string(",") + only_case + ",";
      return list.find(std::string(",") + c.name + ",") == std::string::npos;
    };
    if (wanted(argc, argv, "gemv")) {
      // 16384 x 8192 cycled over copies totalling >= 256 MiB: streamed from DRAM.
      const int64_t n = 16384, k = 8192;
      const std::vector<float> w = signal(n * k), x = signal(k);
      std::printf("\n| GEMV %lldx%lld | threads | plain ms | plain GB/s | packed ms | packed GB/s | of read bw |\n"
                  "|---|---|---|---|---|---|---|\n", (long long)n, (long long)k);
      for (const Case& c : kCases) {
        if (skipped(c)) continue;
        std::vector<Matrix> ms;
        ms.push_back(make(c, n, k, w));
        while (int64_t(ms.size()) * ms[0].bytes() < (int64_t(256) << 20)) ms.push_back(ms[0]);
        for (auto& m : ms) m.pa.data = m.packed.data();
        std::vector<float> y(n);
        for (size_t ti = 0; ti < threads.size(); ++ti) {
          pool.set_threads(threads[ti]);
          size_t i = 0;
          const double tp = time_median([&] {
            matmul(kt, ms[i++ % ms.size()].view(), x.data(), 1, Activations::kInt8, y.data(), pool);
          });
          const double bytes = double(ms[0].bytes());
          if (ms[0].packed.empty()) {
            std::printf("| %s | %d | %.3f | %.1f | | | %.0f%% (plain) |\n", c.name, threads[ti], tp * 1e3, bytes / tp / 1e9,
                        100 * bytes / tp / 1e9 / bw[ti]);
            continue;
          }
          const double tk = time_median([&] { matmul_packed(kt, ms[i++ % ms.size()].pa, x.data(), 1, y.data(), pool); });
          std::printf("| %s | %d | %.3f | %.1f | %.3f | %.1f | %.0f%% |\n", c.name, threads[ti], tp * 1e3,
                      bytes / tp / 1e9, tk * 1e3, bytes / tk / 1e9, 100 * bytes / tk / 1e9 / bw[ti]);
        }
      }
    }
    if (wanted(argc, argv, "gemm")) {
      std::vector<int64_t> gemm_rows = {8, 32, 128, 512};
      if (const char* ms = std::getenv("LOWBIT_BENCH_M"); ms && *ms) {
        gemm_rows.clear();
        for (const char* s = ms; *s;) {
          char* end;
          const long v = std::strtol(s, &end, 10);
          if (end == s || v < 1) {
            std::fprintf(stderr, "LOWBIT_BENCH_M: '%s' is not a list of positive row counts\n", ms);
            return 2;
          }
          gemm_rows.push_back(v);
          s = *end == ',' ? end + 1 : end;
        }
      }
      std::printf("\n| GEMM | m | threads | plain ms | packed ms | packed GOP/s | of dot peak |\n|---|---|---|---|---|---|---|\n");
      for (int64_t nk : {4096, 16384}) {
        const int64_t n = nk, k = nk == 4096 ? 4096 : 8192;
        const std::vector<float> w = signal(n * k);
        for (const Case& c : kCases) {
          // int4 g32 / g128 (sym and asym) the anchors; q4_0 and the ggml types, whose GEMM is set beside q4_0's.
          const std::string name = c.name;
          const bool ggml = c.format != Format::kInt && format_info(c.format).fixed_group && c.format != Format::kMXFP4 &&
                            c.format != Format::kNVFP4;
          if (skipped(c) || !(name == "int4 g32" || name.rfind("int4 g128", 0) == 0 || c.bits < 4 || ggml)) continue;
          const Matrix mat = make(c, n, k, w);
          for (int64_t m : gemm_rows) {
            const std::vector<float> x = signal(m * k);
            std::vector<float> y(m * n);
            for (size_t ti = 0; ti < threads.size(); ++ti) {
              pool.set_threads(threads[ti]);
              const double tp = time_median([&] { matmul(kt, mat.view(), x.data(), m, Activations::kInt8, y.data(), pool); }, 0.5);
              const double tk = time_median([&] { matmul_packed(kt, mat.pa, x.data(), m, y.data(), pool); }, 0.5);
              const double gops = 2.0 * m * n * k / tk / 1e9;
              std::printf("| %lldx%lld %s | %lld | %d | %.2f | %.2f | %.0f | %.0f%% |\n", (long long)n, (long long)k, c.name,
                          (long long)m, threads[ti], tp * 1e3, tk * 1e3, gops, 100 * gops / dot[ti]);
            }
          }
        }
      }
    }
#if defined(__x86_64__)
    if (isa == "avx2" && wanted(argc, argv, "lut") && !lut_suite(kt, pool, bw[0])) return 1;
#endif
    pool.set_threads(max_threads);
  }
  return 0;
}
