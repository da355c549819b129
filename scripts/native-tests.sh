#!/usr/bin/env bash
# Builds the native kernel test program (csrc/tests) and runs it, optionally under an emulator.
# Usage: scripts/native-tests.sh [x64|arm64|win64] [runner...]
#   x64   (default) builds with $CXX (g++) for this machine; arm64 cross-builds with
#         aarch64-linux-gnu-g++ (pass a runner such as "qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu max");
#   win64 cross-builds a Windows program with MinGW-w64 (x86_64-w64-mingw32-g++-posix, static runtime;
#         no sanitizers, no SIMDe), to run under Wine.
# Environment:
#   SANITIZE=1 (default) ASan + UBSan; 0 a plain -O2 build (what emulators run).
#   SIMDE=missing (x64 default) also compiles, against SIMDe's portable intrinsics (Debian's
#         libsimde-dev), the x86 kernel sets this CPU lacks, so that every set is tested on any x86-64;
#         all: every set (the emulation checked against the native sets); none.
#   RUN=0 builds only and prints the program's path.
# The program: LOWBIT_ISA=<set>[,<set>...] runs those sets; LOWBIT_TEST_EMULATED=0 skips the SIMDe
# builds at run time, =all runs them even for sets this CPU also runs natively, =only runs them alone;
# LOWBIT_TEST_LIST=1 prints the sets dispatch offers and exits; LOWBIT_TEST_QUICK=1 leaves out the largest
# row count (m = 128), whose passes the smaller ones reach, for runs under an emulator.
# Each variant builds into its own folder and is rebuilt only when a source is newer than it.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-x64}
shift || true
san=${SANITIZE:-$([ "$arch" = win64 ] && echo 0 || echo 1)}
simde=${SIMDE:-$([ "$arch" = x64 ] && echo missing || echo none)}
[ "$arch" = win64 ] && [ "$san" = 1 -o "$simde" != none ] && { echo "win64: no sanitizers or SIMDe builds with MinGW" >&2; exit 2; }
out=build/native-tests/$arch-$([ "$san" = 1 ] && echo asan || echo plain)-simde-$simde
mkdir -p "$out"
flags=()
[ "$san" = 1 ] && flags=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
# -g1: line tables (what sanitizer reports and backtraces print) without the full debug information,
# which doubled the compile time of the kernel sets' template-heavy units (ASan 160 -> 96 s, SIMDe 101 -> 47 s).
common=(-std=c++17 -O2 -g1 -ffp-contract=off -Wall -Wextra -Wno-unused-parameter "${flags[@]}")
# The sources and each kernel set's flags are binding.gyp's (scripts/gyp-targets.js), so the test
# program builds what the addon builds.
. scripts/gyp-list.sh
gyp_arch=$([ "$arch" = arm64 ] && echo arm64 || echo x64)
gyp_list core sources lowbit_core "$gyp_arch"
core+=(csrc/tests/test_kernels.cc csrc/tests/test_runtime.cc csrc/tests/test_conversions.cc csrc/tests/test_dequantize_blocks.cc)
bin=$out/test_kernels
link=(-pthread)
if [ "$arch" = win64 ]; then
  bin=$out/test_kernels.exe
  # GCC spills AVX registers with aligned moves that Windows x64 stacks (16-byte aligned) break: the
  # assembler encodes them unaligned (as scripts/build-win32.js does for the addon).
  common+=(-Wa,-muse-unaligned-vector-move)
  link=(-static)
fi

# Two compilers at a time: the machine CI runs on has two cores.
. scripts/parallel-jobs.sh
compile() { # object, then compiler arguments
  local obj=$1
  shift
  objs+=("$obj")
  # Rebuild when the object is missing or any source or header is newer.
  if [ -f "$obj" ] && [ -z "$(find csrc -newer "$obj" -name '*.[hc]*' -print -quit)" ]; then return; fi
  start_job "$cxx" "${common[@]}" "$@" -c -o "$obj"
}
objs=()
defs=()
if [ "$arch" = x64 ] || [ "$arch" = win64 ]; then
  [ "$arch" = win64 ] && cxx=${CXX:-x86_64-w64-mingw32-g++-posix} || cxx=${CXX:-g++}
  for isa in avx2 avxvnni avx512 avx512vnni; do
    gyp_list src sources "lowbit_x86_$isa" x64
    gyp_list isa_flags flags "lowbit_x86_$isa" x64
    for s in "${src[@]}"; do compile "$out/${isa}_$(basename "$s" .cc).o" "$s" "${isa_flags[@]}"; done
  done
  # GCC 12's own AVX-512 and SIMDe headers trip its uninitialised-value warnings (_mm512_undefined_*).
  quiet=(-Wno-uninitialized -Wno-maybe-uninitialized)
  # The flags each set needs, as /proc/cpuinfo names them.
  declare -A needs=([avx2]="avx2 fma f16c" [avxvnni]="avx2 fma f16c avx_vnni"
                    [avx512]="avx512f avx512bw avx512vl avx512dq"
                    [avx512vnni]="avx512f avx512bw avx512vl avx512dq avx512_vnni")
  for isa in avx2 avxvnni avx512 avx512vnni; do
    want=0
    case $simde in
      all) want=1 ;;
      missing) for f in ${needs[$isa]}; do grep -qw "$f" /proc/cpuinfo || want=1; done ;;
    esac
    [ $want = 1 ] || continue
    # Baseline x86-64 code (no -m flags), so the emulated sets run on any CPU and under qemu;
    # -O1: SIMDe's element loops at -O2 cost minutes of compile time for nothing.
    gyp_list src sources "lowbit_x86_$isa" x64
    gyp_list isa_defines defines "lowbit_x86_$isa" x64
    for s in "${src[@]}"; do
      compile "$out/${isa}_simde_$(basename "$s" .cc).o" "${quiet[@]}" -O1 -Wno-psabi -DLOWBIT_SIMDE "${isa_defines[@]}" "$s"
    done
    defs+=("-DLOWBIT_TEST_SIMDE_${isa^^}=1")
  done
else
  cxx=${CXX:-aarch64-linux-gnu-g++}
  for set in neon dotprod i8mm; do
    gyp_list src sources "lowbit_arm_$set" arm64
    gyp_list set_flags flags "lowbit_arm_$set" arm64
    for s in "${src[@]}"; do compile "$out/${set}_$(basename "$s" .cc).o" "$s" "${set_flags[@]}"; done
  done
fi
for src in "${core[@]}"; do
  name=${src#csrc/}
  compile "$out/${name//\//_}.o" "${defs[@]}" "$src"
done
wait_jobs
"$cxx" "${common[@]}" "${objs[@]}" "${link[@]}" -o "$bin"
if [ "${RUN:-1}" = 0 ]; then
  echo "$bin"
  exit 0
fi
"$@" "$bin"
