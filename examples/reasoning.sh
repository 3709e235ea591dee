#!/usr/bin/env bash
# reasoning.sh: the Llama-Nemotron recipe at small scale (issue 6, "the result
# to show"). For each seed:
#   1. pretrain a small student and a larger teacher on Moby-Dick (a little
#      language before the tasks);
#   2. SFT both on paired reasoning-on / reasoning-off task data (lathe tasks
#      gen, blended 50/50), the student and the teacher for the same steps;
#   3. distill the SFT'd teacher into a fresh copy of the pretrained student on
#      the same data and steps as the student's SFT;
#   4. evaluate the SFT student, the teacher and the distilled student on
#      held-out problems (another seed, deduplicated against the training set)
#      in both modes: accuracy, format compliance, tokens per answer.
# Then one table over the seeds (mean and spread) in OUT/results.md.
#
#   bash examples/reasoning.sh [OUT_DIR]
#   SEEDS="1 2 3" N_EVAL=500 bash examples/reasoning.sh     (the issue's setting)
#   QUICK=1 bash examples/reasoning.sh                       (a smoke run, minutes)
#
# Knobs (environment): SEEDS, TASKS, N_TRAIN (problems per task and level),
# N_EVAL, PRE_STEPS, SFT_STEPS, TEACHER_SFT_STEPS, THREADS.
#
# Status: the pipeline runs end to end (QUICK=1, 1.5 minutes); the default
# sizes and steps are not yet tuned to the issue's 60-minute budget, and no
# result has been recorded (docs/reasoning.md comes with the first full run).
set -euo pipefail
cd "$(dirname "$0")/.."
LATHE=${LATHE:-build/lathe}
OUT=${1:-reasoning-out}
SEEDS=${SEEDS:-"1 2 3"}
TASKS=${TASKS:-add,sub,mul}
N_TRAIN=${N_TRAIN:-1500}
N_EVAL=${N_EVAL:-500}
PRE_STEPS=${PRE_STEPS:-200}
SFT_STEPS=${SFT_STEPS:-600}
TEACHER_SFT_STEPS=${TEACHER_SFT_STEPS:-$SFT_STEPS}
if [ "${QUICK:-0}" = 1 ]; then
  SEEDS=1 N_TRAIN=200 N_EVAL=20 PRE_STEPS=20 SFT_STEPS=40 TEACHER_SFT_STEPS=40
fi
export OMP_NUM_THREADS=${THREADS:-$(nproc)}
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)
say() { printf '\n\033[1m== %s (%ds)\033[0m\n' "$*" $(( $(date +%s) - start )); }

say "task data: $TASKS, levels 1-4, $N_TRAIN per task and level; tokenizer"
$LATHE tasks gen --task "$TASKS" --n "$N_TRAIN" --seed 1 --out-on "$OUT/train-on.jsonl" --out-off "$OUT/train-off.jsonl"
$LATHE tasks gen --task "$TASKS" --n 50 --seed 7 --eval --exclude "$OUT/train-on.jsonl" \
  --out-on "$OUT/val-on.jsonl" --out-off "$OUT/val-off.jsonl"
# the tokenizer sees prose and the task texts (digits, the think tags, "Answer:")
cat data/moby-dick-1-4.txt "$OUT/train-on.jsonl" > "$OUT/tok-text.txt"
# Llama 3's pre-tokenizer regex with numbers split into single digits (Llama 3
# groups up to 3): digit-by-digit working needs the digits of the operands as
# tokens of their own. (A first run with Llama 3's grouping learnt the format
# but copied operand digits wrongly: 0% accuracy.)
DIGITS="(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
$LATHE tokenizer train --vocab 1024 --input "$OUT/tok-text.txt" --out "$OUT/tok" --pattern "$DIGITS" >/dev/null
$LATHE data tokenize --tokenizer "$OUT/tok" --out "$OUT/prose.bin" --split blank data/moby-dick-1-4.txt >/dev/null

# student: 4 layers of 128; teacher: 6 layers of 256 (both Llama, GQA, tied head)
config() { # NAME HIDDEN LAYERS HEADS KV FFN
  cat > "$OUT/$1.json" <<JSON
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": $2,
 "num_attention_heads": $4, "num_key_value_heads": $5, "num_hidden_layers": $3,
 "intermediate_size": $6, "vocab_size": 1024, "max_position_embeddings": 1024,
 "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": true}
JSON
}
config student 128 4 4 2 384
config teacher 256 6 8 4 768

