// @ts-check
// Smoke suite in plain JS (no test runner, no TypeScript): quantize, every matmul mode, async and
// error paths, checked against bounds derived from dequantize(). Runs from the repository or from an
// installed tarball, natively or under qemu. LOWBIT_EXPECT_ISA=<name> also checks the chosen kernels;
// LOWBIT_SMOKE_ISAS=chosen runs the checks on that set only (a CPU whose other sets another run covers).
'use strict';
const lowbit = require('lowbit');

let passed = 0;
let failed = 0;
/** @param {boolean} ok @param {string} what */
function check(ok, what) {
  if (ok) passed++;
  else {
    failed++;
    console.error(`not ok: ${what}`);
  }
}

/** @param {number} n @param {number} seed */
function randn(n, seed) {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

const info = lowbit.cpuInfo();
/** The kernel sets the checks run on. */
const isas = process.env.LOWBIT_SMOKE_ISAS === 'chosen' ? [info.isa] : info.isas;
console.log(`lowbit smoke: arch ${info.arch}, isa ${info.isa} of [${info.isas.join(', ')}], ${info.threads} threads, features [${info.features.join(', ')}]`);
if (process.env.LOWBIT_EXPECT_ISA) check(info.isa === process.env.LOWBIT_EXPECT_ISA, `isa is ${process.env.LOWBIT_EXPECT_ISA} (got ${info.isa})`);

/** @type {[number, number, import('lowbit').QuantizeOptions][]} */
const layouts = [
  [24, 128, { bits: 4 }],
  [19, 256, { bits: 4, scheme: 'asymmetric', granularity: 'row' }],
  [16, 96, { bits: 8, granularity: 'column' }],
  [9, 128, { bits: 8, scheme: 'asymmetric', groupSize: 64 }],
  [7, 45, { bits: 4, scheme: 'asymmetric', granularity: 'column' }], // scalar fallback shape
];

async function main() {
  let seed = 1;
  for (const isa of isas) {
    lowbit.setIsa(isa);
    for (const [rows, cols, opts] of layouts) {
      const w = randn(rows * cols, seed++);
      const q = lowbit.quantize(w, rows, cols, opts);
      const wh = lowbit.dequantize(q);
      const tag = `${isa} ${rows}x${cols} ${JSON.stringify(opts)}`;
      check(lowbit.quantizationError(w, q).relativeError < (opts.bits === 8 ? 0.02 : 0.2), `${tag}: quantization error`);
      const qa = await lowbit.quantizeAsync(w, rows, cols, opts);
      check(Buffer.from(qa.data).equals(Buffer.from(q.data)), `${tag}: quantizeAsync`);
      for (const m of [1, 5]) {
        const x = randn(m * cols, seed++);
        const yf = lowbit.matmul(x, q, { activations: 'float' });
        const yi = lowbit.matmul(x, q, { activations: 'int8' });
        const ya = await lowbit.matmulAsync(x, q, { activations: 'int8' });
        check(Buffer.from(ya.buffer).equals(Buffer.from(yi.buffer)), `${tag} m=${m}: matmulAsync equals matmul`);
        // Prepared weights: the same integer sums, float terms in another order.
        const p = lowbit.prepare(q);
        const yp = lowbit.matmul(x, p);
        const tol = (/** @type {number} */ v) => 1e-5 * (Math.abs(v) + 1);
        check(yp.every((v, k) => Math.abs(v - yi[k]) <= tol(yi[k]) * 64), `${tag} m=${m}: prepared (${p.layout}) equals matmul`);
        p.dispose();
        for (let i = 0; i < m; i++) {
          // Block scales of the int8 activations (column granularity: of x * column scales).
          const xs = Float32Array.from({ length: cols }, (_, c) => x[i * cols + c] * (q.granularity === 'column' ? q.scales[c] : 1));
          for (let j = 0; j < rows; j++) {
            let exact = 0, mag = 0, quantErr = 0;
            for (let c = 0; c < cols; c++) {
              const v = x[i * cols + c] * wh[j * cols + c];
              exact += v;
              mag += Math.abs(v);
              let amax = 0;
              for (let k = c - (c % 32); k < Math.min(cols, c - (c % 32) + 32); k++) amax = Math.max(amax, Math.abs(xs[k]));
              const unit = q.granularity === 'column' ? q.scales[c] || 1 : 1;
              quantErr += ((amax / 127) / 2) * Math.abs(wh[j * cols + c] / unit);
            }
            const y = i * rows + j;
            check(Math.abs(yf[y] - exact) <= 1e-5 * mag + 1e-30, `${tag} m=${m} float y[${i},${j}]`);
            // int8 activations err by at most half a step per element, plus fp32 rounding.
            check(Math.abs(yi[y] - exact) <= quantErr * 1.001 + 1e-5 * mag + 1e-30, `${tag} m=${m} int8 y[${i},${j}]`);
          }
        }
      }
    }
  }
  lowbit.setIsa(info.isa);

  // Every other format on every kernel set: the float path against x · dequantize(w)ᵀ (each product
  // rounds once, k fp32 additions in any order: (k + 1) 2^-24 of sum |x w^|), the int8 path against
  // the scalar kernels' (same integer sums; 1e-5 of the terms' magnitude covers the accumulation order).
  /** @type {import('lowbit').Format[]} */
  const fmts = ['q4_0', 'q8_0', 'nf4', 'fp8_e4m3', 'fp8_e5m2', 'mxfp4', 'nvfp4', 'bnb_fp4', 'q4_k', 'q5_k', 'q6_k'];
  for (const format of fmts) {
    const rows = 24, cols = format.endsWith('_k') ? 256 : 128, m = 3;
    const w = randn(rows * cols, seed++), x = randn(m * cols, seed++);
    const q = lowbit.quantize(w, rows, cols, { format });
    const wh = lowbit.dequantize(q);
    const int8 = lowbit.formats().find((f) => f.format === format)?.activations.includes('int8');
    lowbit.setIsa('scalar');
    const yRef = int8 ? lowbit.matmul(x, q, { activations: 'int8' }) : null;
    for (const isa of isas) {
      lowbit.setIsa(isa);
      const yf = lowbit.matmul(x, q, { activations: 'float' });
      const yi = int8 ? lowbit.matmul(x, q) : null;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < rows; j++) {
          let exact = 0, mag = 0;
          for (let c = 0; c < cols; c++) {
            exact += x[i * cols + c] * wh[j * cols + c];
            mag += Math.abs(x[i * cols + c] * wh[j * cols + c]);
          }
          const y = i * rows + j;
          check(Math.abs(yf[y] - exact) <= (cols + 1) * 2 ** -24 * mag, `${isa} ${format} float y[${i},${j}]`);
          if (yi && yRef) check(Math.abs(yi[y] - yRef[y]) <= 1e-5 * 1.1 * mag + 1e-30, `${isa} ${format} int8 y[${i},${j}]`);
        }
      }
    }
  }
  lowbit.setIsa(info.isa);

  const q = lowbit.quantize(randn(8 * 64, 99), 8, 64, { bits: 4 });
  /** @type {[string, () => unknown, Function][]} */
  const errors = [
    ['quantize: non-Float32Array', () => lowbit.quantize(/** @type {any} */ ([1, 2]), 1, 2, { bits: 4 }), TypeError],
    ['quantize: NaN', () => lowbit.quantize(new Float32Array([NaN, 1]), 1, 2, { bits: 8, granularity: 'row' }), RangeError],
    ['quantize: bad groupSize', () => lowbit.quantize(new Float32Array(64), 1, 64, { bits: 8, groupSize: 48 }), RangeError],
    ['dequantize: short data', () => lowbit.dequantize({ ...q, data: q.data.subarray(1) }), RangeError],
    ['matmul: wrong x length', () => lowbit.matmul(new Float32Array(63), q), RangeError],
    ['matmul: bad out', () => lowbit.matmul(new Float32Array(64), q, { out: new Float32Array(7) }), RangeError],
    ['setIsa: unknown', () => lowbit.setIsa(/** @type {any} */ ('mmx')), RangeError],
    ['setThreads: 0', () => lowbit.setThreads(0), RangeError],
    ['quantize: q4_0 with 48 columns', () => lowbit.quantize(new Float32Array(48), 1, 48, { format: 'q4_0' }), RangeError],
    ['matmul: fp8 with int8 activations', () => lowbit.matmul(new Float32Array(32), lowbit.quantize(new Float32Array(32), 1, 32, { format: 'fp8_e4m3' }), { activations: 'int8' }), RangeError],
  ];
  for (const [name, fn, ctor] of errors) {
    let err;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    check(err instanceof ctor, `${name} throws ${ctor.name} (got ${err})`);
  }
  /** @type {unknown} */
  let rejected;
  await lowbit.matmulAsync(new Float32Array(63), q).catch((e) => (rejected = e));
  check(rejected instanceof RangeError, 'matmulAsync rejects bad input');

  fileChecks();
  textChecks();
  await modelChecks();
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

