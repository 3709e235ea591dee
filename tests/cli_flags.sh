#!/usr/bin/env bash
# cli_flags.sh: the one flag parser and the flag vocabulary of every command —
# repeatable options are all seen however many arguments there are, unknown
# flags and commands get a "did you mean", aliases (--task/--tasks, -m, -p, -n,
# -c, -t, -o, --type/--dtype) mean what the main spelling means, usage errors end
# with the --help hint, and every command's --help exits 0 and lists each flag once.
source "$(dirname "$0")/lib/cli.sh"

rm -rf "$tmp"/*

# ---- every command's help: exit 0, usage line, no flag described twice
commands=(init info forward "bench train" "bench infer" "bench tokenizer"
  "tokenizer encode" "tokenizer decode" "tokenizer stats" "tokenizer info" "tokenizer train"
  "tokenizer augment" "data tokenize" "data info" train sft distill "model resize-vocab" plot
  generate chat perplexity "export gguf" "import gguf" serve quantize "tasks gen"
  "tasks sample" "tasks verify" eval)
for cmd in "${commands[@]}"; do
  # shellcheck disable=SC2086
  expect 0 "usage: lathe $cmd" -- "$LATHE" $cmd --help
  # shellcheck disable=SC2086
  expect 0 "usage: lathe $cmd" -- "$LATHE" $cmd -h
  # A flag is described where a help line (indented 1 to 6 spaces: not a usage
  # or continuation line) starts with it, or where it follows two spaces, ", ",
  # "/" or "; " on such a line ("--lr X, --min-lr X").
  # shellcheck disable=SC2086
  dup=$("$LATHE" $cmd --help | grep -E '^ {1,6}-' |
    grep -oE '(^ +|  |, |/|; )--[a-z0-9-]+' | sed -E 's/^[ ,/;]+//' | sort | uniq -d)
  checks=$((checks + 1))
  if [ -n "$dup" ]; then
    echo "FAIL: lathe $cmd --help describes these flags twice: $dup"; fails=$((fails + 1))
  fi
done
for group in bench tokenizer data tasks model export import; do
  expect 0 "usage: lathe $group" -- "$LATHE" $group --help
done

# ---- did you mean
expect 2 "unknown command 'tokenzier' \(did you mean tokenizer\?\)" -- "$LATHE" tokenzier
expect 2 "unknown command 'trian' \(did you mean train\?\)" -- "$LATHE" trian
expect 2 "lathe tasks: unknown command 'gne' \(did you mean gen\?\)" -- "$LATHE" tasks gne
expect 2 "lathe bench: unknown command 'infr' \(did you mean infer\?\)" -- "$LATHE" bench infr
expect 2 "lathe tokenizer: unknown command 'encod' \(did you mean encode\?\)" -- "$LATHE" tokenizer encod
expect 2 "unknown command 'xyzzy'$" -- "$LATHE" xyzzy
expect 2 "unknown option '--taks' \(did you mean --tasks\?\)" -- "$LATHE" eval m --taks bool
expect 2 "unknown option '--max-tok' \(did you mean --max-tokens\?\)" -- "$LATHE" generate m --max-tok 3
expect 2 "unknown option '--levle' \(did you mean --levels\?\)" -- "$LATHE" tasks gen --levle 1
expect 2 "unknown option '--stpes=5' \(did you mean --steps\?\)" -- "$LATHE" train --stpes=5
expect 2 "unknown option '--tokeniser' \(did you mean --tokenizer\?\)" -- "$LATHE" tokenizer info --tokeniser x
expect 2 "unknown option '--skip-bda' \(did you mean --skip-bad\?\)" -- "$LATHE" sft --skip-bda
expect 2 "unknown option '--hidden-wieght' \(did you mean --hidden-weight\?\)" -- "$LATHE" distill --hidden-wieght 1
expect 2 "unknown option '--frobnicate'$" -- "$LATHE" init --frobnicate

# ---- usage errors end with the hint, and exit 2
expect 2 "needs a value" -- "$LATHE" init --out
expect 2 "\(try 'lathe init --help'\)" -- "$LATHE" init --out
expect 2 "\(try 'lathe train --help'\)" -- "$LATHE" train --preset tiny --data x.bin
expect 2 "--out DIR is required" -- "$LATHE" train --preset tiny --data x.bin
expect 2 "\(try 'lathe eval --help'\)" -- "$LATHE" eval m --taks bool
expect 2 "\(try 'lathe tasks gen --help'\)" -- "$LATHE" tasks gen --tasks bool --n 1
expect 2 "--dry-run takes no value" -- "$LATHE" train --dry-run=yes

# ---- repeatable options: nothing is dropped, however many arguments
printf 'the cat sat on the mat. the dog sat on the log.\n' >"$tmp/text.txt"
"$LATHE" tokenizer train --vocab 300 --input "$tmp/text.txt" --out "$tmp/tok" >/dev/null 2>&1 ||
  { echo "FAIL: tokenizer train"; fails=$((fails + 1)); }
args=()
for _ in $(seq 1 300); do args+=(--tokenizer "$tmp/tok"); done
expect 0 "^tokenizer 300: " -- "$LATHE" tokenizer stats "${args[@]}" "$tmp/text.txt"
checks=$((checks + 1))
n=$("$LATHE" tokenizer stats "${args[@]}" "$tmp/text.txt" | grep -c '^tokenizer [0-9]*: ')
[ "$n" = 300 ] || { echo "FAIL: tokenizer stats saw $n of 300 --tokenizer"; fails=$((fails + 1)); }
# 300 --data blends (600 arguments): the last one is read — its bad weight is reported.
args=()
for i in $(seq 1 299); do args+=(--data "x$i.bin:1"); done
args+=(--data "last.bin:oops")
expect 2 "--data 'last.bin:oops': weight 'oops'" -- "$LATHE" train --preset tiny --out "$tmp/t" --steps 1 "${args[@]}"
# --exclude more than 16 times (the old limit).
"$LATHE" tasks gen --tasks bool --levels 1 --n 5 --out-on "$tmp/train.jsonl" >/dev/null ||
  { echo "FAIL: tasks gen"; fails=$((fails + 1)); }
args=()
for _ in $(seq 1 20); do args+=(--exclude "$tmp/train.jsonl"); done
expect 0 "excluded 5 known problem keys" -- "$LATHE" tasks gen --tasks bool --levels 1 --n 3 --eval --out-on "$tmp/eval.jsonl" "${args[@]}"
# A list option takes every argument up to the next flag.
printf 'more text about the cat.\n' >"$tmp/text2.txt"
expect 0 "wrote $tmp/tok2" -- "$LATHE" tokenizer train --vocab 280 --input "$tmp/text.txt" "$tmp/text2.txt" --out "$tmp/tok2"
expect 2 "--input needs one or more values" -- "$LATHE" tokenizer train --vocab 280 --input --out "$tmp/tok3"
# The library allows 8 stop strings: a ninth is an error, not dropped.
args=()
for i in $(seq 1 9); do args+=(--stop "s$i"); done
expect 2 "at most 8 of each \(9 and 0 given\)" -- "$LATHE" generate m "${args[@]}"

# ---- aliases mean the same as the main spelling
"$LATHE" tasks sample --tasks bool --levels 2 --seed 5 --n 2 >"$tmp/a.txt"
"$LATHE" tasks sample --task bool --level 2 --seed 5 --n 2 >"$tmp/b.txt"
same "$tmp/a.txt" "$tmp/b.txt" "tasks sample --task/--level = --tasks/--levels"
checks=$((checks + 1))
grep -q "^=== bool level 2" "$tmp/a.txt" || { echo "FAIL: tasks sample --levels 2 output"; fails=$((fails + 1)); }
"$LATHE" tasks gen --task bool --level 1 --n 4 --seed 9 --out-on "$tmp/g1.jsonl" >/dev/null
"$LATHE" tasks gen --tasks=bool --levels=1 --n=4 --seed=9 --out-on "$tmp/g2.jsonl" >/dev/null
same "$tmp/g1.jsonl" "$tmp/g2.jsonl" "tasks gen --task/--level = --tasks=/--levels="
"$LATHE" init --preset tiny -o "$tmp/m" --seed 3 >/dev/null
"$LATHE" init --preset tiny --out "$tmp/m2" --seed 3 >/dev/null
same "$tmp/m/model.safetensors" "$tmp/m2/model.safetensors" "init -o = --out"
cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$tmp/m/"
"$LATHE" generate "$tmp/m" "the cat" --max-tokens 5 --ctx 64 --threads 1 >"$tmp/g.txt" 2>/dev/null
"$LATHE" generate -m "$tmp/m" -p "the cat" -n 5 -c 64 -t 1 >"$tmp/h.txt" 2>/dev/null
same "$tmp/g.txt" "$tmp/h.txt" "generate -m -p -n -c -t = MODEL PROMPT --max-tokens --ctx --threads"
checks=$((checks + 1))
[ -s "$tmp/g.txt" ] || { echo "FAIL: generate wrote nothing"; fails=$((fails + 1)); }
expect 2 "MODEL or PROMPT given twice" -- "$LATHE" generate -m "$tmp/m" "$tmp/m" "the cat" -p x
expect 0 "wrote $tmp/q.gguf \(f16\)" -- "$LATHE" quantize "$tmp/m" "$tmp/q.gguf" --type f16
expect 0 "wrote $tmp/r.gguf \(f16\)" -- "$LATHE" quantize "$tmp/m" "$tmp/r.gguf" --dtype f16
same "$tmp/q.gguf" "$tmp/r.gguf" "quantize --type = --dtype"
# eval: -n is not an alias there (--n counts problems); --n-predict is.
expect 2 "unknown option '-n'" -- "$LATHE" eval "$tmp/m" -n 5
# "--" ends the flags: what follows is positional, even when it starts with '-'.
expect 1 "-nope.bin" -- "$LATHE" data info -- -nope.bin
expect 2 "unknown option '-nope.bin'" -- "$LATHE" data info -nope.bin

echo "cli_flags: $checks checks, $fails failures"
[ "$fails" = 0 ]
