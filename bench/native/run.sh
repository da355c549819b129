#!/usr/bin/env bash
# Builds and runs the native benchmark (bench/native/bench_native.cc) with the shipped
# flags: each kernel set in its own object with its own -m flags, the sources and flags read from
# binding.gyp (scripts/gyp-targets.js, run by node).
# Usage: bench/native/run.sh [limits|gemv|gemm|lut ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/native-bench
mkdir -p "$out"
cxx=${CXX:-g++}
flags=(-std=c++17 -O3 -ffp-contract=off -fno-math-errno -g ${LOWBIT_CXXFLAGS:-})  # e.g. -DLOWBIT_PREFETCH=4096
. scripts/gyp-list.sh
. scripts/parallel-jobs.sh
if [ "$(uname -m)" = x86_64 ]; then arch=x64 sets=(x86_avx2 x86_avxvnni x86_avx512 x86_avx512vnni)
else arch=arm64 sets=(arm_neon arm_dotprod arm_i8mm); fi
objs=()
for set in "${sets[@]}"; do
  gyp_list src sources "lowbit_$set" $arch
  gyp_list set_flags flags "lowbit_$set" $arch
  for s in "${src[@]}"; do
    obj="$out/${set}_$(basename "$s" .cc).o"
    start_job "$cxx" "${flags[@]}" -c "$s" "${set_flags[@]}" -o "$obj"
    objs+=("$obj")
  done
done
wait_jobs
if [ $arch = x64 ]; then  # the `lut` suite's table-lookup GEMV (its AVX2 function carries its own target)
  "$cxx" "${flags[@]}" -c bench/native/lut_tq2_avx2.cc -o "$out/lut_tq2_avx2.o"
  objs+=("$out/lut_tq2_avx2.o")
fi
gyp_list core sources lowbit_core $arch
"$cxx" "${flags[@]}" bench/native/bench_native.cc "${core[@]}" "${objs[@]}" -pthread -o "$out/bench_native"
"$out/bench_native" "$@"
