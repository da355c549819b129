// @ts-check
// Shared benchmark plumbing: benchmark.js suites reduced to medians and printed as tables.
'use strict';
const Benchmark = require('benchmark');

/** @param {number[]} xs */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `fn` under benchmark.js and returns the median seconds per call.
 * @param {string} name
 * @param {() => void} fn
 * @param {{ maxTime?: number, minSamples?: number }} [opts]
 */
function timeIt(name, fn, opts = {}) {
  const b = new Benchmark(name, fn, { maxTime: opts.maxTime ?? 1, minSamples: opts.minSamples ?? 5, initCount: 1 });
  b.run({ async: false });
  // @ts-ignore: benchmark's typings omit `error`
  if (b.error) throw b.error;
  return median(b.stats.sample);
}

/**
 * Prints rows of cells as an aligned Markdown table.
 * @param {string[]} header
 * @param {(string | number)[][]} rows
 */
function printTable(header, rows) {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const width = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (/** @type {string[]} */ r) => `| ${r.map((c, i) => c.padEnd(width[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`| ${width.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of cells.slice(1)) console.log(line(r));
}

/** Which suites to run: `npm run bench -- quantize gemv` runs those; no argument runs all. */
function wanted(/** @type {string} */ suite) {
  const args = process.argv.slice(2);
  return args.length === 0 || args.includes(suite);
}

module.exports = { median, timeIt, printTable, wanted };
