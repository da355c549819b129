// What the CPU we run on can execute, read once from cpuid/xgetbv (x86) or
// getauxval (Linux aarch64).
#pragma once

#include <string>
#include <vector>

namespace lowbit {

struct CpuFeatures {
  const char* arch = "unknown";
  // x86
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
  bool avxvnni = false;
  // aarch64
  bool neon = false, dotprod = false, i8mm = false;

  std::vector<std::string> names() const;
};

const CpuFeatures& cpu_features();

}  // namespace lowbit
