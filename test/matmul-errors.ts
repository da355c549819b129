// matmul's and the CPU controls' bad input: clear TypeError / RangeError, sync and async, never a crash.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { cpuInfo, matmul, matmulAsync, matmulF32, probe, quantize, setIsa, setThreads, type QuantizedMatrix } from 'lowbit';
import { randn } from './helpers';

const w = quantize(randn(8 * 64, 3), 8, 64, { bits: 4 });
const x = randn(2 * 64, 4);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const mm = matmul as (...a: any[]) => Float32Array;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const mmAsync = matmulAsync as (...a: any[]) => Promise<Float32Array>;

const cases: [string, unknown[], ErrorConstructor, RegExp][] = [
  ['x not a Float32Array', [Array.from(x), w], TypeError, /x must be a Float32Array \(got an Array\)/],
  ['x a Float64Array', [new Float64Array(128), w], TypeError, /x must be a Float32Array \(got a Float64Array\)/],
  ['x length not a multiple of cols', [x.subarray(1), w], RangeError, /x.length \(127\) must be a positive multiple of w.cols \(64\)/],
  ['x empty', [new Float32Array(0), w], RangeError, /x.length \(0\) must be a positive multiple/],
  ['w not an object', [x, 'weights'], TypeError, /w must be a QuantizedMatrix object/],
  ['w foreign object', [x, { rows: 8, cols: 64 }], TypeError, /w.bits must be 4 or 8 \(got undefined\)/],
  ['w short data', [x, { ...w, data: w.data.subarray(4) }], RangeError, /w.data has 252 bytes; a 8x64 matrix in 4-bit codes needs 256/],
  ['w wrong scales', [x, { ...w, scales: new Float32Array(3) }], RangeError, /w.scales has 3 values; granularity 'group' needs 16/],
  ['out wrong length', [x, w, { out: new Float32Array(15) }], RangeError, /options.out.length \(15\) must be m \* w.rows \(2 \* 8\)/],
  ['out not Float32Array', [x, w, { out: new Float64Array(16) }], TypeError, /options.out must be a Float32Array/],
  ['out aliasing x', [x, w, { out: x.subarray(0, 16) }], RangeError, /options.out must not share memory with x or w/],
  ['unknown activations', [x, w, { activations: 'fp16' }], RangeError, /options.activations must be 'float' or 'int8' \(got the string 'fp16'\)/],
  ['unknown option', [x, w, { threads: 2 }], RangeError, /unknown option 'threads'; allowed: out, activations/],
  ['options not an object', [x, w, 5], TypeError, /options must be an object/],
  ['NaN in x with int8 activations', [Float32Array.from(x, (v, i) => (i === 5 ? NaN : v)), w], RangeError, /x \(with activations 'int8'.*\)\[5\] is NaN/],
];

for (const [name, args, ctor, msg] of cases) {
  t.test(`matmul: ${name}`, async (t) => {
    t.throws(() => mm(...args), { constructor: ctor, message: msg });
    await t.rejects(mmAsync(...args), { constructor: ctor, message: msg });
  });
}

t.test('NaN in x propagates with float activations', async (t) => {
  const y = matmul(Float32Array.from(x, (v, i) => (i === 5 ? NaN : v)), w, { activations: 'float' });
  t.ok(Number.isNaN(y[0]) && Number.isFinite(y[8]), 'row 0 is NaN, row 1 is not');
});

t.test('matmulF32 checks its arguments', async (t) => {
  const wf = randn(8 * 64, 5);
  const y = matmulF32(x, wf, 8, 64);
  let exact = 0;
  for (let c = 0; c < 64; c++) exact += x[c] * wf[c];
  t.ok(Math.abs(y[0] - exact) < 1e-4, 'computes x * w^T');
  t.throws(() => matmulF32(x, wf, 8, 63), { constructor: RangeError, message: /w.length \(512\) must equal rows \* cols \(504\)/ });
  t.throws(() => matmulF32(x, wf, 8, 64, new Float32Array(3)), { constructor: RangeError, message: /out.length \(3\)/ });
  t.throws(() => matmulF32(x, wf, 8, 64, x.subarray(0, 16)), { constructor: RangeError, message: /must not share memory/ });
});

t.test('cpuInfo, setIsa, setThreads', async (t) => {
  const info = cpuInfo();
  t.match(info, { arch: String, isa: String, threads: Number });
  t.ok(info.isas.includes('scalar'), 'scalar is always available');
  t.equal(info.isa, info.isas[0], 'the best kernel set is chosen by default');
  t.throws(() => setIsa('sse9' as never), { constructor: RangeError, message: /setIsa: unknown ISA 'sse9'; this machine can use/ });
  const missing = ['avx512vnni', 'neon-i8mm'].find((n) => !info.isas.includes(n as never))!;
  t.throws(() => setIsa(missing as never), { constructor: RangeError, message: new RegExp(`setIsa: ISA '${missing}' is not`) });
  t.throws(() => setIsa(4 as never), { constructor: TypeError, message: /setIsa: name must be a string \(got the number 4\)/ });
  t.throws(() => setThreads(0), { constructor: RangeError, message: /setThreads: n must be a positive integer \(got 0\)/ });
  t.throws(() => setThreads(1.5), { constructor: RangeError, message: /positive integer/ });
  t.throws(() => setThreads('2' as never), { constructor: TypeError, message: /positive integer/ });
  t.throws(() => setThreads(5000), { constructor: RangeError, message: /at most 1024/ });
  t.equal(cpuInfo().isa, info.isa, 'failed calls change nothing');
  t.equal(cpuInfo().threads, info.threads);
  t.throws(() => probe('flops' as never), { constructor: RangeError, message: /probe: kind must be 'bandwidth', 'fma' or 'dot'/ });
});

t.test('LOWBIT_ISA and LOWBIT_NUM_THREADS at load', async (t) => {
  const run = (env: Record<string, string>) =>
    execFileSync(process.execPath, ['-e', "const l=require('lowbit');process.stdout.write(JSON.stringify(l.cpuInfo()))"], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const scalar = JSON.parse(run({ LOWBIT_ISA: 'scalar', LOWBIT_NUM_THREADS: '3' }));
  t.equal(scalar.isa, 'scalar');
  t.equal(scalar.threads, 3);
  try {
    run({ LOWBIT_ISA: 'avx512vnni-typo' });
    t.fail('loading with a bad LOWBIT_ISA must throw');
  } catch (e) {
    t.match(String((e as { stderr: string }).stderr), /RangeError: lowbit: LOWBIT_ISA: unknown ISA 'avx512vnni-typo'/);
  }
});

t.test('a QuantizedMatrix whose fields change after matmulAsync starts still computes', async (t) => {
  const q: QuantizedMatrix = { ...w, data: w.data.slice() };
  const p = matmulAsync(x, q);
  q.data = new Uint8Array(0); // the worker holds the original buffer
  t.same(await p, matmul(x, w));
});
