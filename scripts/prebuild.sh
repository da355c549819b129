#!/usr/bin/env bash
# `npm run prebuild`: N-API prebuilds for linux-x64 and linux-arm64 in prebuilds/ (prebuildify).
# Each binary holds every kernel set of its architecture and picks one at run time; the x64
# baseline is plain x86-64 (SSE2), the arm64 one armv8-a. arm64 is cross-compiled with Debian's
# g++-aarch64-linux-gnu.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir=${npm_config_nodedir:-/usr}
rm -rf prebuilds/linux-x64 prebuilds/linux-arm64

echo "== prebuild linux-x64"
npx prebuildify --napi --strip

echo "== prebuild linux-arm64 (cross)"
CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
  npx prebuildify --napi --strip --arch arm64 --strip-bin aarch64-linux-gnu-strip

# node-gyp-build prefers build/Release over prebuilds/: leave no build of another architecture.
rm -rf build
file prebuilds/*/*.node
