// `npm install`: node-gyp-build loads a prebuilt binary when one matches this platform, else builds from
// source on every core (node-gyp reads JOBS).
'use strict';
process.env.JOBS = process.env.JOBS || 'max';
require('node-gyp-build/bin.js');
