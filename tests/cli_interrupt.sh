#!/usr/bin/env bash
# cli_interrupt.sh: Ctrl-C and SIGTERM during the trainers (train, sft,
# distill). The first signal saves a checkpoint at the next step boundary,
# prints the command that resumes the run and exits with 130; the resumed run
# ends bit-identical to an uninterrupted one. A second Ctrl-C quits at once,
# without a checkpoint, removing the run's folders that are still empty.
# Also: `lathe train --tokenizer` puts the tokenizer in every checkpoint (and
# says so when it cannot), and a run that fails to start leaves no folder behind.
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }
export OMP_NUM_THREADS=1

"$LATHE" tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/d.bin" --split blank data/moby-dick-1-4.txt >/dev/null 2>&1 || fail "data tokenize"
"$LATHE" init --preset tiny --out "$tmp/m0" >/dev/null || fail "init"

# interrupt and resume_line come from tests/lib/cli.sh.

# lathe train: uninterrupted, then Ctrl-C at step 20 of 300 and resumed.
args=(--init-from "$tmp/m0" --data "$tmp/d.bin" --tokenizer "$tmp/tok" --batch 4 --seq 32 --steps 300 --lr 3e-3
      --log-every 1 --save-every 0)
expect 0 "saved" -- "$LATHE" train "${args[@]}" --out "$tmp/straight"
interrupt INT 20 "$tmp/int" "$tmp/int.log" -- "$LATHE" train "${args[@]}" --out "$tmp/int"
check; [ "$rc" = 130 ] || fail "train after Ctrl-C: exit $rc, expected 130: $(tail -3 "$tmp/int.log")"
check; grep -q "stopping after this step to save a checkpoint (Ctrl-C again to quit at once)" "$tmp/int.log" || fail "no notice of the stop"
check; grep -qE "interrupted at step [0-9]+ of 300; saved .*/int/checkpoints/step-000000[0-9]+" "$tmp/int.log" \
  || fail "no checkpoint reported: $(tail -3 "$tmp/int.log")"
ck=$tmp/int/$(cat "$tmp/int/latest" 2>/dev/null)
check; [ -f "$ck/train_state.bin" ] && [ "$ck" != "$tmp/int/checkpoints/step-00000300" ] || fail "no mid-run checkpoint: $ck"
same "$tmp/tok/tokenizer.json" "$ck/tokenizer.json" "the interrupted checkpoint carries the tokenizer"
same "$tmp/tok/tokenizer_config.json" "$ck/tokenizer_config.json" "the interrupted checkpoint carries tokenizer_config.json"
cmd=$(resume_line "$tmp/int.log")
check; [[ "$cmd" == "$LATHE train "*"--out $tmp/int --resume" ]] || fail "resume command: $cmd"
eval "$cmd" >"$tmp/resume.log" 2>&1 || fail "the printed resume command failed: $(tail -3 "$tmp/resume.log")"
same "$tmp/straight/checkpoints/step-00000300/model.safetensors" "$tmp/int/checkpoints/step-00000300/model.safetensors" \
  "weights after Ctrl-C and resume differ from the uninterrupted run"
same "$tmp/straight/checkpoints/step-00000300/train_state.bin" "$tmp/int/checkpoints/step-00000300/train_state.bin" \
  "optimizer/data state after Ctrl-C and resume differs"
# The checkpoint runs as it is: it has its tokenizer.
expect 0 "" -- "$LATHE" generate "$tmp/int/checkpoints/step-00000300" "Call me" --max-tokens 4

# SIGTERM stops a run the same way; an argument with a space is quoted in the resume command.
interrupt TERM 5 "$tmp/term" "$tmp/term.log" -- "$LATHE" train "${args[@]}" --run-name "my run" --out "$tmp/term"
check; [ "$rc" = 130 ] || fail "train after SIGTERM: exit $rc, expected 130"
check; grep -q -- "--run-name 'my run' --out $tmp/term --resume" "$tmp/term.log" || fail "resume command not quoted: $(tail -1 "$tmp/term.log")"

# A second Ctrl-C quits at once: steps of about a second, the second signal 0.1 s after the first.
"$LATHE" train --init-from "$tmp/m0" --data "$tmp/d.bin" --batch 64 --seq 256 --steps 50 --log-every 1 \
  --save-every 0 --out "$tmp/twice" >"$tmp/twice.log" 2>&1 &
