#!/usr/bin/env bash
# Fuzzes the GGUF parser with libFuzzer (clang, ASan + UBSan) for a bounded time.
# Usage: scripts/fuzz-gguf.sh [seconds, default 60]
# Seeds: files from the independent reference writer (test/reference/gguf_ref.py) and lowbit-shaped
# small headers; the corpus lives under build/ and is never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=build/fuzz-gguf
mkdir -p "$out/corpus"
clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  csrc/tests/fuzz_gguf.cc csrc/io/gguf.cc -o "$out/fuzz_gguf"
python3 test/reference/gguf_ref.py write "$out/corpus/reference.gguf" >/dev/null
# Small seeds: the header alone (the tensor data adds nothing for the parser), and its first bytes.
head -c 1100 "$out/corpus/reference.gguf" > "$out/corpus/reference-header.gguf"
head -c 64 "$out/corpus/reference.gguf" > "$out/corpus/reference-start.gguf"
"$out/fuzz_gguf" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  "$out/corpus" 2>&1 | tail -n 12
