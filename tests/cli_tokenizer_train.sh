#!/usr/bin/env bash
# cli_tokenizer_train.sh: `lathe tokenizer train` end to end. The trained
# tokenizer.json must load in Hugging Face's Rust `tokenizers` (npm binding in
# cache/, fetched by scripts/fetch-test-data.sh) and encode every input exactly
# as lathe does; and the Rust library's own BPE trainer, run on the same text
# with the same pre-tokenizer, must learn the same merges in the same order.
# Training is deterministic (same input, same bytes). Without node or the npm
# package the Rust comparisons print SKIP and the rest still runs.
source "$(dirname "$0")/lib/cli.sh"
RUST=cache/npm/tokenizers-0.23.2/package

text=data/moby-dick-1-4.txt
samples=tests/fixtures/tokenizer/samples
expect 0 "usage: lathe tokenizer train" -- "$LATHE" tokenizer train --help
expect 2 "--vocab N is required" -- "$LATHE" tokenizer train --input $text --out "$tmp/x"
expect 2 "--input FILES... is required" -- "$LATHE" tokenizer train --vocab 500 --out "$tmp/x"
expect 2 "too small" -- "$LATHE" tokenizer train --vocab 100 --input $text --out "$tmp/x"
expect 2 "--vocab: 'ten' is not an integer" -- "$LATHE" tokenizer train --vocab ten --input $text --out "$tmp/x"
expect 1 "nope.txt: cannot open" -- "$LATHE" tokenizer train --vocab 500 --input "$tmp/nope.txt" --out "$tmp/x"
expect 2 "'<x>' is listed twice" -- "$LATHE" tokenizer train --vocab 500 --input $text --special '<x>' '<x>' --out "$tmp/x"

# Train (with a corpus mixing prose, code, other scripts and a stray invalid byte).
cat $text $samples/* >"$tmp/corpus.txt"
printf 'bad byte: \xff here\n' >>"$tmp/corpus.txt"
expect 0 "wrote .*: 1500 ids \(256 bytes, 1235 merges, 9 special tokens\)" -- \
  "$LATHE" tokenizer train --vocab 1500 --input "$tmp/corpus.txt" --special '<|tool|>' --out "$tmp/a"
"$LATHE" tokenizer train --vocab 1500 --input "$tmp/corpus.txt" --special '<|tool|>' --out "$tmp/b" >/dev/null 2>&1
same "$tmp/a/tokenizer.json" "$tmp/b/tokenizer.json" "training is deterministic (tokenizer.json)"
same "$tmp/a/tokenizer_config.json" "$tmp/b/tokenizer_config.json" "training is deterministic (config)"
expect 0 "bos +1491 <\|begin_of_text\|>" -- "$LATHE" tokenizer info --tokenizer "$tmp/a"
expect 0 "^1496 1499 1497$" -- "$LATHE" tokenizer encode --tokenizer "$tmp/a" --text "<|eot_id|><|tool|><think>"

# --split-digits: every digit its own token (Qwen2's regex), whatever the text repeats.
for i in $(seq 200); do echo "12345 + 678 = 13023, in 2024 and 1999."; done >"$tmp/digits.txt"
cat $text "$tmp/digits.txt" >"$tmp/digits-corpus.txt"
expect 2 "give it or --pattern RE, not both" -- \
  "$LATHE" tokenizer train --vocab 600 --input $text --split-digits --pattern '\p{N}+' --out "$tmp/x"
expect 0 "wrote .*: 600 ids" -- "$LATHE" tokenizer train --vocab 600 --input "$tmp/digits-corpus.txt" \
  --split-digits --out "$tmp/d"
expect 0 "^([0-9]+ ){4}[0-9]+$" -- "$LATHE" tokenizer encode --tokenizer "$tmp/d" --text "12345"
expect 0 "^12345$" -- bash -c "'$LATHE' tokenizer encode --tokenizer '$tmp/d' --text 12345 |
  '$LATHE' tokenizer decode --tokenizer '$tmp/d'"
"$LATHE" tokenizer train --vocab 600 --input "$tmp/digits-corpus.txt" --out "$tmp/g" >/dev/null 2>&1
expect 0 "^[0-9]+ [0-9]+$" -- "$LATHE" tokenizer encode --tokenizer "$tmp/g" --text "12345" # 123 45

if ! command -v node >/dev/null 2>&1 || [ ! -f "$RUST/package.json" ]; then
  skip "Rust tokenizers comparisons (run scripts/fetch-test-data.sh; needs node)"
  finish cli_tokenizer_train
fi

# The Rust library encodes with lathe's file exactly as lathe does: per line and whole files.
grep -av $'\xff' "$tmp/corpus.txt" >"$tmp/valid.txt" # the Rust binding takes only UTF-8 text
printf 'x<|eot_id|>y <think>\nhmm\n</think>\n\n<|start_header_id|>user<|end_header_id|>\n' >>"$tmp/valid.txt"
"$LATHE" tokenizer encode --tokenizer "$tmp/a" --lines <"$tmp/valid.txt" >"$tmp/lathe.txt"
node tests/tokenizer/rust_encode.js "$tmp/a/tokenizer.json" --lines <"$tmp/valid.txt" >"$tmp/rust.txt"
same "$tmp/lathe.txt" "$tmp/rust.txt" "Rust encodes lathe's trained tokenizer like lathe (per line)"
for f in "$tmp/valid.txt" $samples/multilingual.txt; do
  "$LATHE" tokenizer encode --tokenizer "$tmp/a" <"$f" >"$tmp/lathe.txt"
  node tests/tokenizer/rust_encode.js "$tmp/a/tokenizer.json" <"$f" >"$tmp/rust.txt"
  same "$tmp/lathe.txt" "$tmp/rust.txt" "Rust encodes lathe's trained tokenizer like lathe ($f)"
done

# The Rust library reads the --split-digits tokenizer.json the same: each digit alone.
"$LATHE" tokenizer encode --tokenizer "$tmp/d" --lines <"$tmp/valid.txt" >"$tmp/lathe.txt"
node tests/tokenizer/rust_encode.js "$tmp/d/tokenizer.json" --lines <"$tmp/valid.txt" >"$tmp/rust.txt"
same "$tmp/lathe.txt" "$tmp/rust.txt" "Rust encodes the --split-digits tokenizer like lathe (per line)"
expect 0 "^([0-9]+ ){4}[0-9]+$" -- bash -c "printf 12345 | node tests/tokenizer/rust_encode.js '$tmp/d/tokenizer.json'"

# The Rust trainer learns the same merges (min_frequency 1 = its default 0; it
# reads line by line, so blank lines are dropped to keep the pre-tokens equal).
grep -v '^$' $text >"$tmp/noblank.txt"
node tests/tokenizer/rust_train.js "$tmp/noblank.txt" "$tmp/rust-trained.json" >/dev/null 2>&1
"$LATHE" tokenizer train --vocab 30000 --min-frequency 1 --input "$tmp/noblank.txt" --out "$tmp/c" >/dev/null 2>&1
checks=$((checks + 1))
if ! out=$(node tests/tokenizer/same_merges.js "$tmp/c/tokenizer.json" "$tmp/rust-trained.json"); then
  echo "FAIL: lathe's merges differ from the Rust trainer's: $out"; fails=$((fails + 1))
fi

finish cli_tokenizer_train
