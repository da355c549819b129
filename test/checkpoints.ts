// GPTQ, AWQ and bitsandbytes NF4 layers imported from safetensors against independent NumPy packings of
// each layout (test/reference/qlinear_ref.py), exports that re-import byte for byte, and every malformed input.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import {
  dequantize, exportLinear, importLinear, matmul, matmulF32, openSafetensors, quantize, writeSafetensors,
  type QuantizationConfig, type QuantizedLinear, type QuantizedMatrix, type SafetensorsFile, type SafetensorsTensorInput,
} from 'lowbit';
import { findPython, randn, readF32, tmpDir } from './helpers';

const dir = tmpDir('lowbit-ckpt-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const refScript = path.join(__dirname, 'reference', 'qlinear_ref.py');
const PREFIX = 'model.layers.0.mlp.down_proj';

/** importLinear of a layer the test knows is quantized. */
function layer(f: SafetensorsFile, prefix: string, config?: QuantizationConfig): QuantizedLinear {
  const l = importLinear(f, prefix, config);
  if (l.source === 'float') throw new Error(`${prefix} imported as a float layer`);
  return l;
}

// Every layer the tests read, [kind, args, folder suffix]: written by one run of the reference.
const GPTQ_CASES: number[][] = [];
for (const bits of [2, 3, 4, 8])
  for (const group of [32, 128, -1])
    for (const sym of [0, 1])
      for (const desc of [0, 1])
        // 3-bit zero-points fill whole words only per 32 outputs.
        for (const version of [1, 2]) GPTQ_CASES.push([GPTQ_CASES.length + 1, bits === 3 ? 32 : 16, 256, bits, group, sym, desc, version]);
const AWQ_CASES = [32, 64].map((group) => [40 + group, 16, 128, group]);
const BNB_CASES: number[][] = [];
for (const fp4 of [0, 1]) for (const nested of [0, 1]) for (const block of [64, 128]) BNB_CASES.push([50 + block + nested, 8, 256, block, nested, fp4]);
const LAYERS: Array<[string, number[], string]> = [
  ...GPTQ_CASES.map((a): [string, number[], string] => ['gptq', a, '']),
  ...AWQ_CASES.map((a): [string, number[], string] => ['awq', a, '']),
  ...BNB_CASES.map((a): [string, number[], string] => ['bnb', a, '']),
  ['gptq', [90, 16, 128, 4, 32, 1, 0, 2], '-beside'],
  ['gptq', [70, 16, 64, 4, 32, 0, 1, 1], '-bad'],
  ['bnb', [80, 8, 128, 64, 1, 0], '-bad'],
];
const folder = (kind: string, args: number[], sub: string) => path.join(dir, `${kind}-${args.join('-')}${sub}`);
const configs = (() => {
  const manifest = LAYERS.map(([kind, args, sub]) => {
    const d = folder(kind, args, sub);
    fs.mkdirSync(d, { recursive: true });
    return [kind, path.join(d, 'model.safetensors'), path.join(d, 'w.f32'), args];
  });
  const m = path.join(dir, 'layers.json');
  fs.writeFileSync(m, JSON.stringify(manifest));
  const out = JSON.parse(execFileSync(findPython(), [refScript, 'batch', m], { encoding: 'utf8', cwd: path.dirname(refScript) })) as Array<Record<string, unknown>>;
  return new Map(LAYERS.map(([kind, args, sub], i) => [folder(kind, args, sub), out[i]]));
})();

function reference(kind: string, args: number[], sub = ''): { file: string; weights: Float32Array; config: Record<string, unknown> } {
  const d = folder(kind, args, sub);
  const config = configs.get(d);
  if (!config) throw new Error(`reference layer ${kind} ${args} ${sub} is not in LAYERS`);
  return { file: path.join(d, 'model.safetensors'), weights: readF32(path.join(d, 'w.f32')), config: { ...config } };
}

/** Mismatches between the imported matrix (columns permuted by p) and the reference's [out, in] weights. */
function mismatches(q: QuantizedMatrix, p: Int32Array | undefined, ref: Float32Array): number {
  const d = dequantize(q);
  let bad = 0;
  for (let n = 0; n < q.rows; n++) {
    for (let j = 0; j < q.cols; j++) if (!Object.is(d[n * q.cols + j], ref[n * q.cols + (p ? p[j] : j)])) bad++;
  }
  return bad;
}

t.test('GPTQ: every bits / group / sym / act-order / version combination dequantizes to the reference exactly', (tt) => {
  for (const args of GPTQ_CASES) {
    const [seed, out, inF, bits, group, sym, desc, version] = args;
    const what = `bits ${bits}, group ${group}, sym ${sym}, desc_act ${desc}, v${version}`;
    const r = reference('gptq', args);
    const f = openSafetensors(r.file);
    const { bias: refBias, wrapped_zero: wrapped, ...config } = r.config;
    if (wrapped) {
      // A zero-point of 0 that v1 stored as -1 (masked to the width) reads back as 2^bits, past every code:
      // refused, as it is at 4 bits (2-bit groups with an outlier column get such zero-points).
      tt.throws(() => layer(f, PREFIX, config), { name: 'RangeError', message: new RegExp(`past the largest ${bits}-bit code`) }, `${what}: a wrapped zero-point refused`);
      continue;
    }
    const got = layer(f, PREFIX, config);
    // Without a config a file reads as v1 (zero-points stored minus one), so only v1 files read right.
    const imp = version === 1 ? layer(f, PREFIX) : null;
    if (imp) tt.equal(imp.source, 'gptq', `${what}: recognised without a config`);
    tt.equal(got.matrix.scheme, sym ? 'symmetric' : 'asymmetric', `${what}: scheme`);
    tt.equal(got.matrix.granularity, group === -1 ? 'row' : 'group', `${what}: granularity`);
    tt.equal(got.matrix.scaleType, 'float16', `${what}: float16 scales kept`);
    tt.equal(!!got.inputPermutation, !!desc && group !== -1, `${what}: a permutation exactly for act order with several groups`);
    tt.equal(mismatches(got.matrix, got.inputPermutation, r.weights), 0, `${what}: every weight exact`);
    tt.same(Array.from(got.bias ?? []), refBias, `${what}: bias`);
    if (imp && !sym) tt.equal(mismatches(imp.matrix, imp.inputPermutation, r.weights), 0, `${what}: without a config too`);
    if (desc && bits === 4 && group === 32 && version === 2) {
      // The permutation is applied to x once: matmul(x', matrix) is the layer x * W^T.
      const x = randn(3 * inF, seed);
      const p = got.inputPermutation as Int32Array;
      const xp = new Float32Array(x.length);
      for (let i = 0; i < 3; i++) for (let j = 0; j < inF; j++) xp[i * inF + j] = x[i * inF + p[j]];
      const y = matmul(xp, got.matrix, { activations: 'float' });
      const yRef = matmulF32(x, r.weights, out, inF);
      const err = Math.max(...y.map((v, i) => Math.abs(v - yRef[i])));
      tt.ok(err < 1e-4 * Math.max(...yRef.map(Math.abs)), `${what}: matmul with the permuted x is the layer (max error ${err.toExponential(2)})`);
    }
  }
  tt.end();
});

t.test('AWQ GEMM layout and bitsandbytes NF4 / FP4 dequantize to the reference exactly', (tt) => {
  for (const args of AWQ_CASES) {
    const group = args[3];
    const r = reference('awq', args);
    const f = openSafetensors(r.file);
    for (const config of [r.config, {}]) {
      const got = layer(f, PREFIX, config);
      tt.equal(got.source, 'awq', `group ${group}: AWQ${config === r.config ? '' : ' recognised from the shapes'}`);
      tt.same([got.matrix.rows, got.matrix.cols, got.matrix.bits, got.matrix.scheme, got.matrix.groupSize], [16, 128, 4, 'asymmetric', group]);
      tt.equal(mismatches(got.matrix, undefined, r.weights), 0, `group ${group}: every weight exact`);
    }
  }
  for (const args of BNB_CASES) {
    const [, , , block, nested, fp4] = args;
    const r = reference('bnb', args);
    const got = layer(openSafetensors(r.file), PREFIX);
    const what = `${fp4 ? 'fp4' : 'nf4'} block ${block}${nested ? ', double-quantized absmax' : ''}`;
    tt.same(
      [got.source, got.matrix.format, got.matrix.groupSize, got.matrix.rows, got.matrix.cols],
      [fp4 ? 'bnb-fp4' : 'bnb-nf4', fp4 ? 'bnb_fp4' : 'nf4', block, 8, 256], what,
    );
    tt.equal(mismatches(got.matrix, undefined, r.weights), 0, `${what}: every weight exact`);
  }
  tt.end();
});

t.test('the configuration beside the file is read when none is given', (tt) => {
  const r = reference('gptq', [90, 16, 128, 4, 32, 1, 0, 2], '-beside');
  const d = path.dirname(r.file);
  const { bias: _bias, ...config } = r.config;
  tt.equal(layer(openSafetensors(r.file), PREFIX).matrix.scheme, 'asymmetric', 'no config: v1 read of a v2 file shifts zeros, asymmetric');
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], quantization_config: config }));
  const viaConfig = layer(openSafetensors(r.file), PREFIX);
  tt.equal(viaConfig.config.checkpoint_format, 'gptq_v2', "config.json's quantization_config");
  tt.equal(viaConfig.matrix.scheme, 'symmetric');
  tt.equal(mismatches(viaConfig.matrix, undefined, r.weights), 0);
  fs.writeFileSync(path.join(d, 'quantize_config.json'), JSON.stringify({ ...config, sym: false }));
  tt.equal(layer(openSafetensors(r.file), PREFIX).matrix.scheme, 'asymmetric', 'quantize_config.json comes first');
  fs.writeFileSync(path.join(d, 'quantize_config.json'), '{');
  tt.throws(() => layer(openSafetensors(r.file), PREFIX), { name: 'LowbitFileError', code: 'BAD_HEADER', message: /quantize_config\.json is not valid JSON/ });
  tt.end();
});

