// Loading and building: the addon loads from a build or a prebuild with a clear error when neither
// matches, and the tests test what was just built.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { tmpDir } from './helpers';

{
  // Without a matching prebuild or a source build, loading fails with an error that says which
  // platform was looked for and how to build from source.
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
}

{
  // The tests test what was just built: `npm test` compiles lib/ first (so dist/ is never older than
  // lib/: a test run after editing lib/ cannot pass on stale code) and refuses a native build older than
  // csrc/ (scripts/check-build.js).
  const root = path.join(__dirname, '..');

  t.test('dist/ is at least as new as every file of lib/', async (t) => {
    const stale: string[] = [];
    const files = (fs.readdirSync(path.join(root, 'lib'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    t.ok(files.includes(path.join('core', 'native.ts')), 'the listing reaches the folders of lib/');
    for (const f of files) {
      const built = path.join(root, 'dist', f.replace(/\.ts$/, '.js'));
      if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(path.join(root, 'lib', f)).mtimeMs) stale.push(f);
    }
    t.same(stale, [], 'no lib/ file is newer than its build (run the tests with `npm test`, which compiles them)');
  });

  t.test('scripts/check-build.js refuses a native build older than its sources', async (t) => {
    const fake = tmpDir('lowbit-build-');
    const check = () => spawnSync(process.execPath, [path.join(root, 'scripts', 'check-build.js'), fake], { encoding: 'utf8' });
    fs.mkdirSync(path.join(fake, 'csrc', 'core'), { recursive: true });
    fs.mkdirSync(path.join(fake, 'build', 'Release'), { recursive: true });
    const src = path.join(fake, 'csrc', 'core', 'matmul.cc');
    const gyp = path.join(fake, 'binding.gyp');
    const bin = path.join(fake, 'build', 'Release', 'lowbit.node');
    const at = (p: string, s: number) => fs.utimesSync(p, s, s);
    for (const p of [src, gyp]) fs.writeFileSync(p, '');
    let r = check();
    t.equal(r.status, 1, 'no build at all');
    t.match(r.stderr, /no native build/);
    fs.writeFileSync(bin, '');
    at(src, 1000);
    at(gyp, 1000);
    at(bin, 2000);
    t.equal(check().status, 0, 'a build newer than every source passes');
    at(src, 3000);
    r = check();
    t.equal(r.status, 1, 'a source edited after the build fails');
    t.match(r.stderr, /build\/Release\/lowbit\.node is older than csrc\/core\/matmul\.cc/);
    at(src, 1000);
    at(gyp, 3000);
    t.match(check().stderr, /older than binding\.gyp/, 'so does binding.gyp');
    fs.mkdirSync(path.join(fake, 'csrc', 'tests'));
    at(gyp, 1000);
    fs.writeFileSync(path.join(fake, 'csrc', 'tests', 'test_kernels.cc'), '');
    t.equal(check().status, 0, 'the native test programs are not part of the addon');
  });
}