/**
 * Model files in a folder and under a name with non-ASCII characters (on Windows a path with a drive
 * letter and backslashes): a GGUF written, mapped, multiplied as stored and after prepare; a GPTQ layer
 * through safetensors; and what replacing a mapped file does (POSIX: the name is replaced, the mapping
 * keeps the old bytes; Windows: refused with EPERM, the old file intact, no temporary file left).
 */
function fileChecks() {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-smoke-'));
  const file = path.join(dir, 'm\u00f6del \u6a21\u578b.gguf');
  const rows = 64, cols = 256;
  const w = randn(rows * cols, 11);
  const x = randn(cols, 12);
  const q = lowbit.quantize(w, rows, cols, { format: 'q4_k' });
  lowbit.writeGGUF(file, { metadata: { 'general.name': 'smoke' }, tensors: { 'blk.0.ffn_down.weight': q } });
  const f = lowbit.openGGUF(file);
  const view = f.matrix('blk.0.ffn_down.weight');
  const want = lowbit.matmul(x, q);
  const got = lowbit.matmul(x, view);
  check(got.every((v, i) => v === want[i]), `GGUF under ${file}: the mapped tensor multiplies as the one written`);
  const prepared = lowbit.prepare(view);
  const gp = lowbit.matmul(x, prepared);
  check(gp.every((v, i) => Math.abs(v - want[i]) <= 1e-3 * (1 + Math.abs(want[i]))), 'GGUF: prepared from the mapping');
  prepared.dispose();
  let err;
  try {
    lowbit.writeGGUF(file, { metadata: { 'general.name': 'replaced' }, tensors: { 'blk.0.ffn_down.weight': q } });
  } catch (e) {
    err = e;
  }
  const left = fs.readdirSync(dir);
  if (process.platform === 'win32') {
    check(err instanceof lowbit.LowbitFileError && /** @type {any} */ (err).code === 'EPERM' && /memory-mapped/.test(String(err)), `win32: replacing a mapped file is refused (${err})`);
  } else {
    check(err === undefined, `replacing a mapped file (${err})`);
  }
  check(left.length === 1, `no temporary file left (${left.join(', ')})`);
  if (process.platform === 'win32') {
    // The mapping's file is shared for reading only: nothing can truncate it under the mapping (on POSIX
    // a truncation would fault the process on the pages that went; docs/files.md).
    let terr;
    try {
      fs.truncateSync(file, 16);
    } catch (e) {
      terr = /** @type {NodeJS.ErrnoException} */ (e);
    }
    // (Windows reports ERROR_USER_MAPPED_FILE, which libuv has no name for: code 'UNKNOWN'.)
    check(terr !== undefined && fs.statSync(file).size > 16, `win32: truncating a mapped file is refused (${terr?.code})`);
  }
  check(lowbit.matmul(x, view).every((v, i) => v === want[i]), 'the mapping still reads what it mapped');
  f.close();
  // A GPTQ layer through safetensors (int4, group 128, fp16 scales as GPTQ stores them).
  const gq = lowbit.quantize(w, rows, cols, { bits: 4, groupSize: 128, scaleType: 'float16' });
  const exp = lowbit.exportLinear(gq, { layout: 'gptq', prefix: 'model.layers.0.mlp.down_proj' });
  const st = path.join(dir, 'model.safetensors');
  lowbit.writeSafetensors(st, exp.tensors);
  fs.writeFileSync(path.join(dir, 'quantize_config.json'), JSON.stringify(exp.quantization_config));
  const sf = lowbit.openSafetensors(st);
  const layer = lowbit.importLinear(sf, 'model.layers.0.mlp.down_proj');
  const b = layer.source === 'float' ? undefined : lowbit.matmul(x, layer.matrix);
  const a = lowbit.matmul(x, gq);
  check(b !== undefined && a.every((v, i) => Math.abs(v - b[i]) <= 1e-4 * (1 + Math.abs(v))), 'safetensors: a GPTQ layer imports as exported');
  sf.close();
}

