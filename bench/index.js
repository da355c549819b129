// @ts-check
// `npm run bench [-- suite...]`: every benchmark suite, printed as Markdown tables.
'use strict';
const os = require('node:os');
const { wanted } = require('./common');

console.log(`# lowbit benchmarks: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} CPUs, node ${process.version}`);
if (wanted('quantize')) require('./quantize').run();
