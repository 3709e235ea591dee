#!/usr/bin/env bash
# cli_generate.sh: `lathe generate`, `lathe chat`, `lathe perplexity` and
# `lathe bench infer` from the command line, on a tiny model trained here for
# a few seconds. Greedy ids are checked step by step against the training
# forward (`lathe forward`, a separate code path without a KV cache); the same
# model from its GGUF export generates the same ids; chat runs scripted through
# a pipe; bad input gets a clear message.
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }

"$LATHE" tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/d.bin" --split blank data/moby-dick-1-4.txt >/dev/null 2>&1 || fail "data tokenize"
"$LATHE" init --preset tiny --out "$tmp/m0" --seed 3 >/dev/null || fail "init"
"$LATHE" train --init-from "$tmp/m0" --data "$tmp/d.bin" --out "$tmp/run" --batch 8 --seq 64 --steps 120 \
  --lr 3e-3 --warmup 10 --log-every 120 --save-every 120 >/dev/null 2>&1 || fail "train"
m="$tmp/m"
mv "$tmp/run/$(cat "$tmp/run/latest")" "$m" && cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$m/"

# Greedy ids: each is the argmax of the training forward over everything before it.
prompt=$(printf 'Call me Ishmael. Some years ago' | "$LATHE" tokenizer encode --tokenizer "$tmp/tok" | tr ' ' ',')
out=$("$LATHE" generate "$m" --ids "$prompt" --max-tokens 8 2>&1) || fail "generate --ids: $out"
check; [ "$(tr ',' '\n' <<<"$out" | grep -c .)" = 8 ] || fail "8 ids expected, got '$out'"
seq=$prompt
for id in $(tr ',' ' ' <<<"$out"); do
  top=$("$LATHE" forward "$m" --ids "$seq" --top 1 | sed -n 's/.*: \([0-9]*\):.*/\1/p')
  check; [ "$top" = "$id" ] || fail "generated $id where the training forward's argmax is $top (after $seq)"
  seq="$seq,$id"
done

# --stop-id: generation ends before the first occurrence of that id
third=$(cut -d, -f3 <<<"$out")
upto=$(tr ',' '\n' <<<"$out" | awk -v t="$third" '$0 == t {exit} {print}' | paste -sd, -)
got=$("$LATHE" generate "$m" --ids "$prompt" --max-tokens 8 --stop-id "$third" 2>&1)
check; [ "$got" = "$upto" ] || fail "--stop-id $third: '$got', expected '$upto'"

# The GGUF export (f32) generates the same ids; bf16 storage of the same model runs too.
"$LATHE" export gguf "$m" "$tmp/m.gguf" --type f32 >/dev/null || fail "export"
check; [ "$("$LATHE" generate "$tmp/m.gguf" --ids "$prompt" --max-tokens 8 2>&1)" = "$out" ] || fail "GGUF generates other ids"
expect 0 "generated 8" -- "$LATHE" generate "$m" --dtype bf16 "Call me" --max-tokens 8 --stats
# text mode prints the continuation; a stop string cuts it
full=$("$LATHE" generate "$m" "Call me Ishmael. Some years ago" --max-tokens 24)
check; [ -n "$full" ] || fail "no text generated"
expect 0 "finish: (stop|length)" -- "$LATHE" generate "$m" "Call me Ishmael. Some years ago" --max-tokens 24 --stop "e" --stats
cut=$("$LATHE" generate "$m" "Call me Ishmael. Some years ago" --max-tokens 24 --stop "e")
check; [ "$cut" = "${full%%e*}" ] || fail "--stop e: '$cut', expected '${full%%e*}'"
# the prompt from stdin, sampling with a seed is repeatable
a=$(echo "Call me" | "$LATHE" generate "$m" --temperature 0.9 --top-p 0.95 --seed 7 --max-tokens 12)
b=$(echo "Call me" | "$LATHE" generate "$m" --temperature 0.9 --top-p 0.95 --seed 7 --max-tokens 12)
check; [ "$a" = "$b" ] || fail "same seed, different text"
# a chat turn in both reasoning modes, and a thinking budget
expect 0 "prompt [0-9]+ tokens" -- "$LATHE" generate "$m" --chat --think on "Hello" --max-tokens 6 --stats
expect 0 "prompt [0-9]+ tokens" -- "$LATHE" generate "$m" --chat --think off "Hello" --max-tokens 6 --think-budget 2 --stats

