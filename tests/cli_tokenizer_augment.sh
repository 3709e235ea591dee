#!/usr/bin/env bash
# cli_tokenizer_augment.sh: `lathe tokenizer augment` end to end on a base
# trained here from data/ (and on Llama 3 when cache/llama3 is fetched): the
# general text encodes exactly as under the base, domain text needs fewer
# tokens, decode reverses encode, and the Rust `tokenizers` library (npm, in
# cache/) loads the augmented tokenizer.json and encodes like lathe.
source "$(dirname "$0")/lib/cli.sh"
RUST=cache/npm/tokenizers-0.23.2/package

tokens() { "$LATHE" tokenizer encode --tokenizer "$1" <"$2" | wc -w; }

general=data/moby-dick-1-4.txt
for i in 1 2 3 4 5 6 7 8; do cat tests/fixtures/tokenizer/samples/fifo.v; done >"$tmp/domain.v"

expect 0 "usage: lathe tokenizer augment" -- "$LATHE" tokenizer augment --help
expect 2 "--add N is required" -- "$LATHE" tokenizer augment --base x --domain a --general b --out o
expect 2 "--general FILES... is required" -- "$LATHE" tokenizer augment --base x --domain a --add 3 --out o
expect 2 "--add: 0 is outside" -- "$LATHE" tokenizer augment --base x --domain a --general b --add 0 --out o
expect 1 "nope: no such file" -- "$LATHE" tokenizer augment --base "$tmp/nope" --domain a --general b --add 3 --out o

"$LATHE" tokenizer train --vocab 1000 --input $general --out "$tmp/base" >/dev/null 2>&1
bases="$tmp/base"
[ -f cache/llama3/tokenizer.json ] && bases="$bases cache/llama3"
for base in $bases; do
  out="$tmp/aug-$(basename "$base")"
  expect 0 "wrote .*vocab_augment.json" -- "$LATHE" tokenizer augment --base "$base" \
    --domain "$tmp/domain.v" --general $general --add 30 --out "$out"
  [ -f "$out/tokenizer.json" ] || continue
  # The general text: same ids, per line and whole.
  for mode in "" --lines; do
    "$LATHE" tokenizer encode --tokenizer "$base" $mode <$general >"$tmp/base.ids"
    "$LATHE" tokenizer encode --tokenizer "$out" $mode <$general >"$tmp/aug.ids"
    same "$tmp/base.ids" "$tmp/aug.ids" "general text unchanged under $out $mode"
  done
  before=$(tokens "$base" "$tmp/domain.v"); after=$(tokens "$out" "$tmp/domain.v")
  checks=$((checks + 1))
  if [ "$after" -ge "$before" ]; then
    echo "FAIL: domain text: $after tokens augmented, $before under $base"; fails=$((fails + 1))
  fi
  "$LATHE" tokenizer encode --tokenizer "$out" <"$tmp/domain.v" |
    "$LATHE" tokenizer decode --tokenizer "$out" >"$tmp/back.v"
  same "$tmp/domain.v" "$tmp/back.v" "decode(encode(domain)) under $out"
  if command -v node >/dev/null 2>&1 && [ -f "$RUST/package.json" ]; then
    for f in "$tmp/domain.v" $general; do
      "$LATHE" tokenizer encode --tokenizer "$out" --lines <"$f" >"$tmp/lathe.ids"
      node tests/tokenizer/rust_encode.js "$out/tokenizer.json" --lines <"$f" >"$tmp/rust.ids"
      same "$tmp/lathe.ids" "$tmp/rust.ids" "Rust encodes $out like lathe ($f)"
    done
  else
    skip "Rust comparison (run scripts/fetch-test-data.sh; needs node)"
  fi
done

# The model side: a tiny model (vocab 512) grows to an augmented 512-id tokenizer.
"$LATHE" init --preset tiny --out "$tmp/model" >/dev/null
"$LATHE" tokenizer train --vocab 512 --input $general --out "$tmp/tok512" >/dev/null 2>&1
"$LATHE" tokenizer augment --base "$tmp/tok512" --domain "$tmp/domain.v" --general $general \
  --add 20 --out "$tmp/aug512" >/dev/null 2>&1
n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['added']))" "$tmp/aug512/vocab_augment.json")
expect 0 "vocabulary 512 -> $((512 + n)) rows \($n initialised from their pieces\)" -- \
  "$LATHE" model resize-vocab --model "$tmp/model" --tokenizer "$tmp/aug512" --out "$tmp/model2"
expect 0 "vocabulary +$((512 + n))" -- "$LATHE" info "$tmp/model2"
expect 0 "vocabulary $((512 + n)) ids" -- "$LATHE" tokenizer info --tokenizer "$tmp/model2"
expect 1 "vocab_augment.json: cannot open" -- \
  "$LATHE" model resize-vocab --model "$tmp/model" --tokenizer "$tmp/tok512" --out "$tmp/x"

finish cli_tokenizer_augment
