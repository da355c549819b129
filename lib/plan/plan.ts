/**
 * "Measure the unit, then multiply": from a model, a weight precision, a KV cache and a node, the bytes of
 * one replica, the devices and nodes it needs, its memory-bound decode rate, and the fleet for a load.
 * Units: bytes and bytes per second throughout (1 GB = 1e9 bytes; the CLI prints GB and GiB).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolvePrecision, type Precision } from './precision';
import type { MachineMeasurement, ModelMeasurement } from './measure';
import { modelFromFile, type ModelFileFacts } from './plan-model';

export type { ModelFileFacts };

/** Parameter counts by kind; `params` alone counts everything as linear weights (the textbook's arithmetic). */
export interface ModelSpec {
  name?: string;
  /** Total parameters. With no breakdown, all are linear weights read once per token. */
  params?: number;
  /** Quantizable linear weights, the output head included: stored in the row's precision, read every token. */
  linearParams?: number;
  /** The input embedding table: stored in `embeddingPrecision`, one row read per token. */
  embeddingParams?: number;
  /** Norms, biases and the like: kept in fp16 (or `otherPrecision`) and read every token. */
  otherParams?: number;
  /** For the KV cache: transformer layers, key/value heads (grouped-query attention: fewer than query heads), head size. */
  layers?: number;
  kvHeads?: number;
  headDim?: number;
  /** The layers' input width, which sets what per-row scales cost (default 4096). */
  hiddenSize?: number;
  /** Set when the model is a file (`model: 'path.gguf'`): its bytes as stored, by type and by kind. */
  file?: ModelFileFacts;
}

export interface NodeSpec {
  /** Bytes of memory per device (GPU), or of the whole machine for a CPU node (default with `machine`: its memory). */
  deviceMemory?: number;
  /** Devices per node (default 1: a CPU node is one device). */
  devicesPerNode?: number;
  /** Fraction of each device's memory kept free for the KV cache and batching headroom (default 0). */
  reserve?: number;
  /** Read bandwidth of one device in bytes/s, for the decode rate (a CPU node: measured instead). */
  deviceBandwidth?: number;
}

export interface PlanSpec {
  /**
   * A model: counts, a preset ('llama-7b-class': Llama 2 7B's shapes, 'llama-70b-class': Llama 3 70B's), or
   * the path of a GGUF file (its tensors counted, its shapes read; the row 'file' is the file as stored).
   */
  model: ModelSpec | string;
  /**
   * Weight precisions to compare, one row each (default fp16, int8, int4; for a model file: file, fp16,
   * q8_0, q4_0). See `precision.ts` for names; 'file' is the model file's own bytes.
   */
  precisions?: string[];
  /** Precision of the input embedding table (default: the row's). */
  embeddingPrecision?: string;
  /** Precision of the other parameters (default fp16). */
  otherPrecision?: string;
  /**
   * A KV cache per replica: `batch` sequences of `context` tokens, elements in `precision` (default fp16;
   * 'q8_0': ggml's blocks of 32 int8 with an fp16 scale, 8.5 bits, lowbit's and llama.cpp's q8_0 cache).
   */
  kvCache?: { batch: number; context: number; precision?: 'fp32' | 'fp16' | 'bf16' | 'fp8' | 'int8' | 'q8_0' };
  /** Where a replica runs. Omitted with `machine`: the measured CPU machine as the node. */
  node?: NodeSpec;
  /**
   * A CPU machine's measurement (measureMachine, `lowbit measure`): its memory, bandwidth and GEMV rates,
   * and the model files run on it (`lowbit measure --model`): a model file's row uses its measured rate.
   */
  machine?: MachineMeasurement;
  /**
   * 'node' (default): each replica owns whole nodes, the textbook's reading. 'device': replicas that need
   * fewer devices than a node has share nodes.
   */
  placement?: 'node' | 'device';
  /** Replicas to deploy (default 1), or a load to size them for (a decode rate needs bandwidth). */
  replicas?: number;
  target?: { tokensPerSecond?: number; requestsPerSecond?: number; meanOutputTokens?: number };
}

