// @ts-check
// `npm run bench -- llm [file.gguf...]`: whole models, lowbit beside llama.cpp (node-llama-cpp, pinned,
// installed on first use into bench/peers/.deps) on the same files and thread counts: pp512 and tg128
// tokens/s as llama-bench measures them, each library in its own process, medians of 3 runs; lowbit's
// read roofline and where its tokens' time went. Without files it writes TinyLlama-1.1B-shaped
// random-weight GGUFs (q4_0, q8_0 and a Q4_K_M-like mix) into bench/llm/.models once and uses those.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { printTable } = require('../common');

const NODE_LLAMA_CPP = '3.21.1';
const depsDir = path.join(__dirname, '..', 'peers', '.deps');
const modelsDir = path.join(__dirname, '.models');

/** The platform package holding node-llama-cpp's prebuilt CPU binaries for this machine. */
function platformPackage() {
  const plat = { linux: 'linux', darwin: 'mac', win32: 'win' }[/** @type {string} */ (process.platform)];
  if (!plat) throw new Error(`node-llama-cpp ships no prebuilt binaries for ${process.platform}`);
  const metal = process.platform === 'darwin' && process.arch === 'arm64' ? '-metal' : '';
  return `@node-llama-cpp/${plat}-${process.arch}${metal}`;
}

function ensureNodeLlamaCpp() {
  const pkg = path.join(depsDir, 'node_modules', 'node-llama-cpp', 'package.json');
  if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).version === NODE_LLAMA_CPP) return;
  const platform = `${platformPackage()}@${NODE_LLAMA_CPP}`;
  console.error(`installing node-llama-cpp@${NODE_LLAMA_CPP} and ${platform} into ${depsDir} (once; its CPU binaries ship in that package)`);
  fs.mkdirSync(depsDir, { recursive: true });
  if (!fs.existsSync(path.join(depsDir, 'package.json'))) {
    fs.writeFileSync(path.join(depsDir, 'package.json'), JSON.stringify({ name: 'lowbit-bench-peers', private: true }));
  }
  // --omit=optional: its other optional packages are CUDA and Vulkan builds (hundreds of MB) this benchmark does not use.
  execFileSync('npm', ['install', '-E', '--ignore-scripts', '--omit=optional', '--no-audit', '--no-fund', `node-llama-cpp@${NODE_LLAMA_CPP}`, platform], {
    cwd: depsDir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** The three TinyLlama-shaped files, written once. */
function defaultFiles() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { writeTinyLlamaShaped } = require('../../scripts/random-model');
  fs.mkdirSync(modelsDir, { recursive: true });
  return /** @type {const} */ (['q4_0', 'q8_0', 'q4_k_m']).map((mix) => {
    const file = path.join(modelsDir, `tinyllama-1.1b-shaped-random-${mix}.gguf`);
    if (!fs.existsSync(file)) {
      console.error(`writing ${file}`);
      writeTinyLlamaShaped(file, mix);
    }
    return file;
  });
}

/** @param {string[]} args */
function child(args) {
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}');
}

/** @param {string[]} args files (none: the TinyLlama-shaped ones) */
function run(args) {
  const files = args.length ? args : defaultFiles();
  ensureNodeLlamaCpp();
  const lowbit = require('lowbit');
  const threadCounts = [...new Set([1, os.availableParallelism()])];
  const pp = 512, tg = 128, reps = 3;
  console.log(`\n## Models: lowbit beside llama.cpp (node-llama-cpp ${NODE_LLAMA_CPP}), pp${pp} and tg${tg} tokens/s, medians of ${reps}\n`);
  /** @type {string[][]} */
  const rows = [];
  for (const file of files) {
    const f = lowbit.openGGUF(file);
    const vocab = f.info('token_embd.weight').rows;
    f.close();
    for (const threads of threadCounts) {
      const ours = child([path.join(__dirname, 'lowbit-child.js'), file, String(threads), String(pp), String(tg), String(reps)]);
      const theirs = child([path.join(__dirname, 'llama-child.mjs'), file, String(threads), String(pp), String(tg), String(reps), String(vocab)]);
      for (const r of ours.results) {
        const peer = theirs.results.find((/** @type {{ test: string }} */ x) => x.test === r.test);
        const roof = r.rooflineTokensPerSecond;
        rows.push([
          path.basename(file), String(threads), `${r.test}${r.tokens}`, r.tokensPerSecond.toFixed(1), peer ? peer.tokensPerSecond.toFixed(1) : '',
          peer ? `${(r.tokensPerSecond / peer.tokensPerSecond).toFixed(2)}x` : '',
          roof ? `${((r.tokensPerSecond / roof) * 100).toFixed(0)}% / ${peer ? ((peer.tokensPerSecond / roof) * 100).toFixed(0) : '?'}%` : '',
          roof ? `${(r.readBandwidth / 1e9).toFixed(1)} GB/s, ${roof.toFixed(1)}` : '',
          `${r.msPerToken.matmul.toFixed(2)} / ${r.msPerToken.attention.toFixed(2)} / ${r.msPerToken.other.toFixed(2)} / ${r.msPerToken.call.toFixed(3)}`,
        ]);
      }
    }
  }
  printTable(['file', 'threads', 'test', 'lowbit tok/s', 'llama.cpp tok/s', 'lowbit / llama.cpp', 'of roofline (lowbit / llama.cpp)', 'read probe, roofline tok/s', 'lowbit ms/token: products / attention / rest / call'], rows);
}

module.exports = { run, defaultFiles, ensureNodeLlamaCpp, NODE_LLAMA_CPP };
