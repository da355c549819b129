#!/usr/bin/env node
// @ts-check
// binding.gyp is the one list of the addon's C++ sources and of each kernel set's compiler flags; the
// native test program, the native benchmark and the MinGW-w64 build read it through this file instead of
// keeping lists of their own.
//   node scripts/gyp-targets.js sources TARGET [ARCH]   the target's sources, one per line
//   node scripts/gyp-targets.js flags TARGET [ARCH]     its own defines (as -D) and cflags_cc, one per line
//   node scripts/gyp-targets.js defines TARGET [ARCH]   its own defines alone, as -D, one per line
// ARCH (x64 or arm64, default this machine's) applies the target's `target_arch=='ARCH'` conditions;
// `<@(variable)` entries (of sources and flags) are expanded from binding.gyp's variables.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

/** binding.gyp as JSON (its comment lines removed). */
function readGyp() {
  const text = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8');
  return JSON.parse(text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n'));
}

/**
 * A list with its `<@(variable)` entries replaced by binding.gyp's variables.
 * @param {any} gyp @param {string[]} list @returns {string[]}
 */
function expandVariables(gyp, list) {
  return list.flatMap((f) => {
    const m = /^<@\((\w+)\)$/.exec(f);
    if (m && !(m[1] in gyp.variables)) throw new Error(`binding.gyp: unknown variable ${m[1]}`);
    return m ? gyp.variables[m[1]] : [f];
  });
}

/**
 * One target's sources, compiler flags and defines for an architecture.
 * @param {any} gyp @param {any} target @param {string} arch
 * @returns {{ sources: string[], flags: string[], defines: string[] }}
 */
function resolveTarget(gyp, target, arch) {
  let sources = target.sources ?? [];
  let flags = target.cflags_cc ?? [];
  let defines = target.defines ?? [];
  for (const [cond, body] of target.conditions ?? []) {
    if (cond !== `target_arch=='${arch}'`) continue;
    sources = [...sources, ...(body.sources ?? [])];
    flags = [...flags, ...(body.cflags_cc ?? [])];
    defines = [...defines, ...(body.defines ?? [])];
  }
  return { sources: expandVariables(gyp, sources), flags: expandVariables(gyp, flags), defines };
}

/** @param {any} gyp @param {string} name */
function findTarget(gyp, name) {
  const t = gyp.targets.find((/** @type {any} */ x) => x.target_name === name);
  if (!t) throw new Error(`binding.gyp has no target '${name}' (targets: ${gyp.targets.map((/** @type {any} */ x) => x.target_name).join(', ')})`);
  return t;
}

module.exports = { readGyp, expandVariables, resolveTarget, findTarget };

if (require.main === module) {
  const [what, name, arch = process.arch] = process.argv.slice(2);
  if (!['sources', 'flags', 'defines'].includes(what) || !name || (arch !== 'x64' && arch !== 'arm64')) {
    console.error('usage: node scripts/gyp-targets.js sources|flags|defines TARGET [x64|arm64]');
    process.exit(2);
  }
  const gyp = readGyp();
  const t = resolveTarget(gyp, findTarget(gyp, name), arch);
  const defines = t.defines.map((d) => `-D${d}`);
  const lines = what === 'sources' ? t.sources : what === 'defines' ? defines : [...defines, ...t.flags];
  for (const line of lines) console.log(line);
}
