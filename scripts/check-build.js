#!/usr/bin/env node
// @ts-check
// Says which native binary `require('lowbit')` loads from this checkout, and fails when it is a source
// build older than the sources (a test run would test stale code). `npm test` runs it first.
// Usage: node scripts/check-build.js [root]   (exit 0: fresh or a prebuild; 1: stale or missing)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));

/**
 * The newest mtime among the files under `dir` that go into the addon, and the file.
 * @param {string} dir @returns {{ mtime: number, file: string }}
 */
function newestSource(dir) {
  let newest = { mtime: 0, file: '' };
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'tests') continue; // the native test programs are not in the addon
      const n = newestSource(p);
      if (n.mtime > newest.mtime) newest = n;
    } else if (/\.(cc|h|inc)$/.test(entry.name)) {
      const m = fs.statSync(p).mtimeMs;
      if (m > newest.mtime) newest = { mtime: m, file: p };
    }
  }
  return newest;
}

const binary = path.join(root, 'build', 'Release', 'lowbit.node');
if (!fs.existsSync(binary)) {
  const prebuilds = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (fs.existsSync(prebuilds) && fs.readdirSync(prebuilds).some((f) => f.endsWith('.node'))) {
    console.log(`lowbit: testing the prebuild in ${path.relative(root, prebuilds)} (no source build in build/Release)`);
    process.exit(0);
  }
  console.error('lowbit: no native build: run `npm install` (or `npx node-gyp rebuild`) first');
  process.exit(1);
}
const built = fs.statSync(binary).mtimeMs;
const sources = newestSource(path.join(root, 'csrc'));
const gyp = path.join(root, 'binding.gyp');
const newest = fs.statSync(gyp).mtimeMs > sources.mtime ? { mtime: fs.statSync(gyp).mtimeMs, file: gyp } : sources;
if (newest.mtime > built) {
  console.error(
    `lowbit: build/Release/lowbit.node is older than ${path.relative(root, newest.file)}: the tests would run ` +
      'stale native code. Rebuild it with `npx node-gyp build` (`npx node-gyp rebuild` after changing binding.gyp).',
  );
  process.exit(1);
}