t.test('exportLinear: the tools\' layouts, which import back byte for byte', (tt) => {
  const rows = 32;
  const cols = 128;
  const w = randn(rows * cols, 7);
  const variants: Array<[string, QuantizedMatrix]> = [];
  for (const bits of [2, 3, 4, 8] as const) {
    for (const scheme of ['symmetric', 'asymmetric'] as const) {
      variants.push([`int${bits} ${scheme} g32`, quantize(w, rows, cols, { bits, scheme, groupSize: 32, scaleType: 'float16' })]);
      variants.push([`int${bits} ${scheme} row`, quantize(w, rows, cols, { bits, scheme, granularity: 'row', scaleType: 'float16' })]);
    }
  }
  let n = 0;
  for (const [what, q] of variants) {
    for (const [layout, version] of [['gptq', 1], ['gptq', 2], ['awq', 1]] as const) {
      if (layout === 'awq' && (q.bits !== 4 || q.granularity === 'row')) {
        tt.throws(() => exportLinear(q, { layout, prefix: 'l' }), { name: 'RangeError' }, `${what}: no AWQ form`);
        continue;
      }
      const e = exportLinear(q, { layout, version, prefix: 'l' });
      const file = path.join(dir, `export-${n++}.safetensors`);
      writeSafetensors(file, e.tensors, { format: 'pt' });
      const back = layer(openSafetensors(file), 'l', e.quantization_config).matrix;
      const label = `${what} -> ${layout}${layout === 'gptq' ? ` v${version}` : ''}`;
      if (layout === 'awq' && q.scheme === 'symmetric') {
        tt.same(dequantize(back), dequantize(q), `${label}: the same values (as zero-points of 8)`);
        continue;
      }
      tt.same(
        [back.scheme, back.granularity, back.groupSize, back.scaleType],
        [q.scheme, q.granularity, q.groupSize, q.scaleType],
        `${label}: same layout`,
      );
      tt.ok(Buffer.from(back.data).equals(Buffer.from(q.data)), `${label}: same codes`);
      tt.ok(Buffer.from(back.scales.buffer, back.scales.byteOffset, back.scales.byteLength).equals(Buffer.from(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength)), `${label}: same scales`);
      tt.same(back.zeros, q.zeros, `${label}: same zero-points`);
    }
  }
  // A zero-point of 0 cannot be stored by GPTQ v1 (zero - 1 = -1).
  const positive = quantize(w.map(Math.abs), rows, cols, { bits: 4, scheme: 'asymmetric', groupSize: 32, scaleType: 'float16' });
  tt.throws(() => exportLinear(positive, { layout: 'gptq', prefix: 'l' }), { name: 'RangeError', message: /zero-point 0 .* cannot be stored in GPTQ v1.*use version 2/ });
  tt.ok(exportLinear(positive, { layout: 'gptq', version: 2, prefix: 'l' }), 'v2 stores it');
  const bad: Array<[() => unknown, RegExp]> = [
    [() => exportLinear(quantize(w, rows, cols, { bits: 4, groupSize: 32 }), { layout: 'gptq', prefix: 'l' }), /float32 scales; the gptq layout stores float16/],
    [() => exportLinear(quantize(w, rows, cols, { format: 'q4_0' }), { layout: 'gptq', prefix: 'l' }), /format 'q4_0'/],
    [() => exportLinear(quantize(w, rows, cols, { bits: 4, granularity: 'tensor', scaleType: 'float16' }), { layout: 'gptq', prefix: 'l' }), /tensor scales/],
    [() => exportLinear(variants[0][1], { layout: 'marlin' as 'gptq', prefix: 'l' }), /layout must be 'gptq' or 'awq'/],
    [() => exportLinear({ ...variants[0][1], groupSize: 48 }, { layout: 'gptq', prefix: 'l' }), /exportLinear: q.groupSize/],
    [() => exportLinear({ ...variants[0][1], data: variants[0][1].data.subarray(1) }, { layout: 'gptq', prefix: 'l' }), /exportLinear: q.data/],
    [() => exportLinear(variants[0][1], { layout: 'gptq', prefix: '' }), /prefix must be a non-empty string/],
    [() => exportLinear(variants[0][1], { layout: 'gptq', version: 3 as 1, prefix: 'l' }), /version must be 1 or 2/],
  ];
  for (const [fn, message] of bad) tt.throws(fn, { name: 'RangeError', message });
  tt.end();
});

