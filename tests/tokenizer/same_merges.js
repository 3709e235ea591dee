#!/usr/bin/env node
// same_merges.js: exits 0 when two tokenizer.json files have the same merges
// in the same order (either "a b" or ["a", "b"] form), else prints the first
// difference and exits 1.
//   node tests/tokenizer/same_merges.js A.json B.json
'use strict';
const fs = require('fs');

const merges = (file) =>
  JSON.parse(fs.readFileSync(file, 'utf8')).model.merges.map((m) =>
    Array.isArray(m) ? m.join(' ') : m);
const a = merges(process.argv[2]);
const b = merges(process.argv[3]);
for (let i = 0; i < Math.max(a.length, b.length); i++) {
  if (a[i] !== b[i]) {
    console.log(`merge ${i} differs: ${JSON.stringify(a[i])} vs ${JSON.stringify(b[i])} ` +
                `(${a.length} and ${b.length} merges)`);
    process.exit(1);
  }
}
console.log(`${a.length} merges, identical`);
