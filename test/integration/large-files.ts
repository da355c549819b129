// Large files: a 1 GiB GGUF is mapped, not read. `npm run test:integration`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import t from 'tap';
import { openGGUF, writeGGUF } from 'lowbit';
import { tmpDir } from '../helpers';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const dir = tmpDir('lowbit-large-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => path.join(dir, name);

t.test('a 1 GiB file opens without reading its tensors: resident memory grows with what is touched', (tt) => {
  const p = file('big.gguf');
  const chunk = new Uint8Array(64 << 20); // 16 tensors of 64 MiB: 1 GiB
  const tensors: Array<[string, { type: string; shape: number[]; data: Uint8Array }]> = [];
  for (let i = 0; i < 16; i++) tensors.push([`blk.${i}.w`, { type: 'I8', shape: [65536, 1024], data: chunk }]);
  writeGGUF(p, { tensors });
  tt.ok(fs.statSync(p).size > 2 ** 30, 'written');
  gc();
  const rss0 = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const f = openGGUF(p);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rss1 = process.memoryUsage().rss;
  tt.equal(f.tensors.length, 16);
  tt.ok(rss1 - rss0 < 16 << 20, `opening grew resident memory by ${((rss1 - rss0) / 2 ** 20).toFixed(1)} MiB (< 16) in ${ms.toFixed(1)} ms`);
  const b = f.bytes('blk.3.w');
  let sum = 0;
  for (let i = 0; i < b.length; i += 4096) sum += b[i];
  const rss2 = process.memoryUsage().rss;
  tt.equal(sum, 0);
  tt.ok(rss2 - rss1 > 48 << 20 && rss2 - rss1 < 96 << 20, `touching one 64 MiB tensor grew it by ${((rss2 - rss1) / 2 ** 20).toFixed(1)} MiB`);
  f.close();
  fs.rmSync(p);
  tt.end();
});
