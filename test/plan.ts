// The planner and the `lowbit` command: the spec's fleet exercise worked out here from its own data,
// KV-cache arithmetic with grouped-query attention, bits per weight against formats(), measured CPU
// plans, bad specs, CLI exit codes and the --json contract.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { formats, measureMachine, MODEL_PRESETS, plan, readMachineMeasurement, resolvePrecision, type MachineMeasurement, type PlanSpec } from 'lowbit';
import { main } from '../dist/cli';
import { tmpDir } from './helpers';

// Rates are a division or two away from the formula written here: equal to a few ulps.
const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-12 * Math.abs(b);

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
/** `lowbit ...args` in its own process: the exit code and the streams as a user sees them. */
function spawnCli(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
/** The same command in this process (main() of the built CLI), its output captured: milliseconds, not a Node start. */
async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const [write, writeErr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((c: string | Uint8Array) => out.push(String(c)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => err.push(String(c)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}

// The exercise: a 70B model, FP16 "about 140 GB"; nodes of four 40 GB GPUs; 30% of memory reserved;
// twelve replicas.
const P = 70e9;
const GPU = 40e9;
const PER_NODE = 4;
const RESERVE = 0.3;
const REPLICAS = 12;
const exercise = { model: { params: P }, node: { deviceMemory: GPU, devicesPerNode: PER_NODE, reserve: RESERVE }, replicas: REPLICAS };

t.test('the exercise: nodes per replica, total GPUs and the fleet reduction', async (t) => {
  const p = plan(exercise);
  t.same(p.rows.map((r) => r.precision), ['fp16', 'int8', 'int4'], 'no precision given: fp16, int8, int4');
  const usablePerGpu = 28e9; // 40 GB less 30%
  const usablePerNode = PER_NODE * usablePerGpu; // 112 GB
  for (const [row, bytesPerParam] of [[p.rows[0], 2], [p.rows[1], 1], [p.rows[2], 0.5]] as const) {
    const bytes = P * bytesPerParam; // 140, 70, 35 GB
    t.equal(row.weightBytes, bytes, `${row.precision}: ${bytes / 1e9} GB of weights`);
    t.equal(row.usableBytesPerDevice, usablePerGpu);
    t.equal(row.nodesPerReplica, bytes > usablePerNode ? 2 : 1, `${row.precision}: nodes per replica`);
    t.equal(row.devicesPerReplica, Math.ceil(bytes / usablePerGpu));
    // Each replica owns its nodes: every GPU of them counts.
    t.equal(row.totalNodes, REPLICAS * row.nodesPerReplica);
    t.equal(row.totalDevices, REPLICAS * row.nodesPerReplica * PER_NODE);
  }
  t.same(p.rows.map((r) => r.nodesPerReplica), [2, 1, 1]);
  t.same(p.rows.map((r) => r.totalDevices), [96, 48, 48]);
  t.equal(p.rows[2].deviceReduction, 0.5, 'FP16 -> INT4: 96 -> 48 GPUs, 50% fewer');
  t.match(p.assumptions.join('\n'), /KV cache.*not quantized.*grows with batch x context/s, 'says what limits the saving');

  // Packing replicas onto GPUs instead of whole nodes: 5, 3 and 2 GPUs per replica.
  const d = plan({ ...exercise, placement: 'device' });
  t.same(d.rows.map((r) => r.devicesPerReplica), [5, 3, 2]);
  t.same(d.rows.map((r) => r.totalDevices), [60, 36, 24]);
  t.same(d.rows.map((r) => r.totalNodes), [24, 12, 6], 'two INT4 replicas share a node');
  t.equal(d.rows[2].deviceReduction, 1 - 24 / 60);
});

t.test('a KV cache (grouped-query attention) shrinks the saving', async (t) => {
  const model = { linearParams: P, layers: 80, kvHeads: 8, headDim: 128 };
  const batch = 32;
  const context = 8192;
  const p = plan({ ...exercise, model, kvCache: { batch, context } });
  const perToken = 2 /* K and V */ * 80 * 8 * 128 * 2; /* fp16 */
  t.equal(p.kvBytesPerToken, perToken);
  for (const r of p.rows) t.equal(r.kvBytes, perToken * batch * context, 'the cache does not shrink with the weights');
  const devices = (bytes: number) => Math.ceil((bytes + perToken * batch * context) / 28e9);
  t.same(p.rows.map((r) => r.devicesPerReplica), [devices(140e9), devices(70e9), devices(35e9)]);
  t.ok(p.rows[2].deviceReduction < plan(exercise).rows[2].deviceReduction, 'INT4 saves less with the cache counted');
  // Full multi-head attention (64 KV heads) needs 8x the cache of 8 GQA heads.
  t.equal(plan({ ...exercise, model: { ...model, kvHeads: 64 }, kvCache: { batch, context } }).kvBytesPerToken, 8 * perToken);
  t.equal(plan({ ...exercise, model, kvCache: { batch, context, precision: 'fp8' } }).kvBytesPerToken, perToken / 2);
});

t.test('presets count the published parameters', async (t) => {
  const total = (n: string) => {
    const m = MODEL_PRESETS[n];
    return m.linearParams! + m.embeddingParams! + m.otherParams!;
  };
  t.equal(total('llama-7b-class'), 6_738_415_616, 'Llama 2 7B');
  t.equal(total('llama-70b-class'), 70_553_706_496, 'Llama 3 70B');
  const p = plan({ model: 'llama-7b-class', node: { deviceMemory: 64e9 }, precisions: ['q4_0'] });
  const m = MODEL_PRESETS['llama-7b-class'];
  t.equal(p.rows[0].weightBytes, Math.ceil((m.linearParams! * 4.5) / 8) * 1 + Math.ceil((m.embeddingParams! * 4.5) / 8) + m.otherParams! * 2);
});

t.test("lowbit formats' bits per weight are formats()'s", async (t) => {
  const names: Record<string, string> = { int: 'g32', q4_0: '', q8_0: '', q4_k: '', q5_k: '', q6_k: '', q2_k: '', q3_k: '', iq4_xs: '', q4_1: '', q5_0: '', q5_1: '', iq4_nl: '', f16: '', bf16: '', tq1_0: '', tq2_0: '', nf4: 'g64', bnb_fp4: 'g64', mxfp4: '', nvfp4: '', fp8_e4m3: 'row', fp8_e5m2: 'row' };
  for (const f of formats(4096)) {
    const name = f.format === 'int' ? `int${f.bits} ${names.int}` : `${f.format} ${names[f.format]}`;
    const p = resolvePrecision(name, 4096);
    // nvfp4's one fp32 tensor scale is left out of the planner's per-weight cost: 32 / 4096^2 bits.
    const tol = f.format === 'nvfp4' ? 32 / 4096 ** 2 + 1e-12 : 0;
    t.ok(Math.abs(p.bitsPerWeight - f.bitsPerWeight) <= tol, `${name}: ${p.bitsPerWeight} vs ${f.bitsPerWeight}`);
  }
  t.equal(resolvePrecision('int4 g128').bitsPerWeight, 4 + 32 / 128);
  t.equal(resolvePrecision('int4 g128 f16').bitsPerWeight, 4 + 16 / 128);
  t.equal(resolvePrecision('int4-g128-asym').bitsPerWeight, 4 + 40 / 128, 'scale and zero-point per group');
  t.equal(resolvePrecision('int8 row', 8192).bitsPerWeight, 8 + 32 / 8192);
  t.equal(resolvePrecision('int4').bitsPerWeight, 4, "the textbook's ideal width: no scales");
  t.throws(() => resolvePrecision('int5'), { name: 'RangeError', message: /precision: 'int5' is not one of/ });
  t.throws(() => resolvePrecision('int4 g100'), { name: 'RangeError', message: /groupSize \(100\) must divide cols/ });
  t.throws(() => resolvePrecision('q4_0 wide'), { name: 'RangeError', message: /unknown option 'wide'/ });
});

t.test('bad specs name the field', async (t) => {
  const node = { deviceMemory: 40e9 };
  const cases: Array<[unknown, RegExp]> = [
    [{ node }, /model is required/],
    [{ model: {}, node }, /model.params \(or model.linearParams\) is required/],
    [{ model: 'gpt-9', node }, /model: 'gpt-9' is neither a preset \(llama-7b-class, llama-70b-class\) nor a GGUF file/],
    [{ model: { params: 1e9, linearParams: 1e9 }, node }, /params or the breakdown/],
    [{ model: { params: -1 }, node }, /model.params must be >= 1/],
    [{ model: { params: 1e9 } }, /node is required/],
    [{ model: { params: 1e9 }, node: { deviceMemory: 40e9, reserve: 1 } }, /node.reserve must be in \[0, 1\)/],
    [{ model: { params: 1e9 }, node: { deviceMemory: 40e9, devicesPerNode: 2.5 } }, /node.devicesPerNode must be an integer/],
    [{ model: { params: 1e9 }, node, kvCache: { batch: 1, context: 10 } }, /model.layers is required for a KV cache/],
    [{ model: { params: 1e9, layers: 2, kvHeads: 2, headDim: 64 }, node, kvCache: { batch: 1, context: 10, precision: 'int4' } }, /kvCache.precision must be one of/],
    [{ model: { params: 1e9 }, node, target: { tokensPerSecond: 100 } }, /a target load needs a decode rate/],
    [{ model: { params: 1e9 }, node: { ...node, deviceBandwidth: 1e12 }, target: { requestsPerSecond: 2 } }, /target.meanOutputTokens must be a finite number/],
    [{ model: { params: 1e9 }, node, replicas: 0 }, /replicas must be an integer >= 1/],
    [{ model: { params: 1e9 }, node, placement: 'rack' }, /placement must be 'node' or 'device'/],
    [{ model: { params: 1e9 }, node, precisions: ['fp16', 'int5'] }, /precisions\[1\]: 'int5'/],
  ];
  for (const [spec, message] of cases) t.throws(() => plan(spec as never), { message }, String(message));
});

t.test('decode rates and replicas for a load', async (t) => {
  const bw = 2e12;
  const p = plan({ model: { params: 8e9 }, node: { deviceMemory: 80e9, deviceBandwidth: bw }, target: { requestsPerSecond: 5, meanOutputTokens: 400 } });
  const fp16 = p.rows[0];
  t.ok(close(fp16.tokensPerSecondPerReplica, bw / 16e9), 'one sequence: bandwidth / weight bytes');
  t.equal(p.targetTokensPerSecond, 2000);
  t.equal(fp16.replicasForTarget, Math.ceil(2000 / (bw / 16e9)));
  t.equal(fp16.totalDevices, fp16.replicasForTarget);
  t.ok(close(p.rows[2].tokensPerSecondPerReplica, bw / 4e9), 'int4 reads a quarter of the bytes');
  // A batch shares one read of the weights; every sequence reads its own cache.
  const model = { linearParams: 8e9, layers: 32, kvHeads: 8, headDim: 128 };
  const b = plan({ model, node: { deviceMemory: 80e9, deviceBandwidth: bw }, kvCache: { batch: 16, context: 4096 }, precisions: ['int4'] });
  const kv = 2 * 32 * 8 * 128 * 2 * 16 * 4096;
  t.equal(b.rows[0].bytesPerStep, 4e9 + kv);
  t.ok(close(b.rows[0].tokensPerSecondPerReplica, (16 * bw) / (4e9 + kv)));
});

// A measurement as measureMachine() writes it (test/integration/machine.ts measures this machine for real).
const MEASURED: MachineMeasurement = {
  version: 1, date: '2026-12-04T00:00:00.000Z', cpu: 'test CPU', arch: 'x64', isa: 'avx2', threads: 2, memoryBytes: 24e9,
  readBandwidth: 40e9, formats: { 'int4 g128': { bytesPerSecond: 36e9, matrixBytes: 534773760, rows: 122880, cols: 8192, medianSeconds: 0.01485 } },
};

t.test('a CPU machine: planned from its measured GEMV rates, saved and read back', async (t) => {
  const m = MEASURED;
  const f = m.formats['int4 g128'];
  const file = path.join(tmpDir('lowbit-plan-'), 'machine.json');
  fs.writeFileSync(file, JSON.stringify(m));
  const back = readMachineMeasurement(file);
  t.same(back, m);
  const p = plan({ model: { params: 1e9 }, machine: back, precisions: ['int4 g128', 'fp16'] });
  t.equal(p.node.kind, 'cpu');
  t.equal(p.node.deviceMemory, m.memoryBytes);
  t.equal(p.rows[0].bandwidthSource, 'measured gemv');
  t.ok(close(p.rows[0].tokensPerSecondPerReplica, f.bytesPerSecond / Math.ceil((1e9 * 4.25) / 8)), 'GEMV rate / weight bytes');
  t.equal(p.rows[1].bandwidthSource, 'measured read', 'no fp16 GEMV: the read bandwidth');
  const r = plan({ model: { params: 1e9 }, machine: back, node: { reserve: 0.25 }, precisions: ['fp16'] });
  t.equal(r.node.kind, 'cpu');
  t.equal(r.rows[0].usableBytesPerDevice, Math.round(m.memoryBytes * 0.75), "the machine's memory less the reserve");
  const cmd = await run('plan', '--params', '1e9', '--machine', file, '--reserve', '0.25', '--precision', 'int4 g128', '--json');
  t.equal(cmd.code, 0, cmd.err);
  t.equal(JSON.parse(cmd.out).rows[0].bandwidthSource, 'measured gemv');
  fs.writeFileSync(file, JSON.stringify({ ...m, readBandwidth: 'fast' }));
  t.throws(() => readMachineMeasurement(file), { message: /not a lowbit machine measurement/ });
  t.throws(() => measureMachine({ precisions: ['fp16'], matrixBytes: 1 << 20 }), { message: /idealised width/ });
  t.throws(() => measureMachine({ precision: ['q4_0'] } as never), { name: 'RangeError', message: /unknown option 'precision'/ });
});

t.test('the lowbit command', async (t) => {
  // In a process of its own once: what a user runs, exit codes and all.
  const own = spawnCli('plan', '--params', '70e9', '--devices-per-node', '4', '--device-memory', '40e9', '--reserve', '0.3', '--replicas', '12');
  t.equal(own.code, 0, own.err);
  t.match(own.out, /\| int4 +\| 4 +\| 35\.0 /);
  const bad = spawnCli('plan', '--params', 'lots');
  t.same([bad.code, bad.out, bad.err], [2, '', "lowbit: --params: 'lots' is not a count (7e10, 70B, 8K)\n"], 'a bad flag: exit code 2, one line on stderr');
  const ex = await run('plan', '--params', '70e9', '--devices-per-node', '4', '--device-memory', '40e9', '--reserve', '0.3', '--replicas', '12');
  t.equal(ex.code, 0, ex.err);
  t.match(ex.out, /\| int4 +\| 4 +\| 35\.0 /);
  t.match(ex.out, /GB = 10\^9 bytes/);
  const j = await run('plan', '--params', '70e9', '--devices-per-node', '4', '--device-memory', '40GB', '--reserve', '0.3', '--replicas', '12', '--json');
  t.equal(j.code, 0, j.err);
  const out = JSON.parse(j.out) as { rows: Array<Record<string, unknown>> };
  for (const k of ['precision', 'weightBytes', 'kvBytes', 'nodesPerReplica', 'devicesPerReplica', 'totalNodes', 'totalDevices']) {
    t.ok(k in out.rows[0], `rows[].${k}`);
  }
  t.same(out.rows.map((r) => r.totalDevices), [96, 48, 48]);
  t.equal(JSON.parse((await run('plan', '--params', '1e9', '--device-memory', '40GiB', '--json')).out).node.deviceMemory, 40 * 2 ** 30, 'GiB is 2^30');
  for (const [args, message] of [
    [['plan', '--params', 'lots', '--device-memory', '1e9'], /^lowbit: --params: 'lots' is not a count \(7e10, 70B, 8K\)/],
    [['plan', '--params', '70B', '--device-memory', '40XB'], /^lowbit: --device-memory: '40XB' is not a size/],
    [['plan', '--params', '70GB', '--device-memory', '40GB'], /^lowbit: --params: '70GB' is not a count/],
    [['plan', '--params', '7e9', '--device-memory', '40GB', '--reserve', '30%'], /^lowbit: --reserve: '30%' is not a number/],
    [['plan', '--params', '7e9', '--cpu', '--precision', 'int5'], /^lowbit: plan: precisions\[0\]: 'int5' is not one of/],
    [['measure', '--formats', 'int4 g128,int5'], /^lowbit: --formats: 'int5' is not one of/],
    [['measure', '--formats', 'fp16'], /^lowbit: --formats: 'fp16' is an idealised width/],
    [['plan', '--params', '1e9', '--device-memory', '1e9', '--reserve', '2'], /^lowbit: plan: node.reserve must be in/],
    [['plan', '--frobnicate'], /^lowbit: Unknown option '--frobnicate'\n$/],
    [['plan', '--device-memory', '1e9'], /a model is required/],
    [['launch'], /unknown command 'launch'/],
    [[], /usage: lowbit <command>/],
  ] as Array<[string[], RegExp]>) {
    const r = await run(...args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.err + (args.length ? '' : r.out), message);
    if (args.length) t.equal(r.err.trim().split('\n').length, 1, 'one line');
  }
  for (const cmd of ['plan', 'info', 'measure', 'bench']) {
    const h = await run(cmd, '--help');
    t.equal(h.code, 0);
    t.match(h.out, new RegExp(`^usage: lowbit ${cmd}`));
  }
  // Bad flags are refused before any probing: these would take seconds each otherwise.
  for (const args of [['plan', '--params', '7e9', '--cpu', '--precision', 'int5'], ['measure', '--formats', 'int5']]) {
    const t0 = Date.now();
    await run(...args);
    t.ok(Date.now() - t0 < 3000, `${args.join(' ')}: refused in ${Date.now() - t0} ms (a measurement takes seconds)`);
  }
  const counts = JSON.parse((await run('plan', '--params', '70B', '--device-memory', '40GB', '--context', '8K', '--batch', '2', '--layers', '80',
    '--kv-heads', '8', '--head-dim', '128', '--json')).out) as { model: { linearParams: number }; rows: Array<{ kvBytes: number }> };
  t.equal(counts.model.linearParams, 70e9, '70B is 7e10 parameters');
  t.equal(counts.rows[0].kvBytes, 2 * 80 * 8 * 128 * 2 * 2 * 8000, '8K tokens of context, counted decimally');
  const spec = path.join(tmpDir('lowbit-spec-'), 'spec.json');
  fs.writeFileSync(spec, JSON.stringify({ ...exercise, kvcache: { batch: 1, context: 4096 } }));
  const typo = await run('plan', '--spec', spec);
  t.equal(typo.code, 2, 'a misspelt key in a spec file');
  t.match(typo.err, /^lowbit: plan: unknown key 'kvcache' in spec \(allowed: model, precisions, /);
  fs.writeFileSync(spec, JSON.stringify({ ...exercise, placement: 'device' }));
  t.same(JSON.parse((await run('plan', '--spec', spec, '--json')).out).rows.map((r: { totalDevices: number }) => r.totalDevices), [60, 36, 24]);
  t.same(JSON.parse((await run('plan', '--spec', spec, '--replicas', '1', '--json')).out).rows.map((r: { totalDevices: number }) => r.totalDevices), [5, 3, 2], 'flags override the file');
});


t.test('plan() refuses a misspelt key at every level, naming where and what is allowed', async (t) => {
  const cases: Array<[object, RegExp]> = [
    [{ ...exercise, kvcache: { batch: 1, context: 8 } }, /unknown key 'kvcache' in spec \(allowed: model, precisions, embeddingPrecision, otherPrecision, kvCache, node, machine, placement, replicas, target\)/],
    [{ ...exercise, model: { param: 7e9 } }, /unknown key 'param' in spec\.model \(allowed: name, params, /],
    [{ ...exercise, node: { deviceMemory: GPU, devicesPerNde: 4 } }, /unknown key 'devicesPerNde' in spec\.node \(allowed: deviceMemory, devicesPerNode, reserve, deviceBandwidth\)/],
    [{ ...exercise, model: { params: P, layers: 8, kvHeads: 8, headDim: 128 }, kvCache: { batch: 1, contxt: 8 } }, /unknown key 'contxt' in spec\.kvCache \(allowed: batch, context, precision\)/],
    [{ ...exercise, replicas: undefined, node: { deviceMemory: GPU, deviceBandwidth: 1e12 }, target: { tokenPerSecond: 5 } }, /unknown key 'tokenPerSecond' in spec\.target/],
  ];
  for (const [spec, message] of cases) t.throws(() => plan(spec as PlanSpec), { name: 'RangeError', message });
  t.throws(() => plan({ ...exercise, node: 5 } as unknown as PlanSpec), { name: 'TypeError', message: /spec\.node must be an object/ });
});
