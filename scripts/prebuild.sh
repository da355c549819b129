#!/usr/bin/env bash
# `npm run prebuild`: N-API prebuilds for linux-x64, linux-arm64 and win32-x64 in prebuilds/ (the names
# prebuildify gives them). Each binary holds every kernel set of its architecture and picks one at run
# time; the x64 baseline is plain x86-64 (SSE2), the arm64 one armv8-a. arm64 is cross-compiled with
# Debian's g++-aarch64-linux-gnu, win32-x64 with MinGW-w64 (scripts/build-win32.js).
# The x64 one is this checkout's build/Release/lowbit.node, stripped, when that build is current
# (scripts/check-build.js; `npm ci` just made it): the same sources and flags built twice otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir=${npm_config_nodedir:-/usr}
export JOBS=${JOBS:-max}
rm -rf prebuilds/linux-x64 prebuilds/linux-arm64 prebuilds/win32-x64

echo "== prebuild linux-x64"
if [ "$(uname -m)" = x86_64 ] && node scripts/check-build.js >/dev/null 2>&1 && [ -f build/Release/lowbit.node ]; then
  mkdir -p prebuilds/linux-x64
  strip --strip-all -o prebuilds/linux-x64/node.napi.node build/Release/lowbit.node
  echo "reused build/Release/lowbit.node (current with csrc/ and binding.gyp)"
else
  npx prebuildify --napi --strip
fi

echo "== prebuild linux-arm64 (cross)"
CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
  npx prebuildify --napi --strip --arch arm64 --strip-bin aarch64-linux-gnu-strip

echo "== prebuild win32-x64 (cross, MinGW-w64)"
if ! command -v "${MINGW_CXX:-x86_64-w64-mingw32-g++-posix}" >/dev/null; then
  echo "the win32-x64 prebuild needs MinGW-w64's C++ compiler: apt-get install g++-mingw-w64-x86-64-posix" >&2
  exit 1
fi
node scripts/build-win32.js

# The cross build replaced build/ with arm64 objects, and node-gyp-build prefers build/Release over
# prebuilds/: leave no build of another architecture (`npx node-gyp rebuild` restores the x64 one).
rm -rf build
file prebuilds/*/*.node
