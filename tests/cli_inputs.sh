#!/usr/bin/env bash
# cli_inputs.sh: empty and unusable inputs are errors naming the file (tokenizer
# train, data tokenize, sft, tasks gen --n 0); train, sft and distill given a
# bad flag value or a missing data file make no folder; sft --skip-bad reports examples
# longer than the context apart from malformed lines; and Ctrl-C / SIGTERM stop
# `lathe sft` and `lathe distill` with a checkpoint, the sft run resuming
# bit-identical to an uninterrupted one (lathe train: cli_interrupt.sh).
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }
export OMP_NUM_THREADS=1

# Empty inputs.
: >"$tmp/empty.txt"
: >"$tmp/empty.jsonl"
expect 1 "empty.txt: the file is empty: a tokenizer learns from text" -- \
  "$LATHE" tokenizer train --vocab 300 --input "$tmp/empty.txt" --out "$tmp/etok"
check; [ -e "$tmp/etok" ] && fail "tokenizer train on an empty file wrote $tmp/etok"
"$LATHE" tasks gen --task add --level 1 --n 200 --seed 1 --out-on "$tmp/on.jsonl" >/dev/null || fail "tasks gen"
"$LATHE" tokenizer train --vocab 512 --input "$tmp/on.jsonl" data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
expect 2 "hold no documents \(1 empty ones skipped\): .*empty.txt has no text to tokenize" -- \
  "$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/e.bin" "$tmp/empty.txt"
check; [ -e "$tmp/e.bin" ] && fail "data tokenize on an empty file wrote a shard"
"$LATHE" init --preset tiny --out "$tmp/m0" >/dev/null || fail "init"
cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$tmp/m0/"
expect 1 "empty.jsonl: no usable conversation \(0 lines" -- \
  "$LATHE" sft --init-from "$tmp/m0" --data "$tmp/empty.jsonl" --out "$tmp/esft" --steps 2
check; [ -e "$tmp/esft" ] && fail "sft on an empty file left $tmp/esft"
"$LATHE" init --preset tiny --out "$tmp/bare" >/dev/null || fail "init"
expect 2 "bare has no tokenizer.json: .*copy tokenizer.json and tokenizer_config.json from the tokenizer you trained with" -- \
  "$LATHE" sft --init-from "$tmp/bare" --data "$tmp/on.jsonl" --out "$tmp/bare_sft"
check; [ -e "$tmp/bare_sft" ] && fail "sft without a tokenizer left $tmp/bare_sft"
expect 2 "--n: 0 is outside" -- "$LATHE" tasks gen --task add --n 0 --out-on "$tmp/none.jsonl"
check; [ -e "$tmp/none.jsonl" ] && fail "tasks gen --n 0 wrote a file"

# A bad flag value or a missing data file: the trainers fail before making any folder.
"$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/d.bin" --split blank data/moby-dick-1-4.txt >/dev/null 2>&1 \
  || fail "data tokenize"
train_src=(train --preset tiny --data "$tmp/d.bin")
sft_src=(sft --init-from "$tmp/m0" --data "$tmp/on.jsonl")
distill_src=(distill --init-from "$tmp/m0" --teacher "$tmp/m0" --data "$tmp/d.bin")
for cmd in train sft distill; do
  declare -n src=${cmd}_src
  expect 2 "--lr.*abc" -- "$LATHE" "${src[@]}" --lr abc --steps 2 --out "$tmp/bad/$cmd-lr/run"
  expect 2 "--batch" -- "$LATHE" "${src[@]}" --batch 0 --steps 2 --out "$tmp/bad/$cmd-batch/run"
  expect 2 "--steps" -- "$LATHE" "${src[@]}" --steps x --out "$tmp/bad/$cmd-steps/run"
  check; [ -e "$tmp/bad" ] && fail "$cmd with a bad flag value left $(find "$tmp/bad")"
  unset -n src
done
expect 1 "nope.bin: cannot open" -- "$LATHE" train --preset tiny --data "$tmp/nope.bin" --steps 2 --out "$tmp/bad/t/run"
expect 1 "nope.jsonl: cannot open" -- \
  "$LATHE" sft --init-from "$tmp/m0" --data "$tmp/nope.jsonl" --steps 2 --out "$tmp/bad/s/run"
expect 1 "nope.bin: cannot open" -- \
  "$LATHE" distill --init-from "$tmp/m0" --teacher "$tmp/m0" --data "$tmp/nope.bin" --steps 2 --out "$tmp/bad/d/run"
