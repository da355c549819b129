#!/usr/bin/env bash
# Builds and runs the native benchmark (bench/native/bench_native.cc) with the shipped
# flags: each x86 kernel set in its own object with its own -m flags. No Node needed.
# Usage: bench/native/run.sh [limits|gemv|gemm ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/native-bench
mkdir -p "$out"
cxx=${CXX:-g++}
flags=(-std=c++17 -O3 -ffp-contract=off -fno-math-errno -g ${LOWBIT_CXXFLAGS:-})  # e.g. -DLOWBIT_PREFETCH=4096
avx2=(-mavx2 -mfma -mf16c)
avx512=("${avx2[@]}" -mavx512f -mavx512bw -mavx512vl -mavx512dq)
objs=()
if [ "$(uname -m)" = x86_64 ]; then
  "$cxx" "${flags[@]}" -c csrc/x86/kernels_avx2.cc "${avx2[@]}" -o "$out/avx2.o"
  "$cxx" "${flags[@]}" -c csrc/x86/kernels_avxvnni.cc "${avx2[@]}" -mavxvnni -o "$out/avxvnni.o"
  "$cxx" "${flags[@]}" -c csrc/x86/kernels_avx512.cc "${avx512[@]}" -o "$out/avx512.o"
  "$cxx" "${flags[@]}" -c csrc/x86/kernels_avx512vnni.cc "${avx512[@]}" -mavx512vnni -o "$out/avx512vnni.o"
  objs=("$out"/avx2.o "$out"/avxvnni.o "$out"/avx512.o "$out"/avx512vnni.o)
else
  "$cxx" "${flags[@]}" -march=armv8-a -c csrc/arm/matmul_neon.cc -o "$out/neon.o"
  "$cxx" "${flags[@]}" -march=armv8.2-a+dotprod -c csrc/arm/matmul_neon_dotprod.cc -o "$out/dotprod.o"
  "$cxx" "${flags[@]}" -march=armv8.2-a+dotprod+i8mm -c csrc/arm/matmul_neon_i8mm.cc -o "$out/i8mm.o"
  objs=("$out"/neon.o "$out"/dotprod.o "$out"/i8mm.o)
fi
"$cxx" "${flags[@]}" bench/native/bench_native.cc csrc/core/quantize.cc csrc/core/kquants.cc \
  csrc/formats/ggml_search.cc csrc/formats/ggml_types.cc csrc/formats/q4_1_q5.cc csrc/formats/iq4.cc csrc/formats/q2_q3_k.cc csrc/formats/tq.cc csrc/core/matmul_ref.cc csrc/core/matmul.cc \
  csrc/core/matmul_super_blocks.cc csrc/core/activations_i8.cc csrc/core/gemm_kquant_ref.cc csrc/core/gemm_packed_kquant_ref.cc csrc/core/packed_kquant.cc \
  csrc/core/packed.cc csrc/core/thread_pool.cc csrc/core/work.cc csrc/core/cpu_features.cc csrc/core/dispatch.cc csrc/core/probe.cc \
  "${objs[@]}" -pthread -o "$out/bench_native"
"$out/bench_native" "$@"