t.test('malformed layers: a RangeError naming the layer and what is wrong', (tt) => {
  const r = reference('gptq', [70, 16, 64, 4, 32, 0, 1, 1], '-bad');
  const src = openSafetensors(r.file);
  const tensors = (): Record<string, SafetensorsTensorInput> =>
    Object.fromEntries(src.tensors.map((x) => [x.name, { dtype: x.dtype, shape: x.shape, data: src.bytes(x.name).slice() }]));
  const cases: Array<[string, (ts: Record<string, SafetensorsTensorInput>) => void, RegExp, Record<string, unknown>?]> = [
    ['no qzeros', (ts) => delete ts[`${PREFIX}.qzeros`], /the file has no .*qzeros/],
    ['qweight dtype', (ts) => { ts[`${PREFIX}.qweight`].dtype = 'F32'; }, /qweight has dtype F32; I32 is needed/],
    ['3-bit', (ts) => { ts[`${PREFIX}.qzeros`] = { dtype: 'I32', shape: [2, 3], data: new Int32Array(6) }; }, /means 6-bit codes; lowbit's integer formats are 2-, 3-, 4- and 8-bit/],
    ['bits disagree', () => undefined, /the config says 8 bits but the tensors hold 4-bit codes/, { bits: 8 }],
    ['g_idx range', (ts) => { (ts[`${PREFIX}.g_idx`].data as Uint8Array).set([9, 0, 0, 0], 0); }, /g_idx\[0\] = 9 is not a group \(0 to 1\)/],
    ['g_idx uneven', (ts) => { const g = new Int32Array(64); g[5] = 1; ts[`${PREFIX}.g_idx`].data = g; }, /g_idx puts 63 inputs in group 0; lowbit's groups hold 32 each/],
    ['g_idx length', (ts) => { ts[`${PREFIX}.g_idx`] = { dtype: 'I32', shape: [8], data: new Int32Array(8) }; }, /g_idx has 8 entries for 64 inputs/],
    ['v1 wrapped zero', (ts) => { ts[`${PREFIX}.qzeros`].data = new Int32Array(4).fill(-1); }, /zero-point 16 .* a v1 checkpoint stored zero - 1 = -1/],
    ['scales shape', (ts) => { ts[`${PREFIX}.scales`] = { dtype: 'F16', shape: [32], data: new Uint16Array(32) }; }, /scales has shape \[32\]; \[groups, out_features\] is needed/],
    ['AWQ version', () => undefined, /AWQ version 'gemv' is not supported/, { quant_method: 'awq', version: 'gemv' }],
    ['no layer', () => undefined, /has no layer 'model.layers.1' \(looked for model.layers.1.qweight, model.layers.1.weight.absmax and model.layers.1.weight/, { prefix: 'model.layers.1' }],
  ];
  let i = 0;
  for (const [what, edit, message, cfg] of cases) {
    const ts = tensors();
    edit(ts);
    const file = path.join(dir, `bad-${i++}.safetensors`);
    writeSafetensors(file, ts);
    const { prefix = PREFIX, ...config } = cfg ?? {};
    tt.throws(() => layer(openSafetensors(file), prefix as string, { quant_method: 'gptq', ...config }), { name: 'RangeError', message }, what);
  }
  const nf = reference('bnb', [80, 8, 128, 64, 1, 0], '-bad');
  const nsrc = openSafetensors(nf.file);
  const ntensors = (): Record<string, SafetensorsTensorInput> =>
    Object.fromEntries(nsrc.tensors.map((x) => [x.name, { dtype: x.dtype, shape: x.shape, data: nsrc.bytes(x.name).slice() }]));
  const state = `${PREFIX}.weight.quant_state.bitsandbytes__nf4`;
  const setState = (ts: Record<string, SafetensorsTensorInput>, s: unknown, name = state): void => {
    delete ts[state];
    const b = Buffer.from(typeof s === 'string' ? s : JSON.stringify(s));
    ts[name] = { dtype: 'U8', shape: [b.length], data: new Uint8Array(b) };
  };
  const base = { quant_type: 'nf4', blocksize: 64, dtype: 'bfloat16', shape: [8, 128], nested_blocksize: 256, nested_offset: 0.01 };
  const ncases: Array<[string, (ts: Record<string, SafetensorsTensorInput>) => void, RegExp]> = [
    ['int4 quant type', (ts) => setState(ts, { ...base, quant_type: 'int4' }), /quant_type 'int4' is not nf4 or fp4/],
    ['fp4 state on nf4 data', (ts) => setState(ts, { ...base, quant_type: 'fp4' }, `${PREFIX}.weight.quant_state.bitsandbytes__fp4`), /quant_map is not the bitsandbytes FP4 table/],
    ['name and type disagree', (ts) => setState(ts, { ...base, quant_type: 'fp4' }), /bitsandbytes__nf4 says quant_type 'fp4'/],
    ['state JSON', (ts) => setState(ts, '{"quant_type": '), /quant_state.bitsandbytes__nf4 is not valid JSON/],
    ['block across rows', (ts) => setState(ts, { ...base, blocksize: 48 }), /blocksize 48 must divide in_features 128/],
    ['shape', (ts) => setState(ts, { ...base, shape: [8, 64] }), /holds 1024 codes for a \[8, 64\] weight/],
    ['quant_map', (ts) => { ts[`${PREFIX}.weight.quant_map`].data = new Float32Array(16); }, /quant_map is not the NF4 table/],
    ['nested fields', (ts) => setState(ts, { ...base, nested_offset: undefined }), /lacks nested_blocksize \/ nested_offset/],
    ['no state', (ts) => delete ts[state], /absmax without .*quant_state.bitsandbytes__nf4/],
  ];
  for (const [what, edit, message] of ncases) {
    const ts = ntensors();
    edit(ts);
    const file = path.join(dir, `bad-${i++}.safetensors`);
    writeSafetensors(file, ts);
    tt.throws(() => layer(openSafetensors(file), PREFIX, {}), { name: 'RangeError', message }, what);
  }
  tt.throws(() => importLinear({} as never, PREFIX), { name: 'TypeError', message: /file must be an open SafetensorsFile/ });
  tt.throws(() => importLinear(src, ''), { name: 'TypeError', message: /prefix must be a non-empty string/ });
  tt.end();
});

t.test('an unquantized layer comes back as float32 weights', (tt) => {
  const file = path.join(dir, 'float.safetensors');
  const w = randn(6 * 8, 3);
  const half = new Uint16Array([0x3c00, 0xc000, 0x3800]);
  writeSafetensors(file, {
    'a.weight': { shape: [6, 8], data: w },
    'a.bias': { dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xc000, 0x4040]) },
    'b.weight': { dtype: 'F16', shape: [1, 3], data: half },
    'c.weight': { shape: [48], data: w },
    'd.weight': { dtype: 'I32', shape: [2, 2], data: new Int32Array(4) },
  });
  const f = openSafetensors(file);
  const a = importLinear(f, 'a');
  if (a.source !== 'float') throw new Error('a is float');
  tt.same([a.rows, a.cols], [6, 8]);
  tt.same(a.weights, w, 'F32 weights as stored');
  tt.same(a.bias, new Float32Array([1, -2, 3]), 'a BF16 bias converted');
  const b = importLinear(f, 'b');
  tt.same(b.source === 'float' && b.weights, new Float32Array([1, -2, 0.5]), 'F16 weights converted exactly');
  tt.throws(() => importLinear(f, 'c'), { name: 'RangeError', message: /c.weight has shape \[48\]; a linear layer's weight is \[out_features, in_features\]/ });
  tt.throws(() => importLinear(f, 'd'), { name: 'RangeError', message: /d.weight has dtype I32; a float tensor/ });
  tt.end();
});
