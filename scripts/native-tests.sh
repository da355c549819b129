#!/usr/bin/env bash
# Builds and runs the native kernel tests (csrc/tests) with sanitizers.
# Usage: scripts/native-tests.sh [x64|arm64] [runner...]
#   x64   (default) builds with $CXX (g++) for this machine and runs it.
#   arm64 cross-builds with aarch64-linux-gnu-g++; pass a runner such as
#         "qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu max".
# SANITIZE=0 builds without -fsanitize (for emulators that cannot host ASan).
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-x64}
shift || true
out=build/native-tests/$arch
mkdir -p "$out"
san=()
if [ "${SANITIZE:-1}" = 1 ]; then san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined); fi
common=(-std=c++17 -O2 -g -ffp-contract=off -Wall -Wextra -Wno-unused-parameter "${san[@]}")
core=(csrc/core/quantize.cc csrc/core/matmul_ref.cc csrc/core/matmul.cc csrc/core/thread_pool.cc
      csrc/core/cpu_features.cc csrc/core/dispatch.cc csrc/core/linalg.cc csrc/core/hadamard.cc
      csrc/tests/test_kernels.cc)
if [ "$arch" = x64 ]; then
  cxx=${CXX:-g++}
  "$cxx" "${common[@]}" -c csrc/x86/matmul_avx2.cc -mavx2 -mfma -mf16c -o "$out/avx2.o"
  objs=("$out/avx2.o")
else
  cxx=${CXX:-aarch64-linux-gnu-g++}
  "$cxx" "${common[@]}" -march=armv8-a -c csrc/arm/matmul_neon.cc -o "$out/neon.o"
  "$cxx" "${common[@]}" -march=armv8.2-a+dotprod -c csrc/arm/matmul_neon_dotprod.cc -o "$out/dotprod.o"
  "$cxx" "${common[@]}" -march=armv8.2-a+dotprod+i8mm -c csrc/arm/matmul_neon_i8mm.cc -o "$out/i8mm.o"
  objs=("$out/neon.o" "$out/dotprod.o" "$out/i8mm.o")
fi
"$cxx" "${common[@]}" "${core[@]}" "${objs[@]}" -pthread -o "$out/test_kernels"
"$@" "$out/test_kernels"
