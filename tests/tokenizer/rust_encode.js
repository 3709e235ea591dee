#!/usr/bin/env node
// rust_encode.js: encodes stdin with Hugging Face's Rust `tokenizers` (npm
// binding tokenizers@0.23.2, fetched into cache/ by scripts/fetch-test-data.sh)
// and prints the ids as `lathe tokenizer encode` does: space-separated, one
// line for the whole input, or with --lines one line per input line (each
// encoded without its newline). Used by tests/cli_tokenizer_train.sh to check
// that a tokenizer.json lathe wrote encodes the same in the Rust library.
//   node tests/tokenizer/rust_encode.js TOKENIZER_JSON [--lines] < text
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const { Tokenizer } = require(path.join(root, 'cache/npm/tokenizers-0.23.2/package'));

async function main() {
  const tokenizer = Tokenizer.fromFile(process.argv[2]);
  const lines = process.argv.includes('--lines');
  const text = fs.readFileSync(0).toString('utf8');
  const inputs = lines ? text.split('\n') : [text];
  if (lines && inputs[inputs.length - 1] === '') inputs.pop();
  const out = [];
  for (const input of inputs) {
    const encoding = await tokenizer.encode(input, null, { addSpecialTokens: false });
    out.push(encoding.getIds().join(' '));
  }
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
