#!/usr/bin/env bash
# cli_distill.sh: `lathe distill` from the command line — a tiny teacher,
# trained briefly, distilled into a smaller student of another shape on the
# same shards (the KL to the teacher falls); a student that starts as the
# teacher's own copy has zero loss at step 1; a stopped and resumed run ends
# bit-identical; the hidden-state term; mismatched vocabularies refused;
# --dry-run counts the teacher; chat JSONL with a top-k teacher; usage errors.
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }
export OMP_NUM_THREADS=1

"$LATHE" tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/d.bin" --split blank --val-fraction 0.1 data/moby-dick-1-4.txt >/dev/null 2>&1 || fail "data tokenize"
"$LATHE" init --preset tiny --out "$tmp/t0" >/dev/null || fail "init teacher"
"$LATHE" train --init-from "$tmp/t0" --data "$tmp/d.bin" --out "$tmp/trun" --batch 4 --seq 32 --steps 20 --lr 3e-3 \
  --log-every 10 --save-every 0 >/dev/null 2>&1 || fail "train teacher"
teacher="$tmp/trun/checkpoints/step-00000020"
# The student: one layer, half the width, the same vocabulary.
sed -e 's/"num_hidden_layers":\t2/"num_hidden_layers":\t1/' -e 's/"hidden_size":\t64/"hidden_size":\t32/' \
    -e 's/"num_attention_heads":\t4/"num_attention_heads":\t2/' -e 's/"intermediate_size":\t128/"intermediate_size":\t64/' \
    "$tmp/t0/config.json" >"$tmp/student.json"
check; grep -q '"num_hidden_layers":.1,' "$tmp/student.json" || fail "student config not edited"
"$LATHE" init --config "$tmp/student.json" --out "$tmp/s0" >/dev/null || fail "init student"

common=(--teacher "$teacher" --init-from "$tmp/s0" --data "$tmp/d.bin" --val "$tmp/d.val.bin" --batch 4 --seq 32
        --steps 30 --lr 3e-3 --warmup 3 --log-every 1 --eval-every 15 --eval-batches 2 --save-every 10 --temperature 2)
expect 0 "saved: .*/latest" -- "$LATHE" distill "${common[@]}" --out "$tmp/straight"
# Every step logs kl and ce; validation logs val_kl; the KL falls.
check
/usr/bin/python3 - "$tmp/straight/metrics.jsonl" <<'PYEOF' || fail "the KL did not fall"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
train = [r for r in rows if "loss" in r]
val = [r for r in rows if "val_loss" in r]
assert len(train) == 30 and all("kl" in r and "ce" in r for r in train), train[:2]
# ce_weight 0: the loss is tau^2 KL.
assert all(abs(r["loss"] - 4 * r["kl"]) < 1e-4 * max(1, r["loss"]) for r in train), train[:2]
kl = [r["kl"] for r in train]
assert sum(kl[-5:]) / 5 < 0.7 * kl[0], (kl[0], kl[-5:])
assert len(val) == 2 and all("val_kl" in r for r in val) and val[-1]["val_kl"] < val[0]["val_kl"], val
PYEOF
expect 0 "top-5 at position" -- "$LATHE" forward "$tmp/straight/checkpoints/step-00000030" --ids 1,2,3

# Stopped after 12 steps, resumed to 30: the same weights and state, bit for bit.
expect 0 "saved" -- "$LATHE" distill "${common[@]}" --out "$tmp/resumed" --stop-after 12
expect 0 "saved" -- "$LATHE" distill "${common[@]}" --out "$tmp/resumed" --resume
same "$tmp/straight/checkpoints/step-00000030/model.safetensors" "$tmp/resumed/checkpoints/step-00000030/model.safetensors" \
  "resumed weights differ from the uninterrupted run"
same "$tmp/straight/checkpoints/step-00000030/train_state.bin" "$tmp/resumed/checkpoints/step-00000030/train_state.bin" \
  "resumed optimizer/data state differs"

# The teacher distilled into its own copy: KL 0 at step 1 (before any update),
# with the hidden-state term (same shape) 0 too; with --ce-weight 1 the loss
# is the cross-entropy alone.
expect 0 "saved" -- "$LATHE" distill --teacher "$teacher" --init-from "$teacher" --data "$tmp/d.bin" --out "$tmp/self" \
  --batch 4 --seq 32 --steps 2 --log-every 1 --save-every 0 --hidden-weight 0.5 --hidden-layers 0,1,2
check
/usr/bin/python3 - "$tmp/self/metrics.jsonl" <<'PYEOF' || fail "self-distillation loss is not 0 at step 1"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][0]
assert r["step"] == 1 and abs(r["loss"]) < 1e-5 and abs(r["kl"]) < 1e-5 and abs(r["cos"]) < 1e-5 and r["ce"] > 1, r
PYEOF
expect 0 "saved" -- "$LATHE" distill --teacher "$teacher" --init-from "$tmp/s0" --data "$tmp/d.bin" --out "$tmp/hard" \
  --batch 4 --seq 32 --steps 1 --save-every 0 --ce-weight 1
check
/usr/bin/python3 - "$tmp/hard/metrics.jsonl" <<'PYEOF' || fail "--ce-weight 1: loss is not the cross-entropy"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][0]
assert abs(r["loss"] - r["ce"]) < 1e-5 * r["ce"] and "kl" not in r, r
PYEOF

