// Machine-limit probes of an x86 kernel set, at its vector width (LOWBIT_VEC) and with
// the int8 instruction its packed kernels use (vpdpbusd when LOWBIT_VNNI, else
// vpmaddubsw + vpmaddwd + vpaddd): the table's fma_peak, dot_peak and read.
#include "kernel_set.h"

#include <cstdint>

namespace lowbit::LOWBIT_NS {

namespace {
namespace probe {

#if LOWBIT_VEC == 512
using vf = __m512;
using vi = __m512i;
constexpr int kBytes = 64;
inline vf set1_ps(float v) { return _mm512_set1_ps(v); }
inline vf fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
inline vf add_ps(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf load_ps(const float* p) { return _mm512_loadu_ps(p); }
inline vf zero_ps() { return _mm512_setzero_ps(); }
inline float first(vf v) { return _mm512_cvtss_f32(v); }
inline vi set1_i8(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
inline vi zero_i() { return _mm512_setzero_si512(); }
inline vi add_i32(vi a, vi b) { return _mm512_add_epi32(a, b); }
inline int first_i(vi v) { return _mm_cvtsi128_si32(_mm512_castsi512_si128(v)); }
#if LOWBIT_VNNI
inline vi dot(vi acc, vi a, vi b) { return _mm512_dpbusd_epi32(acc, a, b); }
#else
inline vi dot(vi acc, vi a, vi b) {
  return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(a, b), _mm512_set1_epi16(1)));
}
#endif
#else
using vf = __m256;
using vi = __m256i;
constexpr int kBytes = 32;
inline vf set1_ps(float v) { return _mm256_set1_ps(v); }
inline vf fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
inline vf add_ps(vf a, vf b) { return _mm256_add_ps(a, b); }
inline vf load_ps(const float* p) { return _mm256_loadu_ps(p); }
inline vf zero_ps() { return _mm256_setzero_ps(); }
inline float first(vf v) { return _mm256_cvtss_f32(v); }
inline vi set1_i8(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
inline vi zero_i() { return _mm256_setzero_si256(); }
inline vi add_i32(vi a, vi b) { return _mm256_add_epi32(a, b); }
inline int first_i(vi v) { return _mm_cvtsi128_si32(_mm256_castsi256_si128(v)); }
#if LOWBIT_VNNI
inline vi dot(vi acc, vi a, vi b) { return LOWBIT_DPBUSD256(acc, a, b); }
#else
inline vi dot(vi acc, vi a, vi b) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)));
}
#endif
#endif
constexpr int kFloats = kBytes / 4;

}  // namespace probe
}  // namespace

// 12 independent FMA chains hide the 4-cycle latency on two FMA pipes.
double fma_peak(int64_t iters) {
  probe::vf a[12];
  for (int i = 0; i < 12; ++i) a[i] = probe::set1_ps(static_cast<float>(i));
  const probe::vf m = probe::set1_ps(0.999999f), c = probe::set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = probe::fmadd(a[i], m, c);
  probe::vf s = a[0];
  for (int i = 1; i < 12; ++i) s = probe::add_ps(s, a[i]);
  volatile float sink = probe::first(s);
  (void)sink;
  return 12.0 * 2 * probe::kFloats * static_cast<double>(iters);
}

// The kernels' int8 multiply-add sequence on independent accumulators: enough of them
// to cover vpdpbusd's latency times its throughput (8 left Zen 4 below what the
// packed GEMM reaches); 256-bit sets keep 4 of their 16 registers for operands.
double dot_peak(int64_t iters) {
  constexpr int kAcc = probe::kBytes == 64 ? 16 : 12;
  probe::vi acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = probe::zero_i();
  probe::vi a = probe::set1_i8(3), b = probe::set1_i8(-5);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < kAcc; ++i) {
#if defined(__GNUC__) && !defined(LOWBIT_SIMDE)
      // Makes the operands opaque before every use, so no product is shared between
      // accumulators or hoisted out of the loop (a barrier on the accumulators would
      // pin them to memory instead).
      __asm__ volatile("" : "+v"(a), "+v"(b));
#endif
      acc[i] = probe::dot(acc[i], a, b);
    }
  }
  probe::vi s = acc[0];
  for (int i = 1; i < kAcc; ++i) s = probe::add_i32(s, acc[i]);
  volatile int sink = probe::first_i(s);
  (void)sink;
  return double(kAcc) * 2 * probe::kBytes * static_cast<double>(iters);
}

// Four concurrent streams (like a GEMV tile's rows) and eight accumulators, so
// neither the prefetchers nor the add latency cap the measured bandwidth.
float read(const float* p, int64_t n) {
  constexpr int64_t kStep = 2 * probe::kFloats;
  probe::vf s[8];
  for (int l = 0; l < 8; ++l) s[l] = probe::zero_ps();
  const int64_t q = n / 4 / kStep * kStep;
  const float* st[4] = {p, p + q, p + 2 * q, p + 3 * q};
  for (int64_t i = 0; i < q; i += kStep) {
    for (int r = 0; r < 4; ++r) {
      s[2 * r] = probe::add_ps(s[2 * r], probe::load_ps(st[r] + i));
      s[2 * r + 1] = probe::add_ps(s[2 * r + 1], probe::load_ps(st[r] + i + probe::kFloats));
    }
  }
  for (int l = 1; l < 8; ++l) s[0] = probe::add_ps(s[0], s[l]);
  alignas(64) float lanes[probe::kFloats];
  __builtin_memcpy(lanes, &s[0], sizeof lanes);
  float t = 0.0f;
  for (float v : lanes) t += v;
  for (int64_t i = 4 * q; i < n; ++i) t += p[i];
  return t;
}

}  // namespace lowbit::LOWBIT_NS
