// Without a matching prebuild or a source build, loading fails with an error that says which
// platform was looked for and how to build from source.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { tmpDir } from './helpers';

t.test('a clear error when no binary matches', async (t) => {
  const root = path.join(__dirname, '..');
  const dir = tmpDir('lowbit-noprebuild-');
  fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  let stderr = '';
  try {
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(dir, 'dist', 'index.js'))})`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (e) {
    stderr = String((e as { stderr: string }).stderr);
  }
  t.match(stderr, new RegExp(`lowbit: no prebuilt binary for ${process.platform}-${process.arch} \\(Node-API 9`));
  t.match(stderr, /npm install lowbit --build-from-source/);
  fs.rmSync(dir, { recursive: true, force: true });
});