/**
 * lowbit/llm on a one-layer llama written here (q4_0 matrices, F32 norms): loaded from its mapping (the
 * repacked matrices' pages dropped afterwards), a prefill and steps agreeing with the same tokens run
 * another way, a batched step, and an async generation.
 */
async function modelChecks() {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { loadModel } = require('lowbit/llm');
  const embd = 64, ff = 128, heads = 4, vocab = 96;
  let seed = 21;
  const mat = (/** @type {number} */ rows, /** @type {number} */ cols) =>
    lowbit.quantize(randn(rows * cols, seed++).map((v) => v / Math.sqrt(cols)), rows, cols, { format: 'q4_0' });
  const ones = (/** @type {number} */ n) => ({ type: 'F32', shape: [n], data: new Float32Array(n).fill(1) });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-smoke-')), 'llama.gguf');
  lowbit.writeGGUF(file, {
    metadata: {
      'general.architecture': 'llama', 'llama.context_length': 64, 'llama.embedding_length': embd, 'llama.block_count': 1,
      'llama.feed_forward_length': ff, 'llama.rope.dimension_count': embd / heads, 'llama.attention.head_count': heads,
      'llama.attention.head_count_kv': heads, 'llama.attention.layer_norm_rms_epsilon': 1e-5, 'llama.rope.freq_base': 10000,
    },
    types: {
      'llama.context_length': 'uint32', 'llama.embedding_length': 'uint32', 'llama.block_count': 'uint32', 'llama.feed_forward_length': 'uint32',
      'llama.rope.dimension_count': 'uint32', 'llama.attention.head_count': 'uint32', 'llama.attention.head_count_kv': 'uint32',
      'llama.attention.layer_norm_rms_epsilon': 'float32', 'llama.rope.freq_base': 'float32',
    },
    tensors: /** @type {any} */ ({
      'token_embd.weight': mat(vocab, embd), 'blk.0.attn_norm.weight': ones(embd), 'blk.0.attn_q.weight': mat(embd, embd),
      'blk.0.attn_k.weight': mat(embd, embd), 'blk.0.attn_v.weight': mat(embd, embd), 'blk.0.attn_output.weight': mat(embd, embd),
      'blk.0.ffn_norm.weight': ones(embd), 'blk.0.ffn_gate.weight': mat(ff, embd), 'blk.0.ffn_up.weight': mat(ff, embd),
      'blk.0.ffn_down.weight': mat(embd, ff), 'output_norm.weight': ones(embd), 'output.weight': mat(vocab, embd),
    }),
  });
  const model = loadModel(file);
  const a = model.createSession(), b = model.createSession();
  const prompt = [1, 5, 9, 13];
  const all = a.prefill(prompt, { allLogits: true });
  /** @type {Float32Array | undefined} */
  let last;
  for (const t of prompt) last = b.step(t);
  const tail = all.subarray((prompt.length - 1) * vocab);
  check(last !== undefined && tail.every((v, i) => v === last[i]), 'llm: a prefill and steps give the same logits');
  const both = model.decodeBatch([a, b], [7, 7]);
  check(both.subarray(0, vocab).every((v, i) => v === both[vocab + i]), 'llm: a batched step gives each session its logits');
  const g = model.generate(prompt, { maxTokens: 5, temperature: 0 });
  /** @type {number[]} */
  const tokens = [];
  for await (const x of g) if (x.token !== null) tokens.push(x.token);
  check(tokens.length === 5 && g.stats.finishReason === 'length', `llm: an async generation (${tokens.join(' ')})`);
  a.dispose();
  b.dispose();
  model.dispose();
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

/**
 * lowbit/llm's tokenizer and chat template from an installed package: its JavaScript dependencies
 * (@huggingface/tokenizers, @huggingface/jinja) resolve and run. A byte-level vocabulary of the 256 byte
 * characters and two merges, written as GGUF metadata.
 */
function textChecks() {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { loadTokenizer } = require('lowbit/llm');
  const chars = [];
  let extra = 256; // GPT-2's byte-level alphabet: printable bytes stand for themselves, the others from U+0100
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars.push(String.fromCharCode(printable ? b : extra++));
  }
  const tokens = chars.concat(['He', 'll', '<|im_end|>']);
  const types = new Int32Array(tokens.length).fill(1);
  types[tokens.length - 1] = 3;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-smoke-')), 'vocab.gguf');
  lowbit.writeGGUF(file, {
    metadata: {
      'general.architecture': 'llama', 'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.pre': 'qwen2', 'tokenizer.ggml.tokens': tokens,
      'tokenizer.ggml.token_type': types, 'tokenizer.ggml.merges': ['H e', 'l l'], 'tokenizer.ggml.eos_token_id': tokens.length - 1,
    },
    types: { 'tokenizer.ggml.eos_token_id': 'uint32' },
    tensors: [],
  });
  const tok = loadTokenizer(file);
  const text = 'Hello, w\u00f6rld \u{1F680}<|im_end|>';
  const ids = tok.encode(text);
  check(ids[0] === 256 && ids[1] === 257 && ids[ids.length - 1] === tokens.length - 1, `tokenizer: merges and a special token (${ids.join(' ')})`);
  check(tok.decode(ids, { special: true }) === text, 'tokenizer: decode(encode(s)) == s');
  check(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }]) === '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n', 'chat template (ChatML)');
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