pid=$! waited=0
until grep -q '"step":1,' "$tmp/twice/metrics.jsonl" 2>/dev/null || [ $((waited++)) -gt 3000 ]; do sleep 0.02; done
kill -INT $pid; sleep 0.1; kill -INT $pid
wait $pid; rc=$?
check; [ "$rc" = 130 ] || fail "after two Ctrl-C: exit $rc, expected 130"
check; grep -q "Ctrl-C again to quit at once" "$tmp/twice.log" || fail "the first Ctrl-C was not seen: $(tail -2 "$tmp/twice.log")"
check; grep -q "resume with" "$tmp/twice.log" && fail "the second Ctrl-C should quit without saving"
check; [ -e "$tmp/twice/latest" ] && fail "the second Ctrl-C should quit without a checkpoint"
check; [ -e "$tmp/twice/checkpoints" ] && fail "the second Ctrl-C left an empty $tmp/twice/checkpoints"
check; [ -f "$tmp/twice/metrics.jsonl" ] || fail "the second Ctrl-C removed a folder that held the metrics"
# ... and before the first step is logged, it leaves none of the folders the run made (OUT and its parents).
"$LATHE" train --init-from "$tmp/m0" --data "$tmp/d.bin" --batch 64 --seq 256 --steps 50 --log-every 1 \
  --save-every 0 --out "$tmp/early/run" >"$tmp/early.log" 2>&1 &
pid=$! waited=0
until [ -d "$tmp/early/run/checkpoints" ] || [ $((waited++)) -gt 3000 ]; do sleep 0.02; done
kill -INT $pid; sleep 0.1; kill -INT $pid
wait $pid; rc=$?
check; [ "$rc" = 130 ] || fail "after two early Ctrl-C: exit $rc, expected 130: $(tail -2 "$tmp/early.log")"
check; [ -e "$tmp/early" ] && fail "two early Ctrl-C left $(find "$tmp/early")"

# Without --tokenizer (and none in --init-from), lathe train says its checkpoints carry none.
"$LATHE" init --preset tiny --out "$tmp/bare" >/dev/null
expect 0 "checkpoints will carry no tokenizer.*pass --tokenizer DIR" -- \
  "$LATHE" train --init-from "$tmp/bare" --data "$tmp/d.bin" --batch 2 --seq 16 --steps 2 --out "$tmp/notok"
expect 2 "the model has no tokenizer \(tokenizer.json\): a model directory needs config.json, model.safetensors and tokenizer.json; copy tokenizer.json" -- \
  "$LATHE" generate "$tmp/notok/checkpoints/step-00000002" "Call me"
expect 1 "not a model directory but a training run: its newest checkpoint is .*notok/checkpoints/step-00000002" -- \
  "$LATHE" generate "$tmp/notok" "Call me"
expect 1 "not a model directory \(no config.json\): a model directory holds config.json, model.safetensors and tokenizer.json" -- \
  "$LATHE" generate "$tmp/tok" "Call me"
# The --init-from model's tokenizer travels on by default.
cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$tmp/bare/"
expect 0 "saved" -- "$LATHE" train --init-from "$tmp/bare" --data "$tmp/d.bin" --batch 2 --seq 16 --steps 2 --out "$tmp/withtok"
same "$tmp/tok/tokenizer.json" "$tmp/withtok/checkpoints/step-00000002/tokenizer.json" "--init-from's tokenizer copied"
expect 2 "has no tokenizer.json: give the directory .lathe tokenizer train. wrote" -- \
  "$LATHE" train --preset tiny --data "$tmp/d.bin" --tokenizer "$tmp/m0" --out "$tmp/badtok"
"$LATHE" tokenizer train --vocab 1024 --input data/moby-dick-1-4.txt --out "$tmp/tok1k" >/dev/null 2>&1
expect 2 "the tokenizer .*tok1k has 1024 tokens but the model's vocabulary has 512" -- \
  "$LATHE" train --preset tiny --data "$tmp/d.bin" --tokenizer "$tmp/tok1k" --out "$tmp/badtok"

# A run that fails to start leaves no folder behind.
expect 1 "nope.bin" -- "$LATHE" train --preset tiny --data "$tmp/nope.bin" --out "$tmp/failed/run"
check; [ -e "$tmp/failed" ] && fail "a failed run left $(find "$tmp/failed")"
check; [ -e "$tmp/badtok" ] && fail "a failed run left $tmp/badtok"

echo "cli_interrupt: $checks checks, $fails failures"
[ "$fails" = 0 ]
