// Shared test helpers: a seeded PRNG, matrix generators and the NumPy reference runner.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpuInfo, type Isa, type QuantizedMatrix } from 'lowbit';

import { gaussian, mulberry32 } from '../scripts/rng';

/** mulberry32 (scripts/rng.js): small, seeded, reproducible. */
export const rng = mulberry32;
export { gaussian };

export function randn(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = gaussian(r);
  return out;
}

/** Python with NumPy: LOWBIT_PYTHON, else python3, else Debian's /usr/bin/python3. */
export function findPython(): string {
  const candidates = [process.env.LOWBIT_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean) as string[];
  for (const py of candidates) {
    try {
      execFileSync(py, ['-c', 'import numpy'], { stdio: 'ignore' });
      return py;
    } catch {
      // try the next one
    }
  }
  throw new Error('the reference tests need python3 with numpy (apt-get install python3-numpy, or set LOWBIT_PYTHON)');
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function readF32(file: string): Float32Array {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice();
}

export function writeF32(file: string, a: Float32Array): void {
  fs.writeFileSync(file, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
}

export const fixturePath = (name: string): string => path.join(__dirname, 'fixtures', name);

/** One malformed file and what opening it must say. */
export interface BadFileCase {
  what: string;
  bytes: Uint8Array;
  field: string;
  message: RegExp;
  code: string;
}

/**
 * Writes each case to `path` and checks that `open` refuses it with a LowbitFileError of the case's code,
 * field and message, whose message starts with `prefix(err)` (the function, the file and the field).
 */
export function checkBadFiles(
  tt: { ok(v: unknown, m: string): void; equal(a: unknown, b: unknown, m: string): void; match(a: unknown, b: RegExp, m: string): void; fail(m: string): void },
  cases: BadFileCase[],
  path: string,
  open: (p: string) => unknown,
  format: 'gguf' | 'safetensors',
  prefix: (err: { field?: string; offset?: number }) => string,
): void {
  for (const c of cases) {
    fs.writeFileSync(path, c.bytes);
    try {
      open(path);
      tt.fail(`${c.what}: opened`);
    } catch (e) {
      const err = e as Error & { code?: string; path?: string; format?: string; field?: string; offset?: number };
      tt.equal(err.name, 'LowbitFileError', `${c.what}: a LowbitFileError`);
      tt.equal(err.code, c.code, `${c.what}: code`);
      tt.equal(`${err.path} ${err.format}`, `${path} ${format}`, `${c.what}: path and format`);
      tt.equal(err.field, c.field, `${c.what}: field`);
      tt.match(err.message, c.message, `${c.what}: message`);
      tt.ok(err.message.startsWith(prefix(err)), `${c.what}: the message starts with '${prefix(err)}'`);
    }
  }
}

/**
 * The kernel sets the JS tests multiply on: the one dispatch chose and scalar. Each set's numerics
 * against the scalar reference are the native tests' (csrc/tests, every set natively and through SIMDe);
 * these tests own the binding's contract. LOWBIT_TEST_ALL_ISAS=1 runs every set this CPU has.
 */
export function testedIsas(): Isa[] {
  const all = cpuInfo().isas;
  return process.env.LOWBIT_TEST_ALL_ISAS === '1' ? all : [...new Set([all[0], 'scalar' as Isa])];
}

/**
 * Whether two typed arrays hold the same bytes: what `t.same` checks for them, without its element-by-
 * element walk (seconds for a million floats). Bit patterns, so -0 differs from 0 and NaNs compare equal.
 */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Two QuantizedMatrix objects are the same: every field, and every buffer byte for byte. */
/**
 * The 4-bit code of column `c` of a row of `cols` codes starting at `row[at]`, as QuantizedMatrix's docs
 * define it: blocks of 32 columns (fewer at the end) split into a low-nibble half and a high-nibble half.
 */
export function nibbleAt(row: Uint8Array, at: number, cols: number, c: number): number {
  const b0 = c - (c % 32);
  const half = Math.ceil(Math.min(32, cols - b0) / 2);
  const i = c - b0;
  return i < half ? row[at + b0 / 2 + i] & 15 : row[at + b0 / 2 + i - half] >> 4;
}

export function sameMatrix(a: QuantizedMatrix, b: QuantizedMatrix): boolean {
  const { data: ad, scales: as, zeros: az, ...ar } = a;
  const { data: bd, scales: bs, zeros: bz, ...br } = b;
  return JSON.stringify(ar) === JSON.stringify(br) && sameBytes(ad, bd) && sameBytes(as, bs) &&
    (az === null ? bz === null : bz !== null && sameBytes(az, bz));
}

/** A tokenizer trained for the tests (test/fixtures/tokenizers/NAME.json): its GGUF metadata. */
export function tokenizerFixture(name: 'spm' | 'llama-bpe' | 'qwen2' | 'gpt2' | 'smollm'): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'tokenizers', `${name}.json`), 'utf8')).metadata;
}

/** A chat template of test/fixtures/tokenizers/chat-templates.json (llama3, chatml, zephyr, mistral, ...). */
export function chatTemplate(name: string): string {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'tokenizers', 'chat-templates.json'), 'utf8')).templates[name];
}

/**
 * A small random llama (2 layers, embd 128) that speaks text: the trained SentencePiece vocabulary and a
 * chat template. `types` and `seed` as writeRandomModel takes them.
 */
export function writeTextModel(file: string, o: { template: string; type: 'Q4_0' | 'Q8_0'; seed: number }): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { writeRandomModel } = require('../scripts/random-model') as typeof import('../scripts/random-model');
  const vocab = tokenizerFixture('spm');
  writeRandomModel(file, {
    arch: 'llama', layers: 2, embd: 128, ff: 256, heads: 4, headsKv: 2, vocab: (vocab['tokenizer.ggml.tokens'] as string[]).length,
    types: { default: o.type }, logitScale: 6, seed: o.seed, tokenizer: { ...vocab, 'tokenizer.chat_template': chatTemplate(o.template) },
  });
}
