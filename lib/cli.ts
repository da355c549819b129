#!/usr/bin/env node
/**
 * The `lowbit` command: info, measure, plan, inspect, run, chat and bench. Tables on stdout, progress on stderr, `--json` for
 * scripts; a bad flag or spec exits with code 2 and one line on stderr.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, progress, progressLine, quantity, threads, UsageError } from './cli/cli-common';
import { batchList, measureModelWithProgress, printModelMeasurement } from './cli/cli-model';
import { chatCommand, runCommand } from './cli/cli-text';
import { cpuInfo, probe } from './index';
import { inspectModelFile, type ModelFileSummary } from './io/inspect';
import { cpuModel, measureMachineAsync, readMachineMeasurement, type MachineMeasurement } from './plan/measure';
import { MODEL_PRESETS, plan, type Plan, type PlanSpec } from './plan/plan';
import { resolvePrecision } from './plan/precision';

const HELP: Record<string, string> = {
  main: `usage: lowbit <command> [options]

commands:
  info      CPU, kernel sets, threads and the measured limits of this machine
  measure   time lowbit's GEMV per format on this machine and save it for plans
  plan      size a deployment: bytes, devices and nodes per replica, decode rate, fleet
  inspect   what a GGUF or safetensors model file holds: tensors, parameters, bytes per storage type
  run       generate text from a prompt with a GGUF model (lowbit run MODEL.gguf -p "...")
  chat      talk with a GGUF model through its chat template
  bench     a model file's tokens/s beside the read roofline (lowbit bench MODEL.gguf), or the
            repository's benchmark tables (a source checkout)

lowbit <command> --help for its options; lowbit --version`,
  info: `usage: lowbit info [--threads N] [--json]

Prints the CPU, its features, the kernel sets this binary can run, the thread count and the measured
limits (read bandwidth, fp32 FMA and int8 dot-product peaks; a few seconds).`,
  measure: `usage: lowbit measure [--out FILE] [--formats LIST] [--matrix-mib N] [--threads N] [--json]
       lowbit measure --model MODEL.gguf [--batch LIST] [--formats LIST] [--out FILE] [--threads N] [--json]

Times lowbit's prepared GEMV (int8 activations) for each format on a DRAM-resident matrix (default twice
the last-level cache, at least 512 MiB) and the read bandwidth, and writes them as JSON to FILE (or prints
them). Pass the file to 'lowbit plan --machine FILE' on any machine.
  --formats LIST   comma-separated lowbit formats (default 'int4 g128,int4 g32,q4_0,q8_0'; with --model, none)
  --model FILE     also run the GGUF model: prefill tokens/s, and decode tokens/s at each batch (sequences
                   decoded together, the weights read once a step); 'lowbit plan --model FILE --machine OUT'
                   then plans from the measured rate
  --batch LIST     batch sizes to time decode at (default 1,8)`,
  plan: `usage: lowbit plan [options] [--spec FILE] [--json]

Model (a preset, total parameters, or a breakdown):
  --model NAME|FILE.gguf    preset: ${Object.keys(MODEL_PRESETS).join(', ')}; or a GGUF file: its tensors counted
                            and shapes read, the row 'file' its bytes as stored (with --cpu, its decode measured
                            at batch 1 and --batch; with --machine, the rate 'lowbit measure --model' saved)
  --params N                total parameters (all counted as linear weights)
  --linear-params N --embedding-params N --other-params N
  --layers N --kv-heads N --head-dim N --hidden N   (shapes for the KV cache and per-row scales)
Precision (repeat or comma-separate; default fp16,int8,int4, the textbook's ideal widths):
  --precision LIST          e.g. fp16,int8,int4 or 'int4 g128,q4_0,q8_0' (lowbit formats, scales counted)
  --embedding-precision P   for the input embedding table (default: the row's)
KV cache (counted per replica on top of the weights):
  --batch N --context N [--kv-precision fp16|bf16|fp32|fp8|int8|q8_0]
Node:
  --device-memory BYTES     per device (accepts 40e9, 40GB, 40GiB)
  --devices-per-node N      (default 1)
  --reserve F               fraction of each device kept free (default 0)
  --device-bandwidth B/S    per device, for the decode rate (accepts 3.35e12, 3350GB)
  --cpu                     measure this machine now and plan on it (see 'lowbit measure')
  --machine FILE            plan on a saved measurement
  --placement node|device   replicas own whole nodes (default) or share them
Fleet:
  --replicas N | --target-tokens-per-second T | --requests-per-second R --mean-output-tokens L
Output:
  --json                    { rows: [{ precision, weightBytes, kvBytes, nodesPerReplica, devicesPerReplica,
                              totalNodes, totalDevices, tokensPerSecondPerReplica?, ... }], ... }
  --spec FILE               a JSON plan spec (the plan() API's argument); flags given override it

The textbook's exercise: lowbit plan --params 70e9 --devices-per-node 4 --device-memory 40e9 --reserve 0.3 --replicas 12`,
  inspect: `usage: lowbit inspect FILE [--json]

Opens a GGUF or safetensors file (memory-mapped; no tensor data is read) and prints its tensors grouped by
storage type (GGUF tensor types; safetensors dtypes, with GPTQ, AWQ and bitsandbytes layers counted as
layers): tensors, parameters, bytes, bits per weight and whether lowbit multiplies them as they are.`,
  bench: `usage: lowbit bench MODEL.gguf [--threads LIST] [--pp N] [--tg N] [--repetitions N] [--json]
       lowbit bench [suite...]

With a GGUF model file (llama, qwen2, qwen3): prompt processing (ppN: a prompt of N tokens in one pass,
default 512) and generation (tgN: N tokens one at a time, default 128) in tokens/s, from an empty context,
medians of the runs (default 3), at each thread count (default 1 and every core), like llama-bench; beside
the bytes of weights a token reads, the read probe at the same thread count and the fraction of that
roofline generation reaches; and a token's milliseconds in the weight products, attention, the rest of
the forward pass and the call around it.
  --threads LIST   comma-separated thread counts

Without a file: the benchmark suites of a source checkout (quantize, limits, gemv, gemm, peers, llm);
they are not part of the installed package. Same as 'npm run bench -- [suite...]'.`,
};

/** Measures this machine with progress, after the caller has validated everything else. */
async function measureWithProgress(options: Parameters<typeof measureMachineAsync>[0] = {}): Promise<MachineMeasurement> {
  const line = progressLine();
  try {
    return await measureMachineAsync({ ...options, onProgress: line.report });
  } finally {
    line.end();
  }
}
const gb = (b: number) => (b / 1e9).toFixed(b < 1e10 ? 2 : 1);

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(head), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