# chat through a pipe: commands, three answers, notices
printf 'Hello there\n/think on\nWhat is the sea?\n/system Be brief.\n/bogus\n/reset\nHi\n' |
  "$LATHE" chat "$m" --max-tokens 6 --stats >"$tmp/chat.out" 2>"$tmp/chat.err" || fail "chat exited $?"
check; [ "$(grep -c 'generated' "$tmp/chat.err")" = 3 ] || fail "3 answers expected: $(cat "$tmp/chat.err")"
for notice in "reasoning on" "system text set" "unknown command /bogus" "conversation cleared"; do
  check; grep -q "$notice" "$tmp/chat.err" || fail "chat notice '$notice' missing"
done
# history longer than the context: the oldest exchange goes, with a notice
yes "Tell me about the whale and the sea and the ship." | head -8 |
  "$LATHE" chat "$m" --ctx 96 --max-tokens 8 >/dev/null 2>"$tmp/trim.err" || fail "chat with a short context exited $?"
check; grep -q "oldest messages dropped" "$tmp/trim.err" || fail "no notice of dropped history"

# perplexity: the GGUF and the directory are the same model
expect 0 "KL mean 0 nats, max 0; same top token 100.00%" -- \
  "$LATHE" perplexity "$tmp/m.gguf" --text data/moby-dick-1-4.txt --ref "$m" --ctx 64 --max-tokens 600
expect 0 '"perplexity":[0-9.]+' -- "$LATHE" perplexity "$m" --text data/moby-dick-1-4.txt --ctx 64 --max-tokens 300 --json
expect 0 '"pp_tps":[0-9.]+.*"tg_tps"' -- "$LATHE" bench infer --model "$m" --pp 32 --tg 8 --reps 1 --json

# bad input
long=$(head -c 3000 data/moby-dick-1-4.txt)
expect 1 "context holds 64" -- "$LATHE" generate "$m" --ctx 64 "$long"
expect 2 "temperature" -- "$LATHE" generate "$m" "Hi" --temperature -1
expect 2 "top_p" -- "$LATHE" generate "$m" "Hi" --top-p 1.5
expect 2 "go with --chat" -- "$LATHE" generate "$m" "Hi" --think on
expect 2 "on or off" -- "$LATHE" chat "$m" --think maybe
expect 2 "is not an integer" -- "$LATHE" generate "$m" --ids "1,x,3"
expect 1 "outside the vocabulary" -- "$LATHE" generate "$m" --ids "1,99999"
expect 2 "has no tokenizer" -- "$LATHE" generate "$tmp/m0" "Hi"
# perplexity gives the same fix as generate for a model without tokenizer.json.
nofix="m0: the model has no tokenizer \\(tokenizer.json\\): a model directory needs config.json, model.safetensors and tokenizer.json; copy tokenizer.json and tokenizer_config.json from the tokenizer you trained with"
expect 2 "$nofix" -- "$LATHE" generate "$tmp/m0" "Hi"
expect 2 "$nofix" -- "$LATHE" perplexity "$tmp/m0" --text data/moby-dick-1-4.txt --ctx 64
expect 1 "not a model directory|cannot open" -- "$LATHE" generate "$tmp/nothing" "Hi"
expect 0 "usage: lathe generate" -- "$LATHE" generate --help
expect 0 "usage: lathe chat" -- "$LATHE" chat --help
expect 0 "usage: lathe perplexity" -- "$LATHE" perplexity --help
expect 0 "usage: lathe bench infer" -- "$LATHE" bench infer --help

echo "cli_generate: $checks checks, $fails failures"
[ "$fails" = 0 ]
