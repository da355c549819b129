// fp16 <-> fp32 row conversions (the KV cache's) of a kernel set against the scalar definitions in
// float_formats.h: every binary16 pattern one way; the other way every rounding case (ties to even,
// subnormals, overflow to infinity, signed zeros) and random values over the whole exponent range,
// in lengths that exercise the vector loops and their tails.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "../core/float_formats.h"
#include "../core/kernels.h"
#include "check.h"

namespace lowbit::tests {

void test_f16_conversions(const KernelTable& kt) {
  std::vector<uint16_t> h(65536);
  for (int i = 0; i < 65536; ++i) h[i] = static_cast<uint16_t>(i);
  std::vector<float> f(65536 + 16);
  kt.f16_to_f32(h.data(), f.data(), 65536);
  int bad = 0;
  for (int i = 0; i < 65536; ++i) {
    const float want = fp16_to_fp32(h[i]);
    const bool ok = std::isnan(want) ? std::isnan(f[i]) : float_bits(f[i]) == float_bits(want);
    if (!ok && ++bad <= 3) CHECK(false, "[%s] f16_to_f32(0x%04x) = %a, expected %a", kt.name, i, f[i], want);
  }
  CHECK(bad == 0, "[%s] f16_to_f32: %d of 65536 patterns differ", kt.name, bad);
  // Tails: every length up to 40 from an odd offset; nothing past n is written.
  for (int64_t n = 0; n <= 40; ++n) {
    std::fill(f.begin(), f.end(), -7.0f);
    kt.f16_to_f32(h.data() + 15361, f.data(), n);  // 0x3c01 on: 1.0009765625 and up
    bool ok = true;
    for (int64_t i = 0; i < n; ++i) ok &= f[i] == fp16_to_fp32(h[15361 + i]);
    for (int64_t i = n; i < 48; ++i) ok &= f[i] == -7.0f;
    CHECK(ok, "[%s] f16_to_f32 of %lld values", kt.name, static_cast<long long>(n));
  }

  std::vector<float> x;
  for (uint32_t e = 0; e < 31; ++e) {
    for (uint32_t m : {0u, 1u, 2u, 0x155u, 0x3FEu, 0x3FFu}) {
      const float a = fp16_to_fp32(static_cast<uint16_t>(e << 10 | m));
      const float b = fp16_to_fp32(static_cast<uint16_t>(e << 10 | m) + 1);  // next binary16 (or infinity)
      const float mid = a + (b - a) * 0.5f;                                  // an exact tie (float32 holds it)
      for (float v : {a, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f), b}) {
        x.push_back(v);
        x.push_back(-v);
      }
    }
  }
  for (float v : {65504.0f, 65519.99f, 65520.0f, 1e9f, INFINITY, 5.9604645e-8f, 2.9802322e-8f, 2.98023259e-8f, 1e-10f,
                  0.0f}) {
    x.push_back(v);
    x.push_back(-v);
  }
  x.push_back(NAN);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  std::uniform_int_distribution<int> ex(-30, 17);
  for (int i = 0; i < 20000; ++i) x.push_back(std::ldexp(mant(rng), ex(rng)) * (i & 1 ? -1.0f : 1.0f));
  std::vector<uint16_t> got(x.size() + 16);
  kt.f32_to_f16(x.data(), got.data(), static_cast<int64_t>(x.size()));
  bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const uint16_t want = fp32_to_fp16(x[i]);
    const bool nan = (want & 0x7C00) == 0x7C00 && (want & 0x3FF);
    const bool ok = nan ? (got[i] & 0x7C00) == 0x7C00 && (got[i] & 0x3FF) : got[i] == want;
    if (!ok && ++bad <= 3) CHECK(false, "[%s] f32_to_f16(%a) = 0x%04x, expected 0x%04x", kt.name, x[i], got[i], want);
  }
  CHECK(bad == 0, "[%s] f32_to_f16: %d of %zu values differ", kt.name, bad, x.size());
  for (int64_t n = 0; n <= 40; ++n) {
    std::fill(got.begin(), got.end(), 0xBEEF);
    kt.f32_to_f16(x.data() + 3, got.data(), n);
    bool ok = true;
    for (int64_t i = 0; i < n; ++i) ok &= got[i] == fp32_to_fp16(x[3 + i]);
    for (int64_t i = n; i < 48; ++i) ok &= got[i] == 0xBEEF;
    CHECK(ok, "[%s] f32_to_f16 of %lld values", kt.name, static_cast<long long>(n));
  }
}

}  // namespace lowbit::tests