expect 1 "nope: .*cannot open|nope: not a model" -- \
  "$LATHE" distill --init-from "$tmp/m0" --teacher "$tmp/nope" --data "$tmp/d.bin" --steps 2 --out "$tmp/bad/d/run"
check; [ -e "$tmp/bad" ] && fail "a trainer with a missing data file left $(find "$tmp/bad")"

# --skip-bad: a too-long example (first), a malformed line, two good examples.
long=$(printf '%0300d' 0)
{
  head -1 "$tmp/on.jsonl"
  printf '{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"%s"}]}\n' "$long"
  echo '{"messages": oops'
  sed -n 2p "$tmp/on.jsonl"
} >"$tmp/mixed.jsonl"
expect 0 "skipped 1 example longer than the context of 128 tokens \(raise --seq to keep them\)" -- \
  "$LATHE" sft --init-from "$tmp/m0" --data "$tmp/mixed.jsonl" --out "$tmp/mixed" --batch 2 --seq 128 --steps 2 --skip-bad
expect 0 "skipped 1 bad line; the first: .*mixed.jsonl:3: invalid JSON" -- \
  "$LATHE" sft --init-from "$tmp/m0" --data "$tmp/mixed.jsonl" --out "$tmp/mixed2" --batch 2 --seq 128 --steps 2 --skip-bad
expect 0 "read 2 conversations" -- \
  "$LATHE" sft --init-from "$tmp/m0" --data "$tmp/mixed.jsonl" --out "$tmp/mixed3" --batch 2 --seq 128 --steps 2 --skip-bad

# interrupt and resume_line come from tests/lib/cli.sh.

# lathe sft: SIGTERM mid-run, resumed with the printed command (--skip-bad kept).
args=(--init-from "$tmp/m0" --data "$tmp/on.jsonl" --skip-bad --batch 4 --seq 128 --steps 150 --lr 3e-3
      --log-every 1 --save-every 0)
expect 0 "saved" -- "$LATHE" sft "${args[@]}" --out "$tmp/sft"
interrupt TERM 10 "$tmp/sft_int" "$tmp/sft_int.log" -- "$LATHE" sft "${args[@]}" --out "$tmp/sft_int"
check; [ "$rc" = 130 ] || fail "sft after SIGTERM: exit $rc, expected 130: $(tail -3 "$tmp/sft_int.log")"
cmd=$(resume_line "$tmp/sft_int.log")
check; [[ "$cmd" == *" sft "*"--skip-bad"*"--resume" ]] || fail "sft resume command: $cmd"
ck=$tmp/sft_int/$(cat "$tmp/sft_int/latest" 2>/dev/null)
same "$tmp/tok/tokenizer.json" "$ck/tokenizer.json" "the interrupted sft checkpoint carries the tokenizer"
eval "$cmd" >"$tmp/sft_resume.log" 2>&1 || fail "the printed sft resume command failed: $(tail -3 "$tmp/sft_resume.log")"
same "$tmp/sft/checkpoints/step-00000150/model.safetensors" "$tmp/sft_int/checkpoints/step-00000150/model.safetensors" \
  "sft weights after SIGTERM and resume differ from the uninterrupted run"

# lathe distill: Ctrl-C mid-run saves a checkpoint with the tokenizer and says how to resume.
interrupt INT 5 "$tmp/kd" "$tmp/kd.log" -- "$LATHE" distill --teacher "$tmp/m0" --init-from "$tmp/m0" \
  --data "$tmp/on.jsonl" --batch 4 --seq 128 --steps 300 --log-every 1 --save-every 0 --out "$tmp/kd"
check; [ "$rc" = 130 ] || fail "distill after Ctrl-C: exit $rc, expected 130: $(tail -3 "$tmp/kd.log")"
check; grep -qE "^  $LATHE distill --teacher .* --out $tmp/kd --resume$" "$tmp/kd.log" || fail "distill resume command: $(tail -1 "$tmp/kd.log")"
ck=$tmp/kd/$(cat "$tmp/kd/latest" 2>/dev/null)
check; [ -f "$ck/train_state.bin" ] || fail "no distill checkpoint"
same "$tmp/tok/tokenizer.json" "$ck/tokenizer.json" "the interrupted distill checkpoint carries the tokenizer"

echo "cli_inputs: $checks checks, $fails failures"
[ "$fails" = 0 ]
