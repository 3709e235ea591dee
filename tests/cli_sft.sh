#!/usr/bin/env bash
# cli_sft.sh: `lathe sft` from the command line — a tiny model fine-tuned on
# paired reasoning-on/off task data blended by weight: the loss falls, the
# checkpoint (with its tokenizer) answers in `lathe generate --chat`, a run
# stopped and resumed ends bit-identical to an uninterrupted one, a bad line
# fails with file:line unless --skip-bad (which reports it), and usage errors.
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }

"$LATHE" tasks gen --task add --level 1 --n 200 --seed 1 --out-on "$tmp/on.jsonl" --out-off "$tmp/off.jsonl" >/dev/null || fail "tasks gen"
"$LATHE" tasks gen --task add --level 1 --n 20 --seed 2 --out-on "$tmp/val.jsonl" >/dev/null || fail "tasks gen (val)"
"$LATHE" tokenizer train --vocab 512 --input "$tmp/on.jsonl" data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" init --preset tiny --out "$tmp/m0" >/dev/null || fail "init"
cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$tmp/m0/"
common=(--init-from "$tmp/m0" --data "$tmp/on.jsonl:0.5" --data "$tmp/off.jsonl:0.5" --val "$tmp/val.jsonl"
        --batch 4 --seq 128 --steps 30 --lr 3e-3 --warmup 3 --log-every 1 --eval-every 10 --save-every 10)

expect 0 "saved: .*/latest" -- "$LATHE" sft "${common[@]}" --out "$tmp/straight"
ck="$tmp/straight/checkpoints/step-00000030"
check; [ "$(cat "$tmp/straight/latest")" = "checkpoints/step-00000030" ] || fail "latest: $(cat "$tmp/straight/latest")"
check; [ "$(grep -c '"val_loss"' "$tmp/straight/metrics.jsonl")" = 3 ] || fail "3 validation lines expected"
# The loss falls: the mean of the last 5 steps is well below the first step's.
check
/usr/bin/python3 - "$tmp/straight/metrics.jsonl" <<'PYEOF' || fail "the loss did not fall"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
train = [r["loss"] for r in rows if "loss" in r]
val = [r["val_loss"] for r in rows if "val_loss" in r]
assert len(train) == 30, len(train)
assert sum(train[-5:]) / 5 < 0.6 * train[0], (train[0], train[-5:])
assert val[-1] < val[0], val
PYEOF
# The checkpoint carries the tokenizer and runs as it is.
same "$tmp/tok/tokenizer.json" "$ck/tokenizer.json" "tokenizer copied into the checkpoint"
expect 0 "prompt [0-9]+ tokens" -- "$LATHE" generate "$ck" --chat --think off "What is 12 + 30?" --max-tokens 8 --stats
expect 0 "prompt [0-9]+ tokens" -- "$LATHE" generate "$ck" --chat --think on "What is 12 + 30?" --max-tokens 8 --stats

# Stopped after 12 steps, resumed to 30: the same weights and state, bit for bit.
expect 0 "saved" -- "$LATHE" sft "${common[@]}" --out "$tmp/resumed" --stop-after 12
check; [ "$(cat "$tmp/resumed/latest")" = "checkpoints/step-00000012" ] || fail "latest after --stop-after 12"
expect 0 "saved" -- "$LATHE" sft "${common[@]}" --out "$tmp/resumed" --resume
same "$ck/model.safetensors" "$tmp/resumed/checkpoints/step-00000030/model.safetensors" "resumed weights differ from the uninterrupted run"
same "$ck/train_state.bin" "$tmp/resumed/checkpoints/step-00000030/train_state.bin" "resumed optimizer/data state differs"
# Other data under a resumed run's cursor is refused.
expect 2 "train_state.bin: chat loader state was saved for 2 datasets" -- "$LATHE" sft --init-from "$tmp/m0" --data "$tmp/on.jsonl" --batch 4 --seq 128 --steps 30 --out "$tmp/resumed" --resume

# A malformed line: file:line without --skip-bad; skipped and reported with it.
{ printf '{"messages": [{"role": "user", "content": "hi"}\n'; head -5 "$tmp/off.jsonl"; } >"$tmp/bad.jsonl"
expect 1 "bad.jsonl:1: invalid JSON" -- "$LATHE" sft --init-from "$tmp/m0" --data "$tmp/bad.jsonl" --out "$tmp/bad" --batch 2 --seq 128 --steps 2
expect 0 "skipped 1 bad line; the first: .*bad.jsonl:1: invalid JSON" -- \
  "$LATHE" sft --init-from "$tmp/m0" --data "$tmp/bad.jsonl" --out "$tmp/bad" --batch 2 --seq 128 --steps 2 --skip-bad
expect 1 "more than the context of 16" -- "$LATHE" sft --init-from "$tmp/m0" --data "$tmp/off.jsonl" --out "$tmp/short" --batch 2 --seq 16 --steps 2

expect 0 "usage: lathe sft" -- "$LATHE" sft --help
expect 0 "optimizer state" -- "$LATHE" sft --init-from "$tmp/m0" --data "$tmp/on.jsonl" --out "$tmp/dry" --dry-run
expect 2 "--init-from MODEL_DIR is required" -- "$LATHE" sft --data "$tmp/on.jsonl" --out "$tmp/x"
expect 2 "--preset and --config do not apply" -- "$LATHE" sft --preset tiny --data "$tmp/on.jsonl" --out "$tmp/x"
expect 2 "give at least one --data" -- "$LATHE" sft --init-from "$tmp/m0" --out "$tmp/x"
expect 2 "has no tokenizer.json" -- "$LATHE" sft --init-from "$tmp/straight" --data "$tmp/on.jsonl" --out "$tmp/x"
expect 2 "already holds a run" -- "$LATHE" sft "${common[@]}" --out "$tmp/straight"
expect 2 "unknown option '--bogus'" -- "$LATHE" sft "${common[@]}" --out "$tmp/x" --bogus

echo "cli_sft: $checks checks, $fails failures"
[ "$fails" = 0 ]