export interface PlanRow {
  precision: string;
  /** Storage bits per linear weight, scales included. */
  bitsPerWeight: number;
  weightBytes: number;
  kvBytes: number;
  /** weightBytes + kvBytes. */
  replicaBytes: number;
  /** Memory of one device left after the reserve. */
  usableBytesPerDevice: number;
  /** Devices holding one replica, its bytes spread evenly over them (tensor-parallel sharding). */
  devicesPerReplica: number;
  nodesPerReplica: number;
  replicas: number;
  totalNodes: number;
  totalDevices: number;
  /** 1 - totalDevices / the baseline row's (fp16 where compared, else the first row). */
  deviceReduction: number;
  /** Bytes one decode step of the replica reads: weights read per token plus every sequence's KV cache. */
  bytesPerStep?: number;
  /** Bytes/s one device reads the weights at, and where the figure comes from. */
  weightBandwidth?: number;
  bandwidthSource?: 'given' | 'measured gemv' | 'measured read' | 'measured model';
  /**
   * Decode tokens/s of one replica (the batch's sequences together): memory-bound arithmetic, or for a
   * model file measured on the machine, its measured step with the KV cache's reads at the plan's context.
   */
  tokensPerSecondPerReplica?: number;
  /** For a measured model file: the tokens/s measured (at the measurement's short context). */
  measuredTokensPerSecond?: number;
  /** For a measured model file: what the memory-bound arithmetic gives instead, to compare. */
  estimatedTokensPerSecond?: number;
  /**
   * Where the KV cache becomes larger than the weights (needs the model's layers, KV heads and head
   * size): the context at the plan's batch (1 without a KV cache), and the batch at the plan's context.
   */
  kvExceedsWeightsAtContext?: number;
  kvExceedsWeightsAtBatch?: number;
  /** Replicas the target load needs (when a target was given). */
  replicasForTarget?: number;
}

export interface Plan {
  model: Required<Pick<ModelSpec, 'linearParams' | 'embeddingParams' | 'otherParams'>> & ModelSpec;
  node: Required<Pick<NodeSpec, 'deviceMemory' | 'devicesPerNode' | 'reserve'>> & NodeSpec & { kind: 'given' | 'cpu' };
  placement: 'node' | 'device';
  kvBytesPerToken: number;
  /** The KV cache's sequences and tokens each, when the spec has one. */
  kvCacheBatch?: number;
  kvCacheContext?: number;
  targetTokensPerSecond?: number;
  baseline: string;
  rows: PlanRow[];
  /** What the arithmetic takes for granted. */
  assumptions: string[];
}

/** Shapes of two public model families, parameters counted from their architecture. */
export const MODEL_PRESETS: Record<string, ModelSpec> = {
  // Llama 2 7B: 32 layers, hidden 4096, MLP 11008, 32 heads of 128 (no GQA), vocab 32000, untied head.
  'llama-7b-class': llama('llama-7b-class', 32, 4096, 11008, 32, 32, 128, 32000),
  // Llama 3 70B: 80 layers, hidden 8192, MLP 28672, 64 query heads and 8 KV heads of 128, vocab 128256.
  'llama-70b-class': llama('llama-70b-class', 80, 8192, 28672, 64, 8, 128, 128256),
};

function llama(name: string, layers: number, hidden: number, mlp: number, heads: number, kvHeads: number, headDim: number, vocab: number): ModelSpec {
  const attention = hidden * heads * headDim * 2 + hidden * kvHeads * headDim * 2;
  const linearParams = layers * (attention + 3 * hidden * mlp) + vocab * hidden;
  return { name, linearParams, embeddingParams: vocab * hidden, otherParams: (2 * layers + 1) * hidden, layers, kvHeads, headDim, hiddenSize: hidden };
}

const KV_BYTES = { fp32: 4, fp16: 2, bf16: 2, fp8: 1, int8: 1, q8_0: 34 / 32 } as const;

// The keys each level of a spec may have: a misspelt one is an error, not a silent default.
const SPEC_KEYS = {
  spec: ['model', 'precisions', 'embeddingPrecision', 'otherPrecision', 'kvCache', 'node', 'machine', 'placement', 'replicas', 'target'],
  model: ['name', 'params', 'linearParams', 'embeddingParams', 'otherParams', 'layers', 'kvHeads', 'headDim', 'hiddenSize', 'file'],
  kvCache: ['batch', 'context', 'precision'],
  node: ['deviceMemory', 'devicesPerNode', 'reserve', 'deviceBandwidth'],
  target: ['tokensPerSecond', 'requestsPerSecond', 'meanOutputTokens'],
} as const;

