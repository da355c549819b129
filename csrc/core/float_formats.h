// Scalar encoders and decoders of the small float formats (IEEE binary16,
// OCP FP8 E4M3/E5M2, E2M1, E8M0) and the NF4 codebook. Baseline code only:
// ISA-flagged units decode with their own instructions and never include this.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "iq4_levels.h"

namespace lowbit {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// IEEE binary16, round to nearest-even; overflow gives infinity, NaN stays NaN.
inline uint16_t fp32_to_fp16(float f) {
  uint32_t x = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  x &= 0x7FFFFFFF;
  if (x >= 0x7F800000) return sign | (x > 0x7F800000 ? 0x7E00 : 0x7C00);
  if (x >= 0x477FF000) return sign | 0x7C00;  // >= 65520 rounds past 65504
  if (x < 0x38800000) {
    // Below 2^-14: a multiple of 2^-24. Scaling by 2^24 is exact; nearbyint rounds half to even.
    return sign | static_cast<uint16_t>(std::nearbyint(bits_float(x) * 16777216.0f));
  }
  x += 0xFFF + ((x >> 13) & 1);  // round the 13 dropped bits, ties to even
  return sign | static_cast<uint16_t>((x - (uint32_t{112} << 23)) >> 13);
}

inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t e = (h >> 10) & 0x1F, m = h & 0x3FF;
  if (e == 0) return bits_float(sign | float_bits(static_cast<float>(m) * 5.9604644775390625e-8f));
  if (e == 31) return bits_float(sign | 0x7F800000 | (m << 13));
  return bits_float(sign | ((e + 112) << 23) | (m << 13));
}

