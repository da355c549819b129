#!/usr/bin/env bash
# Builds and runs the native kernel tests (csrc/tests) with sanitizers.
# Usage: scripts/native-tests.sh [x64|arm64] [runner...]
#   x64   (default) builds with $CXX (g++) for this machine and runs it: every x86 kernel
#         set this CPU runs natively, and (SIMDE=1, the default) the sets it lacks compiled
#         a second time against SIMDe's portable intrinsics (Debian's libsimde-dev).
#   arm64 cross-builds with aarch64-linux-gnu-g++; pass a runner such as
#         "qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu max".
# SANITIZE=0 builds without -fsanitize (for emulators that cannot host ASan).
# LOWBIT_ISA=<set> runs one set; LOWBIT_TEST_EMULATED=0 skips the SIMDe builds at run time, =all runs
# them even for sets this CPU also runs natively.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-x64}
shift || true
out=build/native-tests/$arch
mkdir -p "$out"
san=()
if [ "${SANITIZE:-1}" = 1 ]; then san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined); fi
common=(-std=c++17 -O2 -g -ffp-contract=off -Wall -Wextra -Wno-unused-parameter "${san[@]}")
core=(csrc/core/quantize.cc csrc/core/kquants.cc csrc/core/matmul_ref.cc csrc/core/gemm_kquant_ref.cc csrc/core/matmul.cc csrc/core/matmul_super_blocks.cc csrc/core/activations_i8.cc csrc/core/packed.cc csrc/core/thread_pool.cc csrc/core/work.cc
      csrc/core/cpu_features.cc csrc/core/dispatch.cc csrc/core/linalg.cc csrc/core/hadamard.cc
      csrc/tests/test_kernels.cc)
defs=()
if [ "$arch" = x64 ]; then
  cxx=${CXX:-g++}
  avx2=(-mavx2 -mfma -mf16c)
  avx512=("${avx2[@]}" -mavx512f -mavx512bw -mavx512vl -mavx512dq)
  # GCC 12's AVX-512 headers trip its own uninitialised-value warnings (_mm512_undefined_*).
  quiet512=(-Wno-uninitialized -Wno-maybe-uninitialized)
  # Two compilers at a time (the SIMDe units take minutes each under the sanitizers).
  jobs=()
  compile() { "$cxx" "${common[@]}" "$@" & jobs+=($!); if [ ${#jobs[@]} -ge 2 ]; then wait "${jobs[0]}"; jobs=("${jobs[@]:1}"); fi; }
  compile -c csrc/x86/kernels_avx2.cc "${avx2[@]}" -o "$out/avx2.o"
  compile -c csrc/x86/kernels_avxvnni.cc "${avx2[@]}" -mavxvnni -o "$out/avxvnni.o"
  compile "${quiet512[@]}" -c csrc/x86/kernels_avx512.cc "${avx512[@]}" -o "$out/avx512.o"
  compile "${quiet512[@]}" -c csrc/x86/kernels_avx512vnni.cc "${avx512[@]}" -mavx512vnni -o "$out/avx512vnni.o"
  objs=("$out/avx2.o" "$out/avxvnni.o" "$out/avx512.o" "$out/avx512vnni.o")
  if [ "${SIMDE:-1}" = 1 ]; then
    # Baseline x86-64 code (no -m flags), so the emulated sets run on any CPU and under qemu;
    # -O1: SIMDe's element loops at -O2 under ASan cost minutes of compile time for nothing.
    for isa in avx2 avxvnni avx512 avx512vnni; do
      compile "${quiet512[@]}" -O1 -Wno-psabi -DLOWBIT_SIMDE -c "csrc/x86/kernels_$isa.cc" -o "$out/${isa}_simde.o"
      objs+=("$out/${isa}_simde.o")
    done
    defs=(-DLOWBIT_TEST_SIMDE=1)
  fi
  for j in "${jobs[@]}"; do wait "$j"; done
else
  cxx=${CXX:-aarch64-linux-gnu-g++}
  "$cxx" "${common[@]}" -march=armv8-a -c csrc/arm/matmul_neon.cc -o "$out/neon.o"
  "$cxx" "${common[@]}" -march=armv8.2-a+dotprod -c csrc/arm/matmul_neon_dotprod.cc -o "$out/dotprod.o"
  "$cxx" "${common[@]}" -march=armv8.2-a+dotprod+i8mm -c csrc/arm/matmul_neon_i8mm.cc -o "$out/i8mm.o"
  objs=("$out/neon.o" "$out/dotprod.o" "$out/i8mm.o")
fi
"$cxx" "${common[@]}" "${defs[@]}" "${core[@]}" "${objs[@]}" -pthread -o "$out/test_kernels"
"$@" "$out/test_kernels"
