#!/usr/bin/env node
// rust_train.js: trains a byte-level BPE with Hugging Face's Rust `tokenizers`
// (npm binding tokenizers@0.23.2) — its default BpeTrainer (min_frequency 0,
// vocab 30000) behind the Llama 3 pre-tokenizer — and writes tokenizer.json.
// tests/cli_tokenizer_train.sh compares its merges with lathe's: an
// independent implementation of the same training rule. (The Rust trainer
// reads files line by line, so give it text without blank lines, where that
// makes no difference to the pre-tokens.)
//   node tests/tokenizer/rust_train.js CORPUS OUT_JSON
'use strict';
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const { Tokenizer } = require(path.join(root, 'cache/npm/tokenizers-0.23.2/package'));

const pattern =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const config = {
  version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
  pre_tokenizer: {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  },
  post_processor: null,
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
           end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: {}, merges: [] },
};
const tokenizer = Tokenizer.fromString(JSON.stringify(config));
tokenizer.train([process.argv[2]]);
tokenizer.save(process.argv[3]);
