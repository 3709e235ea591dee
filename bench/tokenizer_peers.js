#!/usr/bin/env node
// tokenizer_peers.js: the encode throughput of lathe's tokenizer peers, one
// thread each, on the same text: gpt-tokenizer@4.0.0 (pure JavaScript,
// cl100k_base), tiktoken@1.0.22 (Rust compiled to WASM, cl100k_base) and
// Hugging Face tokenizers@0.23.2 (the Rust library's Node binding, on the
// Llama 3 tokenizer.json that lathe uses). cl100k_base and Llama 3 share the
// pre-tokenizer regex and 100k of the 128k merges, so their work per byte is
// close; only the Rust binding runs the very same tokenizer as lathe.
//
// Each peer encodes the whole text (one string) --reps times after loading;
// the first pass and the median of the others are reported in MB/s (bytes of
// UTF-8), one JSON line per peer. --ids-out FILE writes the Rust library's
// Llama 3 ids (space-separated) so bench/tokenizer.sh can check lathe's.
//   node bench/tokenizer_peers.js --text FILE [--reps 5] [--ids-out FILE]
// Needs `scripts/fetch-test-data.sh --bench`.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const npm = (p) => path.join(root, 'cache/npm', p);

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const textPath = arg('--text', path.join(root, 'cache/text/sotu.txt'));
const reps = Number(arg('--reps', '5'));
const idsOut = arg('--ids-out', null);
const bytes = fs.statSync(textPath).size;
const text = fs.readFileSync(textPath, 'utf8');

async function measure(peer, encoding, encode) {
  const mbs = [];
  let tokens = 0;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const n = await encode(text);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    mbs.push(bytes / seconds / 1e6);
    tokens = n;
  }
  const rest = mbs.slice(1).sort((a, b) => a - b);
  const median = rest.length ? rest[Math.floor((rest.length - 1) / 2)] : mbs[0];
  console.log(JSON.stringify({ peer, encoding, bytes, tokens, mb_s_first: +mbs[0].toFixed(2),
                               mb_s: +median.toFixed(2) }));
}

async function main() {
  const gpt = require(npm('gpt-tokenizer-4.0.0/package/cjs/encoding/cl100k_base.js'));
  await measure('gpt-tokenizer@4.0.0 (JS)', 'cl100k_base', (s) => gpt.encode(s).length);

  const { get_encoding } = require(npm('tiktoken-1.0.22/package/tiktoken.cjs'));
  const enc = get_encoding('cl100k_base');
  await measure('tiktoken@1.0.22 (WASM)', 'cl100k_base', (s) => enc.encode(s).length);
  enc.free();

  const { Tokenizer } = require(npm('tokenizers-0.23.2/package'));
  const hf = Tokenizer.fromFile(path.join(root, 'cache/llama3/tokenizer.json'));
  let last = null;
  await measure('tokenizers@0.23.2 (Rust)', 'Llama 3 tokenizer.json', async (s) => {
    last = await hf.encode(s, null, { addSpecialTokens: false });
    return last.getLength();
  });
  if (idsOut) fs.writeFileSync(idsOut, last.getIds().join(' ') + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
