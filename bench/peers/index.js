// @ts-check
// `npm run bench -- peers`: lowbit (prepared) against onnxruntime-node on the same CPU, the same
// weights (lowbit's quantized codes handed to ORT's MatMulNBits with accuracy_level 4: int8
// activations, block = group) and the same inputs. Every case runs in a fresh process per library and
// thread count; medians; output error of both against a float64 product with the dequantized weights.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { printTable } = require('../common');

const ORT_VERSION = '1.30.0';
const depsDir = path.join(__dirname, '.deps');

/**
 * @typedef {{ id: string, n: number, k: number, m: number, layers: number, weights: 'int4' | 'int8' | 'fp32',
 *   group: number, asym: boolean }} Case
 */
/** @type {Case[]} */
const CASES = [];
for (const [group, asym] of /** @type {[number, boolean][]} */ ([[32, false], [128, false], [128, true]])) {
  const w = `int4 g${group}${asym ? ' asym' : ''}`;
  CASES.push({ id: `${w} gemv 16384x8192`, n: 16384, k: 8192, m: 1, layers: 1, weights: 'int4', group, asym });
  CASES.push({ id: `${w} 8 layers 8192x8192 m=1`, n: 8192, k: 8192, m: 1, layers: 8, weights: 'int4', group, asym });
  if (!asym) {
    CASES.push({ id: `${w} 8 layers 8192x8192 m=8`, n: 8192, k: 8192, m: 8, layers: 8, weights: 'int4', group, asym });
    for (const m of [1, 32, 128]) CASES.push({ id: `${w} 4096x4096 m=${m}`, n: 4096, k: 4096, m, layers: 1, weights: 'int4', group, asym });
    for (const m of [32, 128]) CASES.push({ id: `${w} 16384x8192 m=${m}`, n: 16384, k: 8192, m, layers: 1, weights: 'int4', group, asym });
  }
}
CASES.push({ id: 'int8 g32 gemv 16384x8192', n: 16384, k: 8192, m: 1, layers: 1, weights: 'int8', group: 32, asym: false });
CASES.push({ id: 'int8 g32 8 layers 8192x8192 m=1', n: 8192, k: 8192, m: 1, layers: 8, weights: 'int8', group: 32, asym: false });
for (const [n, k, m] of [[4096, 4096, 32], [4096, 4096, 128], [16384, 8192, 128]]) {
  CASES.push({ id: `fp32 ${n}x${k} m=${m}`, n, k, m, layers: 1, weights: 'fp32', group: 0, asym: false });
}

function ensureOrt() {
  const pkg = path.join(depsDir, 'node_modules', 'onnxruntime-node', 'package.json');
  if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).version === ORT_VERSION) return;
  console.error(`installing onnxruntime-node@${ORT_VERSION} into ${depsDir} (once; --ignore-scripts: its CPU binaries ship in the tarball)`);
  fs.mkdirSync(depsDir, { recursive: true });
  fs.writeFileSync(path.join(depsDir, 'package.json'), JSON.stringify({ name: 'lowbit-bench-peers', private: true }));
  execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', `onnxruntime-node@${ORT_VERSION}`], {
    cwd: depsDir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** @param {Case} c @param {string} lib @param {number} threads */
function runChild(c, lib, threads) {
  const out = execFileSync(process.execPath, ['--max-old-space-size=8192', path.join(__dirname, 'child.js'), JSON.stringify({ c, lib, threads })], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOWBIT_NUM_THREADS: String(threads) },
  });
  return /** @type {{ ms: number, err: number }} */ (JSON.parse(out.trim().split('\n').pop() ?? '{}'));
}

/** @param {string[]} filters case ids must contain one of these (none: all) */
function run(filters = []) {
  ensureOrt();
  const maxThreads = os.availableParallelism();
  const threads = [...new Set([1, maxThreads])];
  const lowbit = require('lowbit');
  const ortVersion = JSON.parse(fs.readFileSync(path.join(depsDir, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version;
  console.log(`\n## Peers: lowbit ${JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version} (${lowbit.cpuInfo().isa}) vs onnxruntime-node ${ortVersion}, ${os.cpus()[0]?.model}, node ${process.version}\n`);
  const rows = [];
  for (const c of CASES) {
    if (filters.length && !filters.some((f) => c.id.includes(f))) continue;
    for (const t of threads) {
      const a = runChild(c, 'lowbit', t), b = runChild(c, 'ort', t);
      rows.push([c.id, t, a.ms.toFixed(3), b.ms.toFixed(3), `${(b.ms / a.ms).toFixed(2)}x`, a.err.toExponential(2), b.err.toExponential(2)]);
      console.error(`${c.id} ${t}T: lowbit ${a.ms.toFixed(3)} ms, ort ${b.ms.toFixed(3)} ms`);
    }
  }
  const ortName = 'ORT MatMulNBits acc4 (fp32: MatMul)';
  printTable(['case (out x in)', 'threads', 'lowbit ms', `${ortName} ms`, 'lowbit speedup', 'lowbit rel. error', 'ORT rel. error'], rows);
}

module.exports = { run, CASES };
