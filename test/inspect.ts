// inspectModelFile / `lowbit inspect`: GGUF and safetensors files summed up by storage type.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { exportLinear, inspectModelFile, quantize, writeGGUF, writeSafetensors } from 'lowbit';
import { findPython, randn, tmpDir } from './helpers';

const dir = tmpDir('lowbit-inspect-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const cli = path.join(__dirname, '..', 'dist', 'cli.js');

t.test('a GGUF file by tensor type', (tt) => {
  const p = path.join(dir, 'm.gguf');
  const w = randn(64 * 256, 1);
  writeGGUF(p, {
    metadata: { 'general.architecture': 'llama', 'general.name': 'tiny' },
    tensors: {
      'blk.0.attn_q.weight': quantize(w, 64, 256, { format: 'q4_0' }),
      'blk.0.attn_k.weight': quantize(w, 64, 256, { format: 'q4_0' }),
      'output.weight': quantize(w, 64, 256, { format: 'q8_0' }),
      'output_norm.weight': { shape: [256], data: w.subarray(0, 256) },
      'blk.0.ffn_down.weight': { type: 'Q6_K', shape: [256, 4], data: new Uint8Array(4 * 210) },
      'blk.0.attn_v.weight': { type: 'IQ2_XXS', shape: [256, 4], data: new Uint8Array(4 * 66) },
      'blk.0.ffn_gate.weight': quantize(w.subarray(0, 4 * 256), 4, 256, { format: 'q3_k' }),
    },
  });
  const s = inspectModelFile(p);
  tt.same([s.container, s.architecture, s.name, s.tensors, s.parameters], ['gguf', 'llama', 'tiny', 7, 3 * 64 * 256 + 256 + 3 * 1024]);
  const q4 = s.groups.find((g) => g.type === 'Q4_0');
  tt.same([q4?.tensors, q4?.parameters, q4?.bytes, q4?.bitsPerWeight, q4?.supported], [2, 2 * 64 * 256, 2 * 64 * 8 * 18, 4.5, true]);
  const q6 = s.groups.find((g) => g.type === 'Q6_K');
  tt.same([q6?.bitsPerWeight, q6?.supported], [6.5625, true]);
  const iq2 = s.groups.find((g) => g.type === 'IQ2_XXS');
  tt.same([iq2?.bitsPerWeight, iq2?.supported, iq2?.kernel], [2.0625, false, null]);
  tt.same(Object.fromEntries(s.groups.map((g) => [g.type, g.kernel])), {
    Q4_0: 'packed int8', Q8_0: 'packed int8', Q6_K: 'packed int8, block scales', Q3_K: 'packed int8, block scales', F32: 'sgemm', IQ2_XXS: null,
  }, 'the kernel of each type');
  tt.equal(s.dataBytes, s.groups.reduce((a, g) => a + g.bytes, 0));
  const r = spawnSync(process.execPath, [cli, 'inspect', p], { encoding: 'utf8' });
  tt.equal(r.status, 0);
  tt.match(r.stdout, /gguf, llama \(tiny\), 7 tensors, 52,480 parameters/);
  tt.match(r.stdout, /\| Q4_0 +\| 2 +\| 32,768 +\| 0\.00 \| 4\.50 +\| packed int8 /);
  tt.match(r.stdout, /\| IQ2_XXS +\| 1 +\| 1,024 +\| 0\.00 \| 2\.06 +\| no \(not supported\)/);
  const j = spawnSync(process.execPath, [cli, 'inspect', p, '--json'], { encoding: 'utf8' });
  tt.same(JSON.parse(j.stdout), s, '--json prints the summary');
  tt.end();
});

t.test('a safetensors checkpoint: quantized layers counted as layers', (tt) => {
  const p = path.join(dir, 'model.safetensors');
  const q = quantize(randn(32 * 128, 2), 32, 128, { bits: 4, groupSize: 32, scaleType: 'float16' });
  const e = exportLinear(q, { layout: 'gptq', prefix: 'model.layers.0.self_attn.q_proj' });
  writeSafetensors(p, { ...e.tensors, 'model.norm.weight': { dtype: 'F16', shape: [128], data: new Uint16Array(128) } }, { format: 'pt' });
  const s = inspectModelFile(p);
  tt.same([s.container, s.architecture, s.tensors], ['safetensors', 'pt', 5]);
  const g = s.groups.find((x) => x.type === 'gptq int4');
  tt.same([g?.tensors, g?.parameters, g?.supported, g?.kernel], [4, 32 * 128, true, 'packed int8']);
  tt.ok(Math.abs((g?.bitsPerWeight ?? 0) - (4 + (16 + 4) / 32 + 32 / 32)) < 1e-9, 'codes, fp16 scale and 4-bit zero per 32, an int32 g_idx per input over 32 rows');
  const nf = path.join(dir, 'nf4.safetensors');
  execFileSync(findPython(), [path.join(__dirname, 'reference', 'qlinear_ref.py'), 'bnb', nf, path.join(dir, 'nf4.f32'), '3', '8', '128', '64', '1', '0'], { cwd: path.join(__dirname, 'reference') });
  const n = inspectModelFile(nf);
  tt.same(n.groups.map((x) => [x.type, x.tensors, x.parameters, x.supported]), [['bnb nf4', 6, 1024, true]]);
  const bad = spawnSync(process.execPath, [cli, 'inspect', path.join(dir, 'none.gguf')], { encoding: 'utf8' });
  tt.equal(bad.status, 2);
  tt.match(bad.stderr, /^lowbit: inspect: ENOENT/);
  tt.equal(spawnSync(process.execPath, [cli, 'inspect'], { encoding: 'utf8' }).status, 2, 'a file is required');
  tt.end();
});

t.test('the format is told by the bytes, not the name; a file of neither says so', (tt) => {
  const g = path.join(dir, 'looks-like.safetensors');
  writeGGUF(g, { tensors: { w: quantize(randn(32 * 32, 3), 32, 32, { format: 'q8_0' }) } });
  tt.equal(inspectModelFile(g).container, 'gguf', 'a GGUF file named .safetensors');
  const garbage = path.join(dir, 'garbage.gguf');
  fs.writeFileSync(garbage, Buffer.from('this is not a model file, only text'));
  tt.throws(() => inspectModelFile(garbage), {
    name: 'LowbitFileError', code: 'BAD_MAGIC', path: garbage,
    message: /neither a GGUF file \(it does not start with 'GGUF'\) nor a safetensors file/,
  });
  const cliRun = spawnSync(process.execPath, [cli, 'inspect', garbage], { encoding: 'utf8' });
  tt.same([cliRun.status, cliRun.stdout], [2, '']);
  tt.match(cliRun.stderr, /^lowbit: inspect: .*garbage\.gguf: neither a GGUF file .* nor a safetensors file[^\n]*\n$/);
  tt.throws(() => inspectModelFile(dir), { name: 'LowbitFileError', code: 'EISDIR' });
  tt.end();
});
