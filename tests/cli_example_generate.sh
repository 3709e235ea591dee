#!/usr/bin/env bash
# cli_example_generate.sh: examples/generate.c, the library used without the
# CLI, on a tiny model made here (`lathe init`, trained for a few seconds so
# its greedy ids vary, with a tokenizer trained on the bundled text): it must
# print the ids `lathe generate --ids` prints greedily for the same prompt
# (two programs over the same engine API), and their text as
# `lathe tokenizer decode` spells it.
source "$(dirname "$0")/lib/cli.sh"
EXAMPLE=${LATHE_EXAMPLE_GENERATE:-$(dirname "$LATHE")/example_generate}
die() { echo "FAIL: $*"; exit 1; }

"$LATHE" tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 ||
  die "tokenizer train"
"$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/d.bin" --split blank data/moby-dick-1-4.txt \
  >/dev/null 2>&1 || die "data tokenize"
"$LATHE" init --preset tiny --out "$tmp/m0" --seed 5 >/dev/null || die "init"
"$LATHE" train --init-from "$tmp/m0" --data "$tmp/d.bin" --out "$tmp/run" --batch 8 --seq 64 --steps 150 \
  --lr 1e-2 --warmup 10 --log-every 150 --save-every 150 >/dev/null 2>&1 || die "train"
m="$tmp/run/$(cat "$tmp/run/latest")"
cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$m/"

for prompt in "Call me Ishmael. Some years ago" "The whale"; do
  ids=$(printf '%s' "$prompt" | "$LATHE" tokenizer encode --tokenizer "$tmp/tok" | tr ' ' ',')
  want=$("$LATHE" generate "$m" --ids "$ids" --max-tokens 12 2>&1)
  checks=$((checks + 1))
  [ "$(tr ',' '\n' <<<"$want" | sort -u | grep -c .)" -ge 2 ] ||
    { echo "FAIL: expected varied greedy ids from lathe generate, got '$want'"; fails=$((fails + 1)); }
  out=$("$EXAMPLE" "$m" "$prompt" 12)
  checks=$((checks + 1))
  [ "$(sed -n 1p <<<"$out")" = "$want" ] ||
    { echo "FAIL: '$prompt': ids '$(sed -n 1p <<<"$out")', lathe generate: '$want'"; fails=$((fails + 1)); }
  text=$("$LATHE" tokenizer decode --tokenizer "$tmp/tok" --ids "$want")
  checks=$((checks + 1))
  [ "$(sed -n '2,$p' <<<"$out")" = "$text" ] ||
    { echo "FAIL: '$prompt': text '$(sed -n '2,$p' <<<"$out")', expected '$text'"; fails=$((fails + 1)); }
done

# Errors reach the caller as a status: a missing model, and usage.
expect 1 "example_generate: .*nonexistent" -- "$EXAMPLE" "$tmp/nonexistent" "hi"
expect 2 "usage: example_generate" -- "$EXAMPLE"
finish cli_example_generate
