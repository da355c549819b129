// @ts-check
// The one seeded generator of the repository's scripts, benchmarks and tests (test/helpers.ts
// re-exports it): mulberry32, small and reproducible across runs and machines.
'use strict';

/** Uniform floats in [0, 1) from a 32-bit seed. @param {number} seed @returns {() => number} */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller) from two uniforms of `u`. @param {() => number} u */
function gaussian(u) {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

module.exports = { mulberry32, gaussian };
