#!/usr/bin/env node
// @ts-check
// Cross-compiles the win32-x64 prebuild with MinGW-w64 (Debian's g++-mingw-w64-x86-64-posix): the sources,
// flags and defines of binding.gyp's x64 targets, linked against Node-API only (an import library made from
// node-api-headers' node_api.def: node.exe exports it) with the C++ runtime and winpthreads static, so the
// addon needs no DLL beside it. Output: prebuilds/win32-x64/node.napi.node (prebuildify's name).
//
// GCC cannot align Windows x64 stack frames beyond 16 bytes, yet spills AVX and AVX-512 registers with
// aligned moves (GCC bug 54412): every object is assembled with -muse-unaligned-vector-move, which makes
// the assembler encode those moves unaligned (vmovaps -> vmovups: the same speed on aligned data).
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cxx = process.env.MINGW_CXX ?? 'x86_64-w64-mingw32-g++-posix';
const dlltool = process.env.MINGW_DLLTOOL ?? 'x86_64-w64-mingw32-dlltool';
const strip = process.env.MINGW_STRIP ?? 'x86_64-w64-mingw32-strip';
const out = path.join(root, 'build', 'win32-x64');
const dest = path.join(root, 'prebuilds', 'win32-x64', 'node.napi.node');

const { readGyp, expandVariables, resolveTarget } = require('./gyp-targets');
const gyp = readGyp();
const defaults = gyp.target_defaults;
/**
 * Each x64 target's sources with its compiler flags and defines (its conditions for target_arch=='x64'
 * applied); obj names an object per target and source (the kernel sets compile the same sources).
 */
/** @type {Array<{ src: string, obj: string, flags: string[] }>} */
const units = [];
for (const t of gyp.targets) {
  const r = resolveTarget(gyp, t, 'x64');
  const flags = [...r.defines.map((d) => `-D${d}`), ...r.flags];
  for (const s of r.sources) {
    units.push({ src: s, obj: `${t.target_name}_${s.replace(/[/\\]/g, '_').replace(/\.cc$/, '.o')}`, flags });
  }
}

const napiHeaders = path.dirname(require.resolve('node-api-headers/package.json'));
const includes = [
  '-I', path.join(napiHeaders, 'include'),
  '-I', path.dirname(require.resolve('node-addon-api/napi.h')),
];
const common = [
  ...expandVariables(gyp, defaults.cflags_cc).filter((f) => f !== '-fvisibility=hidden'), // no ELF visibility in PE objects
  ...defaults.defines.map((/** @type {string} */ d) => `-D${d}`), '-D_WIN32_WINNT=0x0A00',
  '-Wa,-muse-unaligned-vector-move', ...includes,
];

fs.mkdirSync(out, { recursive: true });
const jobs = Number(process.env.JOBS) > 0 ? Number(process.env.JOBS) : os.availableParallelism();

/** Compiles every unit, `jobs` at a time; resolves with the objects. */
async function compileAll() {
  /** @type {string[]} */
  const objects = [];
  let next = 0;
  /** @type {string | null} */
  let failed = null;
  const one = async () => {
    while (next < units.length && !failed) {
      const u = units[next++];
      const obj = path.join(out, u.obj);
      objects.push(obj);
      const args = [...common, ...u.flags, '-c', path.join(root, u.src), '-o', obj];
      const code = await new Promise((resolve) => spawn(cxx, args, { stdio: 'inherit' }).on('exit', resolve));
      if (code !== 0) failed = `${cxx} ${u.src} exited with ${code}`;
    }
  };
  await Promise.all(Array.from({ length: jobs }, one));
  if (failed) throw new Error(failed);
  return objects;
}

async function main() {
  const t0 = Date.now();
  const objects = await compileAll();
  // node.exe exports Node-API; the import library says so to the linker.
  const implib = path.join(out, 'libnode_api.a');
  execFileSync(dlltool, ['-d', path.join(napiHeaders, 'def', 'node_api.def'), '-l', implib, '-D', 'node.exe'], { stdio: 'inherit' });
  const dll = path.join(out, 'lowbit.node');
  execFileSync(cxx, ['-shared', '-o', dll, ...objects, implib, '-static', '-static-libgcc', '-static-libstdc++', '-Wl,--exclude-all-symbols'], { stdio: 'inherit' });
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  execFileSync(strip, ['--strip-unneeded', '-o', dest, dll], { stdio: 'inherit' });
  console.log(`${path.relative(root, dest)}: ${units.length} units, ${(fs.statSync(dest).size / 1e6).toFixed(1)} MB, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((e) => {
  console.error(e.message);
  process.exitCode = 1;
});