function info(args: string[]): void {
  const { values } = parse(args, { json: { type: 'boolean' }, threads: { type: 'string' } });
  if (values.help) return void console.log(HELP.info);
  threads(values.threads as string | undefined);
  const c = cpuInfo();
  progress('probing read bandwidth, FMA and int8 dot peaks');
  const limits = { readGBps: probe('bandwidth'), fmaGflops: probe('fma'), dotGops: probe('dot') };
  const cpu = cpuModel();
  if (values.json) return void console.log(JSON.stringify({ cpu, ...c, limits }, null, 2));
  console.log(`cpu:       ${cpu} (${c.arch})
features:  ${c.features.join(' ')}
kernels:   ${c.isa} (usable: ${c.isas.join(', ')})
threads:   ${c.threads}
read:      ${limits.readGBps.toFixed(1)} GB/s
fp32 FMA:  ${limits.fmaGflops.toFixed(0)} GFLOP/s
int8 dot:  ${limits.dotGops.toFixed(0)} GOP/s`);
}

async function measure(args: string[]): Promise<void> {
  const { values } = parse(args, {
    out: { type: 'string' }, formats: { type: 'string' }, 'matrix-mib': { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' },
    model: { type: 'string' }, batch: { type: 'string' },
  });
  if (values.help) return void console.log(HELP.measure);
  threads(values.threads as string | undefined);
  if (values.batch !== undefined && values.model === undefined) throw new UsageError('--batch needs --model');
  const batches = batchList(values.batch as string | undefined, [1, 8]);
  const precisions = values.formats ? String(values.formats).split(',').map((s) => s.trim()) : values.model ? [] : undefined;
  // Every format is resolved before the first probe: a bad one costs no measuring.
  for (const f of precisions ?? []) {
    try {
      const p = resolvePrecision(f, 8192, '--formats');
      if (!p.quantize) throw new RangeError(`--formats: '${f}' is an idealised width, not a lowbit format to time`);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const mib = values['matrix-mib'] ? quantity('matrix-mib', String(values['matrix-mib'])) : undefined;
  if (mib !== undefined && !(mib * 2 ** 20 >= 1 << 16)) throw new UsageError(`--matrix-mib: '${values['matrix-mib']}' is less than 64 KiB`);
  const m = await measureWithProgress({ precisions, matrixBytes: mib === undefined ? undefined : mib * 2 ** 20 });
  if (values.model) m.models = [await measureModelWithProgress(String(values.model), batches)];
  if (values.out) {
    try {
      fs.writeFileSync(String(values.out), JSON.stringify(m, null, 2) + '\n');
    } catch (e) {
      throw new UsageError(`--out: ${(e as Error).message}`);
    }
    process.stderr.write(`lowbit: wrote ${values.out}\n`);
  }
  if (values.json) return void console.log(JSON.stringify(m, null, 2));
  printMeasurement(m);
}

function printMeasurement(m: MachineMeasurement): void {
  console.log(`${m.cpu}, ${m.isa}, ${m.threads} threads, ${gb(m.memoryBytes)} GB memory, read ${gb(m.readBandwidth)} GB/s (${m.date.slice(0, 10)})`);
  for (const x of m.models ?? []) printModelMeasurement(x, table);
  if (Object.keys(m.formats).length === 0) return;
  console.log(table(['format', 'GEMV GB/s', 'of read bw', 'matrix MiB'], Object.entries(m.formats).map(([k, f]) => [
    k, gb(f.bytesPerSecond), `${((100 * f.bytesPerSecond) / m.readBandwidth).toFixed(0)}%`, (f.matrixBytes / 2 ** 20).toFixed(0),
  ])));
}

// A measurement of the right shape, for checking a plan spec before measuring the machine for real.
const STAND_IN_MACHINE: MachineMeasurement = {
  version: 1, date: '', cpu: '', arch: '', isa: '', threads: 1, memoryBytes: 2 ** 40, readBandwidth: 1e10, formats: {},
};

const PLAN_FLAGS = {
  spec: { type: 'string' }, json: { type: 'boolean' }, model: { type: 'string' }, params: { type: 'string' },
  'linear-params': { type: 'string' }, 'embedding-params': { type: 'string' }, 'other-params': { type: 'string' },
  layers: { type: 'string' }, 'kv-heads': { type: 'string' }, 'head-dim': { type: 'string' }, hidden: { type: 'string' },
  precision: { type: 'string', multiple: true }, format: { type: 'string', multiple: true }, 'embedding-precision': { type: 'string' },
  batch: { type: 'string' }, context: { type: 'string' }, 'kv-precision': { type: 'string' },
  'device-memory': { type: 'string' }, 'devices-per-node': { type: 'string' }, reserve: { type: 'string' },
  'device-bandwidth': { type: 'string' }, cpu: { type: 'boolean' }, machine: { type: 'string' }, placement: { type: 'string' },
  replicas: { type: 'string' }, 'target-tokens-per-second': { type: 'string' }, 'requests-per-second': { type: 'string' },
  'mean-output-tokens': { type: 'string' }, threads: { type: 'string' },
} as const;

async function planCommand(args: string[]): Promise<void> {
  const { values: v } = parse(args, PLAN_FLAGS);
  if (v.help) return void console.log(HELP.plan);
  threads(v.threads as string | undefined);
  let spec: Partial<PlanSpec> = {};
  if (v.spec) {
    try {
      spec = JSON.parse(fs.readFileSync(String(v.spec), 'utf8'));
    } catch (e) {
      throw new UsageError(`--spec: ${(e as Error).message}`);
    }
  }
  const BYTE_FLAGS = ['device-memory', 'device-bandwidth'];
  const PLAIN_FLAGS = ['reserve', 'threads'];
  const n = (f: string) =>
    v[f] === undefined ? undefined : quantity(f, String(v[f]), BYTE_FLAGS.includes(f) ? 'bytes' : PLAIN_FLAGS.includes(f) ? 'plain' : 'count');
  const model = typeof spec.model === 'object' && spec.model ? { ...spec.model } : {};
  const modelFlags = { params: 'params', linearParams: 'linear-params', embeddingParams: 'embedding-params', otherParams: 'other-params', layers: 'layers', kvHeads: 'kv-heads', headDim: 'head-dim', hiddenSize: 'hidden' } as const;
  // Copies the flags given (field -> flag) into `into`; says whether there were any.
  const copy = (into: Record<string, number>, flags: Record<string, string>) => {
    let any = false;
    for (const [k, f] of Object.entries(flags)) {
      const x = n(f);
      if (x !== undefined) {
        into[k] = x;
        any = true;
      }
    }
    return any;
  };
  const any = copy(model as Record<string, number>, modelFlags);
  if (v.model) {
    if (any) throw new UsageError('--model: give a preset or parameter counts, not both');
    spec.model = String(v.model);
  } else if (any || typeof spec.model === 'object') {
    spec.model = model;
  }
  if (spec.model === undefined) throw new UsageError('plan: a model is required (--model, --params or --spec)');
  const precisions = [...((v.precision as string[]) ?? []), ...((v.format as string[]) ?? [])].flatMap((s) => s.split(','));
  if (precisions.length) spec.precisions = precisions.map((s) => s.trim());
  if (v['embedding-precision']) spec.embeddingPrecision = String(v['embedding-precision']);
  if (v.batch !== undefined || v.context !== undefined || v['kv-precision'] !== undefined) {
    const kv = { ...(spec.kvCache ?? {}) } as NonNullable<PlanSpec['kvCache']>;
    if (v.batch !== undefined) kv.batch = n('batch')!;
    if (v.context !== undefined) kv.context = n('context')!;
    if (v['kv-precision'] !== undefined) kv.precision = String(v['kv-precision']) as 'fp16';
    if (kv.batch === undefined) kv.batch = 1;
    if (kv.context === undefined) throw new UsageError('--batch/--kv-precision need --context');
    spec.kvCache = kv;
  }
  const nodeFlags = { deviceMemory: 'device-memory', devicesPerNode: 'devices-per-node', reserve: 'reserve', deviceBandwidth: 'device-bandwidth' } as const;
  const node = { ...(spec.node ?? {}) } as Record<string, number>;
  copy(node, nodeFlags);
  if (v.cpu && v.machine) throw new UsageError('--cpu and --machine: give one');
  if (v.machine) {
    try {
      spec.machine = readMachineMeasurement(String(v.machine));
    } catch (e) {
      throw new UsageError(`--machine: ${(e as Error).message}`);
    }
  }
  if (Object.keys(node).length) spec.node = node as unknown as PlanSpec['node'];
  if (v.placement) spec.placement = String(v.placement) as 'node';
  if (v.replicas !== undefined) spec.replicas = n('replicas');
  if (v['target-tokens-per-second'] !== undefined) spec.target = { tokensPerSecond: n('target-tokens-per-second') };
  if (v['requests-per-second'] !== undefined || v['mean-output-tokens'] !== undefined) {
    spec.target = { requestsPerSecond: n('requests-per-second'), meanOutputTokens: n('mean-output-tokens') };
  }
  const planOrUsage = (s: PlanSpec) => {
    try {
      return plan(s);
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError || (e as Error).name === 'LowbitFileError') throw new UsageError(`plan: ${(e as Error).message}`);
      throw e;
    }
  };
  const modelFile = typeof spec.model === 'string' && !(spec.model in MODEL_PRESETS) ? spec.model : undefined;
  if (v.cpu) {
    // The whole spec is checked against a stand-in measurement first: a bad flag costs no probing.
    planOrUsage({ ...spec, machine: STAND_IN_MACHINE } as PlanSpec);
    if (modelFile !== undefined) {
      // A model file: its own decode at batch 1 and the plan's batch, beside the read bandwidth.
      spec.machine = await measureWithProgress({ precisions: [] });
      spec.machine.models = [await measureModelWithProgress(modelFile, [1, spec.kvCache?.batch ?? 1])];
    } else {
      spec.machine = await measureWithProgress();
    }
  }
  const p: Plan = planOrUsage(spec as PlanSpec);
  if (v.json) return void console.log(JSON.stringify(p, null, 2));
  printPlan(p);
}

function printPlan(p: Plan): void {
  const m = p.model;
  const params = m.linearParams + m.embeddingParams + m.otherParams;
  console.log(`model: ${m.name ?? 'custom'}, ${(params / 1e9).toFixed(2)}B parameters (${(m.linearParams / 1e9).toFixed(2)}B linear)` +
    (p.kvBytesPerToken ? `, KV cache ${p.kvBytesPerToken} bytes/token` : ''));
  if (m.file) {
    const types = Object.entries(m.file.bytesByType).sort((a, b) => b[1] - a[1]).map(([t, b]) => `${t} ${gb(b)} GB`).join(', ');
    console.log(`file: ${m.file.path}, ${m.file.architecture}, ${gb(m.file.storedBytes)} GB of tensors (${types}); ${m.layers ?? '?'} layers, ` +
      `${m.kvHeads ?? '?'} KV heads of ${m.headDim ?? '?'}, trained context ${m.file.contextLength ?? '?'}${m.file.tiedOutput ? ', tied output' : ''}`);
  }
  console.log(`node: ${p.node.devicesPerNode} x ${gb(p.node.deviceMemory)} GB${p.node.kind === 'cpu' ? ' (this CPU machine, measured)' : ''}, ` +
    `${(p.node.reserve * 100).toFixed(0)}% reserved; placement: ${p.placement}; GB = 10^9 bytes`);
  const rate = p.rows.some((r) => r.tokensPerSecondPerReplica !== undefined);
  const estimate = p.rows.some((r) => r.estimatedTokensPerSecond !== undefined);
  const crossover = p.rows.some((r) => r.kvExceedsWeightsAtContext !== undefined);
  const batch = p.kvCacheBatch ?? 1;
  const head = ['precision', 'bits/w', 'weights GB', 'weights GiB', 'KV GB', 'devices/replica', 'nodes/replica', 'replicas', 'total nodes', 'total devices', `vs ${p.baseline}`];
  if (rate) head.push('tokens/s/replica', 'read at');
  if (estimate) head.push('estimate tokens/s');
  if (crossover) head.push(`KV > weights: context at batch ${batch}`);
  if (p.rows.some((r) => r.kvExceedsWeightsAtBatch !== undefined)) head.push(`KV > weights: batch at context ${p.kvCacheContext}`);
  console.log(table(head, p.rows.map((r) => {
    const row = [
      r.precision, r.bitsPerWeight.toFixed(r.bitsPerWeight % 1 ? 3 : 0), gb(r.weightBytes), (r.weightBytes / 2 ** 30).toFixed(1),
      gb(r.kvBytes), String(r.devicesPerReplica), String(r.nodesPerReplica), String(r.replicas), String(r.totalNodes),
      String(r.totalDevices), `${r.deviceReduction > 0 ? '-' : r.deviceReduction < 0 ? '+' : ''}${Math.abs(r.deviceReduction * 100).toFixed(0)}%`,
    ];
    if (rate) row.push(r.tokensPerSecondPerReplica?.toFixed(1) ?? '', r.weightBandwidth ? `${gb(r.weightBandwidth)} GB/s (${r.bandwidthSource})` : '');
    if (estimate) row.push(r.estimatedTokensPerSecond?.toFixed(1) ?? '');
    if (crossover) row.push(r.kvExceedsWeightsAtContext?.toLocaleString('en-US') ?? '');
    if (r.kvExceedsWeightsAtBatch !== undefined) row.push(r.kvExceedsWeightsAtBatch.toLocaleString('en-US'));
    return row;
  })));
  if (p.targetTokensPerSecond !== undefined) console.log(`replicas sized for ${p.targetTokensPerSecond} tokens/s`);
  for (const a of p.assumptions) console.log(`- ${a}`);
}

function inspect(args: string[]): void {
  const parsed = parse(args, { json: { type: 'boolean' } }, true);
  if (parsed.values.help) return void console.log(HELP.inspect);
  if (parsed.positionals.length !== 1) throw new UsageError('inspect: give one model file (lowbit inspect FILE)');
  let s: ModelFileSummary;
  try {
    s = inspectModelFile(parsed.positionals[0]);
  } catch (e) {
    throw new UsageError(`inspect: ${(e as Error).message.replace(/^inspectModelFile: /, '')}`);
  }
  if (parsed.values.json) return void console.log(JSON.stringify(s, null, 2));
  console.log(`${s.path}: ${s.container}${s.architecture ? `, ${s.architecture}` : ''}${s.name ? ` (${s.name})` : ''}, ${s.tensors} tensors, ` +
    `${s.parameters.toLocaleString('en-US')} parameters, ${gb(s.dataBytes)} GB of data, ${s.bitsPerWeight.toFixed(2)} bits/weight`);
  console.log(table(['type', 'tensors', 'parameters', 'GB', 'bits/weight', 'lowbit multiplies it with'], s.groups.map((g) => [
    g.type, String(g.tensors), g.parameters.toLocaleString('en-US'), gb(g.bytes), g.bitsPerWeight.toFixed(2), g.kernel ?? 'no (not supported)',
  ])));
}

function bench(args: string[]): number {
  if (args.includes('--help') || args.includes('-h')) return void console.log(HELP.bench), 0;
  if (args.length > 0 && (args[0].toLowerCase().endsWith('.gguf') || (fs.existsSync(args[0]) && fs.statSync(args[0]).isFile()))) {
    benchFile(args[0], args.slice(1));
    return 0;
  }
  const script = path.join(__dirname, '..', 'bench', 'index.js');
  if (!fs.existsSync(script)) throw new UsageError('bench: the benchmark suites are in the source repository (bench/), not in the installed package');
  return spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' }).status ?? 1;
}

function benchFile(file: string, args: string[]): void {
  const { values: v } = parse(args, {
    threads: { type: 'string' }, pp: { type: 'string' }, tg: { type: 'string' }, repetitions: { type: 'string' }, json: { type: 'boolean' },
  });
  const int = (flag: string, s: string | undefined, min: number): number | undefined => {
    if (s === undefined) return undefined;
    const n = quantity(flag, s, 'count');
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag}: '${s}' is not an integer >= ${min}`);
    return n;
  };
  const threadList = v.threads === undefined ? undefined : String(v.threads).split(',').map((t) => {
    const n = int('threads', t, 1)!;
    if (n > 1024) throw new UsageError(`--threads: '${t}' is not an integer from 1 to 1024`);
    return n;
  });
  const options = { threads: threadList, pp: int('pp', v.pp as string | undefined, 0), tg: int('tg', v.tg as string | undefined, 0), repetitions: int('repetitions', v.repetitions as string | undefined, 1) };
  // Loaded here, not at the top: the other commands need no model runner.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { benchModel } = require('./llm/bench') as typeof import('./llm/bench');
  let report;
  try {
    report = benchModel(file, { ...options, onProgress: v.json ? undefined : (step) => progress(step) });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.name === 'LowbitFileError' || e instanceof RangeError || e instanceof TypeError) throw new UsageError(`bench: ${err.message}`);
    throw e;
  }
  if (v.json) return void console.log(JSON.stringify(report, null, 2));
  const types = Object.entries(report.bytesByType).sort((a, b) => b[1] - a[1]).map(([t, b]) => `${t} ${gb(b)} GB`).join(', ');
  console.log(`${report.path}: ${report.architecture}, ${(report.parameters / 1e9).toFixed(2)}B parameters, ${gb(report.fileSize)} GB (${types})`);
  console.log(`${report.cpu}, kernels ${report.isa}, ${report.date.slice(0, 10)}; ${gb(report.results[0]?.bytesPerToken ?? 0)} GB of weights read per token`);
  console.log(table(
    ['test', 'threads', 'tokens/s', 'read probe GB/s', 'roofline tokens/s', 'of roofline', 'ms/token: products', 'attention', 'rest of pass', 'call'],
    report.results.map((r) => [
      `${r.test}${r.tokens}`, String(r.threads), r.tokensPerSecond.toFixed(1), gb(r.readBandwidth),
      r.rooflineTokensPerSecond?.toFixed(1) ?? '', r.rooflineFraction !== undefined ? `${(r.rooflineFraction * 100).toFixed(0)}%` : '',
      r.msPerToken.matmul.toFixed(2), r.msPerToken.attention.toFixed(2), r.msPerToken.other.toFixed(2), r.msPerToken.call.toFixed(3),
    ]),
  ));
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(HELP.main);
        return cmd === undefined ? 2 : 0;
      case '--version':
        console.log(require('../package.json').version);
        return 0;
      case 'info': info(rest); return 0;
      case 'measure': await measure(rest); return 0;
      case 'plan': await planCommand(rest); return 0;
      case 'inspect': inspect(rest); return 0;
      case 'bench': return bench(rest);
      case 'run': await runCommand(rest); return 0;
      case 'chat': await chatCommand(rest); return 0;
      default:
        throw new UsageError(`unknown command '${cmd}' (info, measure, plan, inspect, run, chat, bench; lowbit --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lowbit: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
