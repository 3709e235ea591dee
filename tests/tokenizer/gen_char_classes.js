#!/usr/bin/env node
// gen_char_classes.js: writes tests/fixtures/tokenizer/llama3_char_classes.txt,
// how the Rust `tokenizers` library's Llama 3 pre-tokenizer (Oniguruma) treats
// every Unicode code point, probed through its pre_tokenize_string:
//   L  "x" c "x" stays one pre-token          (a letter: \p{L})
//   N  "1" c is one pre-token                  (a number: \p{N})
//   S  c "!" is two pre-tokens                 (whitespace: \s)
//   O  anything else                           (punctuation, symbols, marks, ...)
//   -  surrogates (not characters)
// The file lists runs: "<first code point, hex> <class>", one per line.
// tests/test_tokenizer_classes.c probes lathe's pre-tokenizer the same way.
//
// Rerun (from the repository root, after scripts/fetch-test-data.sh; ~15 s):
//   node tests/tokenizer/gen_char_classes.js
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const { Tokenizer } = require(path.join(root, 'cache/npm/tokenizers-0.23.2/package'));
const tokenizer = Tokenizer.fromFile(path.join(root, 'cache/llama3/tokenizer.json'));
const pre = tokenizer.getPreTokenizer();
const pieces = (s) => pre.preTokenizeString(s).length;

function classOf(cp) {
  if (cp >= 0xd800 && cp <= 0xdfff) return '-';
  const c = String.fromCodePoint(cp);
  if (pieces('x' + c + 'x') === 1) return 'L';
  if (pieces('1' + c) === 1) return 'N';
  if (pieces(c + '!') === 2) return 'S';
  return 'O';
}

const lines = [];
let last = '';
for (let cp = 0; cp <= 0x10ffff; cp++) {
  const cls = classOf(cp);
  if (cls !== last) lines.push(cp.toString(16) + ' ' + cls);
  last = cls;
}
const out = path.join(root, 'tests/fixtures/tokenizer/llama3_char_classes.txt');
fs.writeFileSync(out, lines.join('\n') + '\n');
console.log(`wrote ${lines.length} runs to ${path.relative(root, out)}`);
