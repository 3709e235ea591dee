#!/usr/bin/env bash
# cli_train.sh: `lathe train` from the command line — the pipeline from text
# to a trained checkpoint, crash safety under deterministic fault injection
# (a kill at any point of a save leaves the previous checkpoint usable, and the
# resumed run ends bit-identical to an uninterrupted one), --dry-run, and
# usage errors.
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }

# Text -> tokenizer -> shards -> model.
"$LATHE" tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/d.bin" --split blank --val-fraction 0.1 data/moby-dick-1-4.txt >/dev/null 2>&1 || fail "data tokenize"
"$LATHE" init --preset tiny --out "$tmp/m0" >/dev/null || fail "init"
common=(--init-from "$tmp/m0" --data "$tmp/d.bin" --val "$tmp/d.val.bin" --batch 4 --seq 32 --steps 30
        --lr 3e-3 --warmup 3 --log-every 1 --eval-every 10 --eval-batches 2 --save-every 10 --keep-last 2)

expect 0 "saved: .*/latest" -- "$LATHE" train "${common[@]}" --out "$tmp/straight"
check; [ "$(cat "$tmp/straight/latest")" = "checkpoints/step-00000030" ] || fail "latest: $(cat "$tmp/straight/latest")"
check; [ "$(ls "$tmp/straight/checkpoints")" = "$(printf 'step-00000020\nstep-00000030')" ] || fail "keep-last 2: $(ls "$tmp/straight/checkpoints")"
check; [ "$(grep -c '"val_loss"' "$tmp/straight/metrics.jsonl")" = 3 ] || fail "3 validation lines expected"
# The checkpoint is an ordinary model directory.
expect 0 "top-5 at position" -- "$LATHE" forward "$tmp/straight/checkpoints/step-00000030" --ids 1,2,3

# Killed right after the first complete save; resumed, killed inside the
# second save (state file half written); resumed again to the end.
# faulted POINT ARGS...: runs lathe train with LATHE_FAULT=POINT; it aborts
# there (an inner shell keeps bash's "Aborted" notice out of the log).
faulted() {
  local point=$1; shift
  LATHE_FAULT=$point bash -c '"$@" >/dev/null 2>&1; exit 0' _ "$LATHE" train "$@" 2>/dev/null
}
faulted checkpoint:saved "${common[@]}" --out "$tmp/faulted"
check; [ "$(cat "$tmp/faulted/latest")" = "checkpoints/step-00000010" ] || fail "latest after the first fault"
faulted checkpoint:state-written "${common[@]}" --out "$tmp/faulted" --resume
check; [ "$(cat "$tmp/faulted/latest")" = "checkpoints/step-00000010" ] || fail "latest moved although the save was killed"
check; [ -d "$tmp/faulted/checkpoints/step-00000020.tmp" ] || fail "the killed save should have left its temporary directory"
expect 0 "saved" -- "$LATHE" train "${common[@]}" --out "$tmp/faulted" --resume
check; cmp -s "$tmp/straight/checkpoints/step-00000030/model.safetensors" "$tmp/faulted/checkpoints/step-00000030/model.safetensors" \
  || fail "resumed weights differ from the uninterrupted run"
check; [ -d "$tmp/faulted/checkpoints/step-00000020.tmp" ] && fail "temporary checkpoint not cleaned up"
check
losses() { grep -o '"step":[0-9]*,"tokens":[0-9]*,"loss":[0-9.]*' "$1" | sort -u; }
[ "$(losses "$tmp/straight/metrics.jsonl")" = "$(losses "$tmp/faulted/metrics.jsonl")" ] || fail "losses differ after resume"

# Killed before any checkpoint exists: nothing to resume, said clearly.
faulted checkpoint:model-written "${common[@]}" --out "$tmp/early"
expect 2 "has no checkpoint yet" -- "$LATHE" train "${common[@]}" --out "$tmp/early" --resume

expect 0 "activations +[0-9.]+ KiB|activations +[0-9.]+ MiB" -- "$LATHE" train --preset tiny --data x.bin --out "$tmp/dry" --dry-run
expect 0 "optimizer state" -- "$LATHE" train --preset bench-m --data x.bin --out "$tmp/dry" --batch 4 --seq 512 --dry-run
expect 0 "usage: lathe train" -- "$LATHE" train --help
expect 2 "already holds a run" -- "$LATHE" train "${common[@]}" --out "$tmp/straight"
expect 2 "unknown option '--bogus'" -- "$LATHE" train "${common[@]}" --out "$tmp/x" --bogus
expect 2 "--data needs a value" -- "$LATHE" train --preset tiny --out "$tmp/x" --data
expect 2 "give at least one --data" -- "$LATHE" train --preset tiny --out "$tmp/x"
expect 2 "give exactly one of --init-from, --preset or --config" -- "$LATHE" train --data "$tmp/d.bin" --out "$tmp/x"
expect 2 "--lr: 'fast' is not a number" -- "$LATHE" train "${common[@]}" --out "$tmp/x" --lr fast
expect 2 "unknown dtype 'f64'" -- "$LATHE" train "${common[@]}" --out "$tmp/x" --dtype f64
expect 1 "/nope.bin" -- "$LATHE" train --preset tiny --data "$tmp/nope.bin" --out "$tmp/x"

# Mixed precision: f16 with dynamic loss scaling trains and logs its scale; the
# gradient statistics land in the metrics.
expect 0 "scale 65536" -- "$LATHE" train --init-from "$tmp/m0" --data "$tmp/d.bin" --out "$tmp/f16" --dtype f16 \
  --batch 4 --seq 32 --steps 4 --log-every 1 --save-every 0 --grad-stats-every 2
check; grep -q '"grad_log2_hist"' "$tmp/f16/metrics.jsonl" || fail "no gradient statistics in the metrics"
check; grep -q '"loss_scale":65536' "$tmp/f16/metrics.jsonl" || fail "no loss scale in the metrics"
expect 2 "--loss-scale 'lots'" -- "$LATHE" train --init-from "$tmp/m0" --data "$tmp/d.bin" --out "$tmp/x" --dtype f16 --loss-scale lots

# lathe plot draws the runs' curves.
expect 0 "" -- "$LATHE" plot "$tmp/straight/metrics.jsonl" "$tmp/faulted/metrics.jsonl" -o "$tmp/loss.svg"
check; grep -q "<svg" "$tmp/loss.svg" || fail "no SVG written"

echo "cli_train: $checks checks, $fails failures"
[ "$fails" = 0 ]