// bfloat16 (float32's top 16 bits), round to nearest-even; overflow gives infinity, NaN stays a quiet NaN.
inline uint16_t fp32_to_bf16(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7FFFFFFF) > 0x7F800000) return static_cast<uint16_t>((x >> 16) | 0x0040);
  return static_cast<uint16_t>((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}
inline float bf16_to_fp32(uint16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

// n little-endian 16-bit floats at p (binary16, or bfloat16 when `bf16`; any alignment) to float32.
inline void halves_to_fp32(bool bf16, const uint8_t* p, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = static_cast<uint16_t>(p[2 * i] | p[2 * i + 1] << 8);
    out[i] = bf16 ? bf16_to_fp32(h) : fp16_to_fp32(h);
  }
}

// OCP 8-bit floats. E4M3 (E4M3FN): bias 7, no infinities, S.1111.111 is NaN, max 448.
// E5M2: bias 15, IEEE infinities and NaNs, max 57344.
struct Fp8Spec {
  int mbits;
  int bias;
  float max;
  uint8_t max_code;
  bool has_inf;
};
constexpr Fp8Spec kE4M3{3, 7, 448.0f, 0x7E, false};
constexpr Fp8Spec kE5M2{2, 15, 57344.0f, 0x7B, true};

inline float fp8_to_fp32(uint8_t b, const Fp8Spec& s) {
  const float sign = (b & 0x80) ? -1.0f : 1.0f;
  const int em = b & 0x7F, e = em >> s.mbits, m = em & ((1 << s.mbits) - 1);
  const int emax = (1 << (7 - s.mbits)) - 1;
  if (!s.has_inf && em == 0x7F) return NAN;
  if (s.has_inf && e == emax) return m == 0 ? sign * INFINITY : NAN;
  if (e == 0) return sign * std::ldexp(static_cast<float>(m), 1 - s.bias - s.mbits);
  return sign * std::ldexp(static_cast<float>((1 << s.mbits) + m), e - s.bias - s.mbits);
}

// Round to nearest-even, saturating finite values to +-max; NaN gives a NaN code,
// infinity E5M2's infinity (E4M3: +-max).
inline uint8_t fp32_to_fp8(float v, const Fp8Spec& s) {
  const uint8_t sign = std::signbit(v) ? 0x80 : 0x00;
  const float a = std::fabs(v);
  if (std::isnan(a)) return sign | (s.has_inf ? 0x7E : 0x7F);
  if (a >= s.max) return sign | ((s.has_inf && std::isinf(a)) ? 0x7C : s.max_code);
  if (a == 0.0f) return sign;
  int e;
  std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  // The code is the count of steps of the spacing at a's binade (subnormal spacing below
  // the smallest normal), which carries across binades as the bit pattern does.
  const int ulp_exp = std::max(e - 1, 1 - s.bias) - s.mbits;
  const int steps = static_cast<int>(std::nearbyint(std::ldexp(a, -ulp_exp)));
  int code;
  if (e - 1 < 1 - s.bias) {
    code = steps;
  } else {
    code = ((e - 1 + s.bias) << s.mbits) + (steps - (1 << s.mbits));
  }
  return sign | static_cast<uint8_t>(std::min<int>(code, s.max_code));
}

// E2M1 (FP4) magnitudes by code; bit 3 is the sign.
inline constexpr float kE2M1[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};

// Nearest E2M1 value, ties to the even code, saturating at +-6.
inline uint8_t fp32_to_e2m1(float v) {
  const float a = std::fabs(v);
  uint8_t c;
  if (a <= 0.25f) c = 0;
  else if (a < 0.75f) c = 1;
  else if (a <= 1.25f) c = 2;
  else if (a < 1.75f) c = 3;
  else if (a <= 2.5f) c = 4;
  else if (a < 3.5f) c = 5;
  else if (a <= 5.0f) c = 6;
  else c = 7;
  return static_cast<uint8_t>((std::signbit(v) ? 8 : 0) | c);
}

// E8M0: 2^(e - 127); 0xFF is NaN.
inline float e8m0_to_fp32(uint8_t e) { return e == 0xFF ? NAN : std::ldexp(1.0f, e - 127); }


// bitsandbytes' NormalFloat4 levels.
inline constexpr float kNF4[16] = {-1.0f,
                            -0.6961928009986877f,
                            -0.5250730514526367f,
                            -0.39491748809814453f,
                            -0.28444138169288635f,
                            -0.18477343022823334f,
                            -0.09105003625154495f,
                            0.0f,
                            0.07958029955625534f,
                            0.16093020141124725f,
                            0.24611230194568634f,
                            0.33791524171829224f,
                            0.44070982933044434f,
                            0.5626170039176941f,
                            0.7229568362236023f,
                            1.0f};

// bitsandbytes' FP4 magnitudes by code (bit 3 is the sign): {0, 0.0625, 8, 12, 4, 6, 2, 3} / 12 in float32.
inline constexpr float kBnbFP4[8] = {0.0f, 0.0625f / 12.0f, 8.0f / 12.0f, 1.0f, 4.0f / 12.0f, 6.0f / 12.0f, 2.0f / 12.0f, 3.0f / 12.0f};


// The value of each code of a 4-bit table format, before its scale (the format traits' `levels`). These
// and the tables above are inline (one definition program-wide): the inline table of format traits
// points at them, and a per-file copy inside its COMDAT group breaks ASan builds at link time.
struct Levels16 {
  float v[16];
};
// Sign and magnitude: bit 3 the sign, a negative zero at code 8 or not.
constexpr Levels16 sign_magnitude_levels(const float (&magnitude)[8], bool negative_zero) {
  Levels16 t{};
  for (int c = 0; c < 16; ++c) {
    const float m = magnitude[c & 7];
    t.v[c] = (c & 8) && (negative_zero || (c & 7)) ? -m : m;
  }
  return t;
}
constexpr Levels16 int_levels(const int8_t (&levels)[16]) {
  Levels16 t{};
  for (int c = 0; c < 16; ++c) t.v[c] = static_cast<float>(levels[c]);
  return t;
}
inline constexpr Levels16 kE2M1Levels = sign_magnitude_levels(kE2M1, true);
// Code 8 is +0 as in bitsandbytes' table (its "-0" is a Python integer, so the float table holds +0.0).
inline constexpr Levels16 kBnbFP4Levels = sign_magnitude_levels(kBnbFP4, false);
inline constexpr Levels16 kIQ4NLLevels = int_levels(kIQ4NL);

// The code bitsandbytes gives v (its dQuantizeFP4): the sign bit for v < 0, then the magnitude by
// comparing |v| with the float32 midpoints it uses, a value equal to one going to the smaller magnitude.
// The midpoints are bnb's decimal literals, so a value within an ulp or two of one may round the other
// way from an exact nearest-level search.
inline uint8_t nearest_bnb_fp4(float v) {
  const float x = std::fabs(v);
  uint8_t c;
  if (x > 0.29166667f) {
    c = x > 0.583333f ? (x > 0.8333333f ? 3 : 2) : (x > 0.4166667f ? 5 : 4);
  } else {
    c = x > 0.0859375f ? (x > 0.20833333f ? 7 : 6) : (x > 0.00260417f ? 1 : 0);
  }
  return static_cast<uint8_t>((v < 0.0f ? 8 : 0) | c);
}

// Index of the level nearest to v (float32 distances), the lower index on ties.
inline uint8_t nearest_nf4(float v) {
  uint8_t best = 0;
  float bd = std::fabs(v - kNF4[0]);
  for (uint8_t i = 1; i < 16; ++i) {
    const float d = std::fabs(v - kNF4[i]);
    if (d < bd) {
      bd = d;
      best = i;
    }
  }
  return best;
}

}  // namespace lowbit
