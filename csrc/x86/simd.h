// Intrinsics for an x86 kernel set's translation units: the compiler's own, or, for
// the native test program only (LOWBIT_SIMDE), SIMDe's portable implementations of
// the same names, so kernel sets this CPU lacks are still tested. The shipped
// binary never uses SIMDe.
#pragma once

#if defined(LOWBIT_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#include <simde/x86/fma.h>
#include <cstring>
// SIMDe 0.7.4 has the EVEX form only; the VEX (AVX-VNNI) one computes the same.
#define LOWBIT_DPBUSD256(acc, a, b) _mm256_dpbusd_epi32(acc, a, b)
// What SIMDe 0.7.4 lacks (or aliases wrongly), element by element: test builds only.
#define __mmask16 simde__mmask16
#define _MM_FROUND_NO_EXC SIMDE_MM_FROUND_NO_EXC
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)
namespace lowbit_simde_shim {
template <typename To, typename From>
inline To bits(const From& f) {
  static_assert(sizeof(To) == sizeof(From), "same size");
  To t;
  std::memcpy(&t, &f, sizeof t);
  return t;
}
struct I32x16 { int32_t v[16]; };
struct F32x16 { float v[16]; };
struct U8x16 { uint8_t v[16]; };
struct U16x32 { uint16_t v[32]; };
}  // namespace lowbit_simde_shim
inline simde__m512 _mm512_cvtepi32_ps(simde__m512i a) {
  auto i = lowbit_simde_shim::bits<lowbit_simde_shim::I32x16>(a);
  lowbit_simde_shim::F32x16 f;
  for (int l = 0; l < 16; ++l) f.v[l] = static_cast<float>(i.v[l]);
  return lowbit_simde_shim::bits<simde__m512>(f);
}
inline simde__m512i _mm512_cvtepu8_epi32(simde__m128i a) {
  auto u = lowbit_simde_shim::bits<lowbit_simde_shim::U8x16>(a);
  lowbit_simde_shim::I32x16 i;
  for (int l = 0; l < 16; ++l) i.v[l] = u.v[l];
  return lowbit_simde_shim::bits<simde__m512i>(i);
}
inline simde__m512 _mm512_cvtph_ps(simde__m256i h) {
  struct { simde__m128i lo, hi; } p = lowbit_simde_shim::bits<decltype(p)>(h);
  struct { simde__m256 lo, hi; } f = {simde_mm256_cvtph_ps(p.lo), simde_mm256_cvtph_ps(p.hi)};
  return lowbit_simde_shim::bits<simde__m512>(f);
}
inline simde__mmask32 _mm512_cmpeq_epi16_mask(simde__m512i a, simde__m512i b) {
  auto x = lowbit_simde_shim::bits<lowbit_simde_shim::U16x32>(a), y = lowbit_simde_shim::bits<lowbit_simde_shim::U16x32>(b);
  simde__mmask32 m = 0;
  for (int l = 0; l < 32; ++l) m |= static_cast<simde__mmask32>(x.v[l] == y.v[l]) << l;
  return m;
}
inline void _mm512_mask_storeu_ps(void* p, simde__mmask16 k, simde__m512 v) {
  auto f = lowbit_simde_shim::bits<lowbit_simde_shim::F32x16>(v);
  for (int l = 0; l < 16; ++l)
    if ((k >> l) & 1) std::memcpy(static_cast<float*>(p) + l, &f.v[l], 4);
}
inline float _mm512_cvtss_f32(simde__m512 v) { return lowbit_simde_shim::bits<lowbit_simde_shim::F32x16>(v).v[0]; }
#else
#include <immintrin.h>
#define LOWBIT_DPBUSD256(acc, a, b) _mm256_dpbusd_avx_epi32(acc, a, b)
#endif
