// The scalar building blocks of ggml's reference quantizers (src/ggml-quants.c, ggml-org/ggml
// d99724f), shared by every ggml type lowbit writes. Every float32 expression keeps ggml's
// operand order; the build's -ffp-contract=off keeps the compiler from fusing them, so the
// bytes match ggml's on every target. Baseline code only.
#pragma once

#include <climits>
#include <cstdint>
#include <cstring>

#include "../core/float_formats.h"

namespace lowbit::ggml {

constexpr float kGroupMaxEps = 1e-15f;

// Round half to even for |v| < 2^22, through the float32 sum with 1.5 * 2^23 as ggml does.
inline int nearest_int(float v) {
  const float t = v + 12582912.0f;
  int32_t i;
  std::memcpy(&i, &t, 4);
  return (i & 0x007fffff) - 0x00400000;
}

inline void put_f16(uint8_t* p, float v) {
  const uint16_t h = fp32_to_fp16(v);
  std::memcpy(p, &h, 2);
}
inline float get_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_fp32(h);
}

// ggml's (int8_t) / (uint8_t) casts of rounded codes as x86 compilers run them: truncation to
// int32 (INT32_MIN when out of range or NaN, as cvttss2si gives; subnormal weights make 1 / d
// infinite), then the low byte. Every target writes x86's bytes.
inline int32_t trunc_i32(float v) {
  return v > -2147483648.0f && v < 2147483648.0f ? static_cast<int32_t>(v) : INT32_MIN;
}
inline int trunc_i8(float v) { return static_cast<int8_t>(static_cast<uint8_t>(trunc_i32(v) & 0xFF)); }
inline int trunc_u8(float v) { return static_cast<uint8_t>(trunc_i32(v) & 0xFF); }

// The value of largest magnitude among x[0..n), with its sign (the first of equal magnitudes; 0 when
// all are 0); *amax is its magnitude. ggml's searches all start from it.
inline float signed_absmax(const float* x, int n, float* amax) {
  float max = 0;
  *amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = x[i] < 0 ? -x[i] : x[i];
    if (ax > *amax) {
      *amax = ax;
      max = x[i];
    }
  }
  return max;
}

// Scale and min of a group of n (x - min) codes in [0, nmax], by ggml's weighted search over
// nstep + 1 candidate scales (squared error, or absolute error when use_mad). Returns the scale;
// *neg_min is -min.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* neg_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);

// Index of the entry of the ascending table val[0..n) nearest to x (ties to the lower one, as
// ggml's binary search leaves them).
int best_index_int8(int n, const int8_t* val, float x);

}  // namespace lowbit::ggml