# latest DIR: the newest checkpoint of a run, with the tokenizer beside it
latest() { local d="$1/$(cat "$1/latest")"; cp "$OUT/tok/tokenizer.json" "$OUT/tok/tokenizer_config.json" "$d/"; echo "$d"; }
common=(--warmup 20 --log-every 50 --eval-every 100000 --save-every 100000)
pre=(--batch 8 --seq 256)
sft=(--batch 4 --seq 512) # the longest worked answers (mul, level 4) are ~300 tokens
data=(--data "$OUT/train-on.jsonl:0.5" --data "$OUT/train-off.jsonl:0.5")

for seed in $SEEDS; do
  S="$OUT/seed-$seed"
  mkdir -p "$S"
  for who in student teacher; do
    say "seed $seed: pretrain the $who ($PRE_STEPS steps on prose)"
    $LATHE init --config "$OUT/$who.json" --out "$S/$who-init" --seed "$seed" >/dev/null
    $LATHE train --init-from "$S/$who-init" --data "$OUT/prose.bin" --out "$S/$who-pre" --steps "$PRE_STEPS" \
      --lr 2e-3 --min-lr 2e-4 --seed "$seed" "${pre[@]}" "${common[@]}" >/dev/null
  done
  say "seed $seed: SFT the student ($SFT_STEPS steps, on/off 50/50)"
  $LATHE sft --init-from "$(latest "$S/student-pre")" "${data[@]}" --val "$OUT/val-on.jsonl" --out "$S/student-sft" \
    --steps "$SFT_STEPS" --lr 1e-3 --min-lr 1e-4 --seed "$seed" "${sft[@]}" "${common[@]}" >/dev/null
  say "seed $seed: SFT the teacher ($TEACHER_SFT_STEPS steps)"
  $LATHE sft --init-from "$(latest "$S/teacher-pre")" "${data[@]}" --val "$OUT/val-on.jsonl" --out "$S/teacher-sft" \
    --steps "$TEACHER_SFT_STEPS" --lr 1e-3 --min-lr 1e-4 --seed "$seed" "${sft[@]}" "${common[@]}" >/dev/null
  say "seed $seed: distill the teacher into the pretrained student ($SFT_STEPS steps)"
  $LATHE distill --teacher "$(latest "$S/teacher-sft")" --init-from "$(latest "$S/student-pre")" "${data[@]}" \
    --out "$S/student-kd" --temperature 1 --ce-weight 0.5 \
    --steps "$SFT_STEPS" --lr 1e-3 --min-lr 1e-4 --seed "$seed" "${sft[@]}" "${common[@]}" >/dev/null
  for who in student-sft teacher-sft student-kd; do
    say "seed $seed: evaluate $who ($N_EVAL problems per task and level, both modes)"
    $LATHE eval "$(latest "$S/$who")" --tasks "$TASKS" --n "$N_EVAL" --seed 1000 --exclude "$OUT/train-on.jsonl" \
      --mode both --parallel 16 --max-tokens 384 --json "$S/$who.eval.json" >"$S/$who.eval.txt"
  done
done

say "results"
/usr/bin/python3 - "$OUT" $SEEDS <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
lines = ["| model | mode | level | accuracy (mean ± sd over seeds) | format ok | tokens per answer |",
         "|---|---|---|---|---|---|"]
for who in ("student-sft", "teacher-sft", "student-kd"):
    per = {}  # (mode, level) -> list over seeds of summed counts
    for s in seeds:
        sums = {}
        for r in json.load(open(f"{out}/seed-{s}/{who}.eval.json"))["rows"]:
            k = (r["mode"], r["level"])
            c = sums.setdefault(k, [0, 0, 0, 0])
            c[0] += r["correct"]; c[1] += r["outputs"]; c[2] += r["format_ok"]; c[3] += r["generated_tokens"]
        for k, c in sums.items():
            per.setdefault(k, []).append(c)
    for (mode, level), cs in sorted(per.items()):
        acc = [c[0] / max(1, c[1]) for c in cs]
        fmt = statistics.mean(c[2] / max(1, c[1]) for c in cs)
        tok = statistics.mean(c[3] / max(1, c[1]) for c in cs)
        sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
        lines.append(f"| {who} | {mode} | {level} | {100 * statistics.mean(acc):.1f}% ± {100 * sd:.1f} | "
                     f"{100 * fmt:.1f}% | {tok:.1f} |")
open(f"{out}/results.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
say "done: $OUT/results.md"