# Refusals: another vocabulary; the hidden term across shapes; top-k beyond V.
sed 's/"vocab_size":\t512/"vocab_size":\t640/' "$tmp/t0/config.json" >"$tmp/v640.json"
"$LATHE" init --config "$tmp/v640.json" --out "$tmp/v640" >/dev/null || fail "init 640"
expect 2 "has a vocabulary of 512 tokens but the student .*v640 has 640: distillation needs the same tokenizer" -- \
  "$LATHE" distill --teacher "$teacher" --init-from "$tmp/v640" --data "$tmp/d.bin" --out "$tmp/x"
expect 2 "hidden-state term needs both equal" -- \
  "$LATHE" distill --teacher "$teacher" --init-from "$tmp/s0" --data "$tmp/d.bin" --out "$tmp/x" --hidden-weight 1
expect 2 "--top-k 600 exceeds the vocabulary of 512" -- \
  "$LATHE" distill --teacher "$teacher" --init-from "$tmp/s0" --data "$tmp/d.bin" --out "$tmp/x" --top-k 600
expect 2 "layer 3 is outside 0..2" -- "$LATHE" distill --teacher "$teacher" --init-from "$teacher" --data "$tmp/d.bin" \
  --out "$tmp/x3" --hidden-weight 1 --hidden-layers 1,3 --steps 1

# --dry-run counts the teacher: weights, activations, logits (N x V, or N x k).
expect 0 "teacher weights.*KiB" -- "$LATHE" distill "${common[@]}" --out "$tmp/dry" --dry-run
expect 0 "objective \(teacher\)" -- "$LATHE" distill "${common[@]}" --out "$tmp/dry" --dry-run
expect 0 "teacher logits +256.00 KiB" -- "$LATHE" distill "${common[@]}" --out "$tmp/dry" --dry-run
expect 0 "teacher top-k logits +8.00 KiB" -- "$LATHE" distill "${common[@]}" --out "$tmp/dry" --dry-run --top-k 8
check; [ -e "$tmp/dry" ] && fail "--dry-run created the output directory"

# Chat JSONL with a top-k teacher: the teacher and student share the task tokenizer.
"$LATHE" tasks gen --task add --level 1 --n 60 --seed 1 --out-on "$tmp/on.jsonl" >/dev/null || fail "tasks gen"
"$LATHE" tokenizer train --vocab 512 --input "$tmp/on.jsonl" data/moby-dick-1-4.txt --out "$tmp/ctok" >/dev/null 2>&1 || fail "tokenizer train (chat)"
cp "$tmp/ctok/tokenizer.json" "$tmp/ctok/tokenizer_config.json" "$tmp/t0/"
cp "$tmp/ctok/tokenizer.json" "$tmp/ctok/tokenizer_config.json" "$tmp/s0/"
expect 0 "loss [0-9.]+ \(kl [0-9.]+ ce [0-9.]+\)" -- "$LATHE" distill --teacher "$tmp/t0" --init-from "$tmp/s0" --data "$tmp/on.jsonl" \
  --out "$tmp/chat" --batch 2 --seq 128 --steps 6 --lr 3e-3 --log-every 1 --save-every 0 --top-k 8
same "$tmp/ctok/tokenizer.json" "$tmp/chat/checkpoints/step-00000006/tokenizer.json" "tokenizer copied into the checkpoint"
check; [ "$(grep -c '"kl"' "$tmp/chat/metrics.jsonl")" = 6 ] || fail "chat run: 6 metrics lines with kl expected"
# Tokenizers that differ are refused.
cp "$tmp/tok/tokenizer.json" "$tmp/s0/tokenizer.json"
expect 2 "differ: the teacher and the student must share one tokenizer" -- \
  "$LATHE" distill --teacher "$tmp/t0" --init-from "$tmp/s0" --data "$tmp/on.jsonl" --out "$tmp/x"

expect 0 "usage: lathe distill" -- "$LATHE" distill --help
expect 2 "--teacher DIR is required" -- "$LATHE" distill --init-from "$tmp/s0" --data "$tmp/d.bin" --out "$tmp/x"
expect 2 "--init-from STUDENT_DIR is required" -- "$LATHE" distill --teacher "$teacher" --data "$tmp/d.bin" --out "$tmp/x"
expect 2 "--preset and --config do not apply" -- "$LATHE" distill --teacher "$teacher" --preset tiny --data "$tmp/d.bin" --out "$tmp/x"
expect 2 "give at least one --data" -- "$LATHE" distill --teacher "$teacher" --init-from "$tmp/s0" --out "$tmp/x"
expect 2 "mixes chat JSONL and token shards" -- "$LATHE" distill --teacher "$teacher" --init-from "$tmp/s0" --data "$tmp/d.bin" \
  --data "$tmp/on.jsonl" --out "$tmp/x"
expect 2 "--temperature 0: expected a number > 0" -- "$LATHE" distill "${common[@]}" --out "$tmp/x" --temperature 0
expect 2 "--ce-weight 2: expected 0 to 1" -- "$LATHE" distill "${common[@]}" --out "$tmp/x" --ce-weight 2
expect 2 "--hidden-layers needs --hidden-weight > 0" -- "$LATHE" distill "${common[@]}" --out "$tmp/x" --hidden-layers 1
expect 2 "--top-k" -- "$LATHE" distill "${common[@]}" --out "$tmp/x" --top-k -1

echo "cli_distill: $checks checks, $fails failures"
[ "$fails" = 0 ]