function checkKeys(o: object, level: keyof typeof SPEC_KEYS): void {
  const allowed: readonly string[] = SPEC_KEYS[level];
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      const where = level === 'spec' ? 'spec' : `spec.${level}`;
      throw new RangeError(`unknown key '${k}' in ${where} (allowed: ${allowed.join(', ')})`);
    }
  }
}

function num(v: unknown, what: string, min: number, opts: { integer?: boolean; below?: number } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${what} must be a finite number`);
  if (v < min || (opts.below !== undefined && v >= opts.below) || (opts.integer && !Number.isInteger(v))) {
    const range = opts.below !== undefined ? `in [${min}, ${opts.below})` : `>= ${min}`;
    throw new RangeError(`${what} must be ${opts.integer ? 'an integer ' : ''}${range}, got ${v}`);
  }
  return v;
}

/** Whether a model string names a file rather than a preset. */
function isModelFile(m: string): boolean {
  if (m.toLowerCase().endsWith('.gguf')) return true;
  try {
    return fs.statSync(m).isFile();
  } catch {
    return false;
  }
}

function resolveModel(m: ModelSpec | string): Plan['model'] {
  if (typeof m === 'string') {
    const p = MODEL_PRESETS[m];
    if (p) m = p;
    else if (isModelFile(m)) m = modelFromFile(m);
    else throw new RangeError(`model: '${m}' is neither a preset (${Object.keys(MODEL_PRESETS).join(', ')}) nor a GGUF file`);
  }
  if (typeof m !== 'object' || m === null) throw new TypeError('model is required: an object ({ params } or a breakdown) or a preset name');
  checkKeys(m, 'model');
  const has = (k: keyof ModelSpec) => m[k] !== undefined;
  const split = has('linearParams') || has('embeddingParams') || has('otherParams');
  if (has('params') && split) throw new RangeError('model: give either params or the breakdown (linearParams, embeddingParams, otherParams), not both');
  if (!has('params') && !has('linearParams')) throw new RangeError('model.params (or model.linearParams) is required');
  const out = {
    ...m,
    linearParams: num(split ? m.linearParams : m.params, split ? 'model.linearParams' : 'model.params', 1),
    embeddingParams: split && has('embeddingParams') ? num(m.embeddingParams, 'model.embeddingParams', 0) : 0,
    otherParams: split && has('otherParams') ? num(m.otherParams, 'model.otherParams', 0) : 0,
  };
  for (const k of ['layers', 'kvHeads', 'headDim', 'hiddenSize'] as const) {
    if (has(k)) num(m[k], `model.${k}`, 1, { integer: true });
  }
  return out;
}

/** The machine's measurement of the model's file, matched by the file's name and size. */
function modelMeasurement(model: Plan['model'], machine: MachineMeasurement | undefined): ModelMeasurement | undefined {
  const f = model.file;
  if (!f || !machine?.models) return undefined;
  return machine.models.find((m) => m.file === path.basename(f.path) && m.fileSize === f.fileSize);
}

/** Plans one deployment per precision; every intermediate is in the result. */
export function plan(spec: PlanSpec): Plan {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('spec must be an object');
  checkKeys(spec, 'spec');
  for (const level of ['node', 'kvCache', 'target'] as const) {
    const o = spec[level];
    if (o !== undefined && (typeof o !== 'object' || o === null || Array.isArray(o))) {
      throw new TypeError(`spec.${level} must be an object (allowed keys: ${SPEC_KEYS[level].join(', ')})`);
    }
    if (o !== undefined) checkKeys(o, level);
  }
  const model = resolveModel(spec.model);
  const cols = model.hiddenSize ?? 4096;
  const placement = spec.placement ?? 'node';
  if (placement !== 'node' && placement !== 'device') throw new RangeError(`placement must be 'node' or 'device', got '${placement}'`);

  const machine = spec.machine;
  if (machine !== undefined && (typeof machine !== 'object' || machine === null || typeof machine.readBandwidth !== 'number')) {
    throw new TypeError('machine must be a measurement from measureMachine() (or `lowbit measure`)');
  }
  if (spec.node === undefined && !machine) throw new RangeError('node is required (or a machine measurement to plan on that CPU)');
  if (spec.node !== undefined && (typeof spec.node !== 'object' || spec.node === null)) throw new TypeError('node must be an object');
  // A measured machine is the node unless the spec says otherwise (its memory, one device).
  const given: NodeSpec = { ...(machine ? { deviceMemory: machine.memoryBytes } : {}), ...(spec.node ?? {}) } as NodeSpec;
  const node: Plan['node'] = {
    ...given,
    deviceMemory: num(given.deviceMemory, 'node.deviceMemory', 1),
    devicesPerNode: num(given.devicesPerNode ?? 1, 'node.devicesPerNode', 1, { integer: true }),
    reserve: num(given.reserve ?? 0, 'node.reserve', 0, { below: 1 }),
    kind: machine ? 'cpu' : 'given',
  };
  if (node.deviceBandwidth !== undefined) num(node.deviceBandwidth, 'node.deviceBandwidth', 1);
  if (machine && node.deviceBandwidth !== undefined) throw new RangeError('give node.deviceBandwidth or a machine measurement, not both');

  let kvSeqs = 0;
  let kvContext = 0;
  let kvPrecision: keyof typeof KV_BYTES = 'fp16';
  if (spec.kvCache !== undefined) {
    const kv = spec.kvCache;
    if (typeof kv !== 'object' || kv === null) throw new TypeError('kvCache must be an object { batch, context, precision? }');
    kvSeqs = num(kv.batch, 'kvCache.batch', 1, { integer: true });
    kvContext = num(kv.context, 'kvCache.context', 1, { integer: true });
    const prec = kv.precision ?? 'fp16';
    if (!(prec in KV_BYTES)) throw new RangeError(`kvCache.precision must be one of ${Object.keys(KV_BYTES).join(', ')}, got '${prec}'`);
    kvPrecision = prec;
    for (const k of ['layers', 'kvHeads', 'headDim'] as const) {
      if (model[k] === undefined) throw new RangeError(`model.${k} is required for a KV cache`);
    }
  }
  // Keys and values: 2 vectors of kvHeads x headDim per layer per token (known whenever the shapes are).
  const shapes = model.layers !== undefined && model.kvHeads !== undefined && model.headDim !== undefined;
  const kvBytesPerToken = shapes ? 2 * model.layers! * model.kvHeads! * model.headDim! * KV_BYTES[kvPrecision] : 0;
  const kvBytes = kvBytesPerToken * kvSeqs * kvContext;
  const measured = modelMeasurement(model, machine);

  let replicasGiven = 1;
  if (spec.replicas !== undefined) replicasGiven = num(spec.replicas, 'replicas', 1, { integer: true });
  let targetTokensPerSecond: number | undefined;
  if (spec.target !== undefined) {
    const t = spec.target;
    if (spec.replicas !== undefined) throw new RangeError('give replicas or a target load, not both');
    if (t.tokensPerSecond !== undefined) {
      if (t.requestsPerSecond !== undefined) throw new RangeError('target: give tokensPerSecond or requestsPerSecond, not both');
      targetTokensPerSecond = num(t.tokensPerSecond, 'target.tokensPerSecond', Number.MIN_VALUE);
    } else if (t.requestsPerSecond !== undefined) {
      targetTokensPerSecond =
        num(t.requestsPerSecond, 'target.requestsPerSecond', Number.MIN_VALUE) *
        num(t.meanOutputTokens, 'target.meanOutputTokens', 1);
    } else {
      throw new RangeError('target needs tokensPerSecond, or requestsPerSecond and meanOutputTokens');
    }
    if (node.deviceBandwidth === undefined && !machine) {
      throw new RangeError('a target load needs a decode rate: give node.deviceBandwidth or a machine measurement');
    }
  }

  const names = spec.precisions ?? (model.file ? ['file', 'fp16', 'q8_0', 'q4_0'] : ['fp16', 'int8', 'int4']);
  if (!Array.isArray(names) || names.length === 0) throw new TypeError('precisions must be a non-empty array of names');
  const other = resolvePrecision(spec.otherPrecision ?? 'fp16', cols, 'otherPrecision');
  const usable = Math.round(node.deviceMemory * (1 - node.reserve));
  const rows: PlanRow[] = names.map((n, i) => {
    let name: string, bits: number, linearBytes: number, otherBytes: number, weightBytes: number;
    if (n === 'file') {
      const f = model.file;
      if (!f) throw new RangeError(`precisions[${i}]: 'file' needs a model file (model: 'path.gguf')`);
      name = 'file';
      bits = (8 * f.linearBytes) / model.linearParams;
      linearBytes = f.linearBytes;
      otherBytes = f.otherBytes;
      weightBytes = f.storedBytes;
    } else {
      const p = resolvePrecision(n, cols, `precisions[${i}]`);
      const emb: Precision = spec.embeddingPrecision ? resolvePrecision(spec.embeddingPrecision, cols, 'embeddingPrecision') : p;
      name = p.name;
      bits = p.bitsPerWeight;
      linearBytes = Math.ceil((model.linearParams * p.bitsPerWeight) / 8);
      otherBytes = Math.ceil((model.otherParams * other.bitsPerWeight) / 8);
      weightBytes = linearBytes + Math.ceil((model.embeddingParams * emb.bitsPerWeight) / 8) + otherBytes;
    }
    const replicaBytes = weightBytes + kvBytes;
    const devicesPerReplica = Math.ceil(replicaBytes / usable);
    const nodesPerReplica = Math.ceil(devicesPerReplica / node.devicesPerNode);
    const row: PlanRow = {
      precision: name,
      bitsPerWeight: bits,
      weightBytes,
      kvBytes,
      replicaBytes,
      usableBytesPerDevice: usable,
      devicesPerReplica,
      nodesPerReplica,
      replicas: replicasGiven,
      totalNodes: 0,
      totalDevices: 0,
      deviceReduction: 0,
    };
    // One decode step reads every weight but the embedding table once, and every sequence's whole cache.
    const stepWeightBytes = linearBytes + otherBytes;
    let weightBw: number | undefined;
    let kvBw: number | undefined;
    if (node.deviceBandwidth !== undefined) {
      weightBw = kvBw = node.deviceBandwidth;
      row.bandwidthSource = 'given';
    } else if (machine) {
      const rate = name === 'file' ? undefined : machine.formats?.[name]?.bytesPerSecond;
      weightBw = rate ?? machine.readBandwidth;
      kvBw = machine.readBandwidth;
      row.bandwidthSource = rate !== undefined ? 'measured gemv' : 'measured read';
    }
    if (weightBw !== undefined && kvBw !== undefined) {
      const stepSeconds = (stepWeightBytes / weightBw + kvBytes / kvBw) / devicesPerReplica;
      row.bytesPerStep = stepWeightBytes + kvBytes;
      row.weightBandwidth = weightBw;
      row.tokensPerSecondPerReplica = Math.max(kvSeqs, 1) / stepSeconds;
      if (name === 'file' && measured && machine) {
        // The measured step, with the KV cache it read swapped for the plan's (at the read bandwidth).
        const batch = Math.max(kvSeqs, 1);
        const d = measured.decode.find((x) => x.batch === batch);
        if (!d) {
          throw new RangeError(
            `machine: ${measured.file} was measured at batch ${measured.decode.map((x) => x.batch).join(', ')}, the plan decodes ${batch} ` +
              `sequences together (lowbit measure --model FILE --batch ${batch})`,
          );
        }
        const kvMeasured = batch * measured.context * measured.kvBytesPerPosition;
        const weightsSeconds = Math.max(d.stepSeconds - kvMeasured / machine.readBandwidth, d.stepSeconds / 2);
        const step = (weightsSeconds + kvBytes / machine.readBandwidth) / devicesPerReplica;
        row.estimatedTokensPerSecond = row.tokensPerSecondPerReplica;
        row.measuredTokensPerSecond = d.tokensPerSecond;
        row.tokensPerSecondPerReplica = batch / step;
        row.weightBandwidth = stepWeightBytes / weightsSeconds;
        row.bandwidthSource = 'measured model';
      }
      if (targetTokensPerSecond !== undefined) {
        // A load that is an exact multiple of the rate must not gain a replica from rounding.
        row.replicasForTarget = Math.max(1, Math.ceil((targetTokensPerSecond / row.tokensPerSecondPerReplica) * (1 - 1e-12)));
        row.replicas = row.replicasForTarget;
      }
    }
    if (kvBytesPerToken > 0) {
      row.kvExceedsWeightsAtContext = Math.ceil(weightBytes / (kvBytesPerToken * Math.max(kvSeqs, 1)));
      if (kvContext > 0) row.kvExceedsWeightsAtBatch = Math.ceil(weightBytes / (kvBytesPerToken * kvContext));
    }
    if (placement === 'node' || devicesPerReplica > node.devicesPerNode) {
      row.totalNodes = row.replicas * nodesPerReplica;
      row.totalDevices = placement === 'node' ? row.totalNodes * node.devicesPerNode : row.replicas * devicesPerReplica;
    } else {
      row.totalNodes = Math.ceil(row.replicas / Math.floor(node.devicesPerNode / devicesPerReplica));
      row.totalDevices = row.replicas * devicesPerReplica;
    }
    return row;
  });
  const base = rows.find((r) => r.precision === 'fp16') ?? rows[0];
  for (const r of rows) r.deviceReduction = 1 - r.totalDevices / base.totalDevices;

  const assumptions = [
    'Bytes are 10^9 per GB. Weight bytes = parameters x bits per weight / 8 (lowbit formats: scales and zero-points included).',
    `A replica's bytes (weights${kvBytes ? ' + KV cache' : ''}) are spread evenly over its devices, each filled up to ${(1 - node.reserve) * 100}% of its memory.`,
    placement === 'node' ? 'Each replica owns whole nodes (placement: node).' : 'Replicas smaller than a node share nodes (placement: device).',
  ];
  if (!kvBytes) {
    assumptions.push(
      node.reserve > 0
        ? `No explicit KV cache: it must fit in the ${node.reserve * 100}% reserve. The cache is not quantized with the weights and grows with batch x context, so low-bit weights save less once it dominates.`
        : 'No KV cache: nothing is left for it. It grows with batch x context and is not quantized with the weights.',
    );
  } else {
    assumptions.push(`KV cache: ${kvSeqs} sequences x ${kvContext} tokens x ${kvBytesPerToken} bytes per token (2 x layers x kvHeads x headDim x element bytes), the same for every precision.`);
  }
  if (model.file) {
    assumptions.push(`The row 'file' is ${model.file.path} as stored (${model.file.storedBytes} bytes of tensors); the others are the same parameters at that precision.`);
  }
  if (rows.some((r) => r.bandwidthSource === 'measured model')) {
    assumptions.push(
      `The row 'file' decodes at the rate measured on this machine (${measured!.isa}, ${measured!.threads} threads, ${measured!.kvType} cache, ` +
        `${Math.round(measured!.context)} positions per sequence), its KV cache reads replaced by the plan's at the read bandwidth; ` +
        'estimatedTokensPerSecond is the memory-bound arithmetic for comparison.',
    );
    const f = rows.find((r) => r.bandwidthSource === 'measured model')!;
    const ratio = f.tokensPerSecondPerReplica! / f.estimatedTokensPerSecond!;
    if (rows.length > 1) {
      assumptions.push(
        `The other rows are that arithmetic, not measured: for the file it gives ${f.estimatedTokensPerSecond!.toFixed(1)} tokens/s where ` +
          `${f.tokensPerSecondPerReplica!.toFixed(1)} was measured (${ratio.toFixed(2)}x)${ratio < 0.8 ? ', so at this batch decode is bound by compute, not memory, and theirs are likely as optimistic' : ''}.`,
      );
    }
  }
  if (rows.some((r) => r.tokensPerSecondPerReplica !== undefined)) {
    assumptions.push(
      'Decode is memory-bound: a step reads the weights once (not the embedding table) and every sequence\'s whole KV cache; devices of a replica read in parallel at the same rate; compute, interconnect and prefill are not counted.',
    );
  }
  return {
    model, node, placement, kvBytesPerToken, ...(kvSeqs ? { kvCacheBatch: kvSeqs, kvCacheContext: kvContext } : {}),
    targetTokensPerSecond, baseline: base.precision, rows, assumptions,
  };
}
