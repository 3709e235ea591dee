#!/usr/bin/env bash
# demo.sh: the demo pipeline on bundled data, what `make demo` runs after
# building. It ends with the product: a small model that reasons step by step
# under `detailed thinking on`, answers directly under `off`, and is right far
# more often than chance when it thinks. In a few minutes on 2 cores:
#   generated boolean problems (both modes) -> a digit-splitting BPE tokenizer
#   -> the reason-s model (8 x 128 Llama, 1M parameters) -> a short pretraining
#   on prose -> SFT with the toggle -> `lathe eval` in both modes -> one answer
#   in each mode -> GGUF export -> how to serve it.
# FULL=1 adds the longer stages: a heterogeneous (DeciLM) model pretrained in
# f32 and bf16 with its loss curves, the training and inference benchmarks, and
# what q8_0 costs against f32. docs/reasoning.md explains the recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
LATHE=${LATHE:-build/lathe}
OUT=${OUT:-demo-out}
FULL=${FULL:-0}
SEED=${SEED:-1}           # model initialisation and data order
EVAL_SEED=${EVAL_SEED:-1000}
N_EVAL=${N_EVAL:-500}     # evaluation problems per level and mode
PRE_STEPS=${PRE_STEPS:-300}
SFT_STEPS=${SFT_STEPS:-2000}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
[ -x "$LATHE" ] || { echo "demo.sh: $LATHE not found (run make first)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)

step() { printf '\n\033[1m== %s\033[0m (%ds)\n' "$*" $(($(date +%s) - start)); }
latest() { echo "$1/$(cat "$1/latest")"; } # the newest checkpoint of a run

step "1. Reasoning problems: the boolean task, levels 1-4, 1,500 per level, each in both modes"
$LATHE tasks sample --task bool --level 2 --seed 4 | head -20
$LATHE tasks gen --task bool --level 1-4 --n 1500 --seed "$SEED" \
  --out-on "$OUT/train-on.jsonl" --out-off "$OUT/train-off.jsonl"

step "2. A byte-level BPE tokenizer (1,024 ids) that keeps every digit a token of its own"
cat data/moby-dick-1-4.txt "$OUT/train-on.jsonl" > "$OUT/tokenizer-text.txt"
$LATHE tokenizer train --vocab 1024 --split-digits --input "$OUT/tokenizer-text.txt" --out "$OUT/tokenizer"
echo "What is 12345 + 678?" | $LATHE tokenizer encode --tokenizer "$OUT/tokenizer"

step "3. The reason-s model: a Llama of 8 layers x 128, 4 heads (2 kv), FFN 128, its own output head"
$LATHE init --preset reason-s --tokenizer "$OUT/tokenizer" --out "$OUT/model-init" --seed "$SEED"

step "4. A short pretraining on prose ($PRE_STEPS steps of 8 x 256 tokens of Moby-Dick)"
$LATHE data tokenize --tokenizer "$OUT/tokenizer" --out "$OUT/prose.bin" --split blank data/moby-dick-1-4.txt
$LATHE train --init-from "$OUT/model-init" --data "$OUT/prose.bin" --out "$OUT/pretrain" \
  --steps "$PRE_STEPS" --batch 8 --seq 256 --lr 2e-3 --min-lr 2e-4 --warmup 50 --seed "$SEED" \
  --log-every 100 --eval-every 100000 --save-every 100000
pretrained=$(latest "$OUT/pretrain") # carries the tokenizer of the model it started from

step "5. SFT with the reasoning toggle: $SFT_STEPS steps, on/off examples 50/50"
$LATHE sft --init-from "$pretrained" --data "$OUT/train-on.jsonl:0.5" --data "$OUT/train-off.jsonl:0.5" \
  --out "$OUT/sft" --steps "$SFT_STEPS" --batch 4 --seq 512 --lr 2e-3 --min-lr 2e-4 --warmup 50 \
  --seed "$SEED" --log-every 250 --eval-every 100000 --save-every 100000
model=$(latest "$OUT/sft")

step "6. Evaluate in both modes: $N_EVAL unseen problems per level (seed $EVAL_SEED), levels 1-4"
$LATHE eval "$model" --tasks bool --levels 1-4 --n "$N_EVAL" --seed "$EVAL_SEED" \
  --exclude "$OUT/train-on.jsonl" --mode both --parallel 16 --max-tokens 512 \
  --json "$OUT/eval.json" | tee "$OUT/eval.txt"

step "7. One unseen problem, answered in each mode"
$LATHE tasks gen --task bool --level 2 --n 1 --seed 7 --eval --exclude "$OUT/train-on.jsonl" \
  --out-on "$OUT/sample.jsonl" > /dev/null
prompt=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["messages"][1]["content"])' \
  "$OUT/sample.jsonl")
for mode in on off; do
  echo "$prompt" | $LATHE chat "$model" --think "$mode" --max-tokens 384 > "$OUT/answer-$mode.txt"
  echo "-- detailed thinking $mode:"; cat "$OUT/answer-$mode.txt"
done

step "8. Export to GGUF for llama.cpp (f32 and q8_0)"
$LATHE export gguf "$model" "$OUT/model-f32.gguf" --type f32
$LATHE export gguf "$model" "$OUT/model-q8_0.gguf" --type q8_0

if [ "$FULL" = 1 ]; then
  step "9. (FULL) A heterogeneous model (DeciLM: GQA with 2, 1 and 4 kv heads, no-op and linear attention)"
  $LATHE tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$OUT/tok512"
  $LATHE data tokenize --tokenizer "$OUT/tok512" --out "$OUT/moby.bin" --split blank --val-fraction 0.1 \
    data/moby-dick-1-4.txt
  $LATHE init --config scripts/demo-model.json --out "$OUT/hetero-init" --seed 7
  $LATHE info "$OUT/hetero-init" | sed -n '1,2p;/layer  attention/,/parameters  /p'
  echo "The real Llama-3.3-Nemotron-Super-49B config, read by the same parser (no weights):"
  $LATHE info tests/fixtures/configs/Llama-3_3-Nemotron-Super-49B-v1.config.json | sed -n '1,9p;/parameters  /,/matmul/p'
  for dtype in f32 bf16; do
    step "10. (FULL) Pretrain it for 300 steps in $dtype (batch 8 x 64 tokens)"
    $LATHE train --init-from "$OUT/hetero-init" --data "$OUT/moby.bin" --val "$OUT/moby.val.bin" \
      --out "$OUT/hetero-$dtype" --run-name "$dtype" --dtype "$dtype" --batch 8 --seq 64 --steps 300 \
      --lr 3e-3 --min-lr 3e-4 --warmup 20 --weight-decay 0.1 --log-every 50 --eval-every 100 \
      --eval-batches 0 --save-every 100
  done
  $LATHE plot "$OUT/hetero-f32/metrics.jsonl" "$OUT/hetero-bf16/metrics.jsonl" -o "$OUT/loss.svg" \
    --title "DeciLM demo model on Moby-Dick 1-4"
  step "11. (FULL) Training benchmark: tokens/s and MFU (bench-m, f32 and bf16)"
  $LATHE bench train --preset bench-m --dtype f32 --steps 3
  $LATHE bench train --preset bench-m --dtype bf16 --steps 3
  step "12. (FULL) What q8_0 costs against f32 (perplexity, KL) on the text's last 12 kB"
  tail -c 12000 data/moby-dick-1-4.txt > "$OUT/heldout.txt"
  $LATHE perplexity "$OUT/model-q8_0.gguf" --text "$OUT/heldout.txt" --ref "$OUT/model-f32.gguf" --ctx 256
  step "13. (FULL) Inference benchmark: prompt processing and generation tokens/s (bench-m, f32 and q8_0)"
  $LATHE bench infer --preset bench-m --reps 2
  $LATHE bench infer --preset bench-m --dtype q8_0 --reps 2
fi

elapsed=$(($(date +%s) - start))
step "Results"
echo "Evaluation: boolean task, $N_EVAL unseen problems per level and mode (seed $EVAL_SEED), greedy;"
echo "trained on levels 1-4 (seed $SEED). Chance is 50%."
echo
grep -E '^(task|bool)' "$OUT/eval.txt"
echo
echo "Q: $prompt"
for mode in on off; do
  echo "-- detailed thinking $mode:"
  cat "$OUT/answer-$mode.txt"
done
echo
echo "Wall time: ${elapsed}s on $(getconf _NPROCESSORS_ONLN) cores ($OMP_NUM_THREADS threads), load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Model (Hugging Face format): $model"
echo "GGUF (llama.cpp):            $OUT/model-f32.gguf, $OUT/model-q8_0.gguf"
[ "$FULL" = 1 ] && echo "Loss curves:                 $OUT/loss.svg"
echo "Talk to it:                  build/lathe chat $model --think on"
echo "Serve it:                    build/lathe serve $model --port 8080"
echo "                             then open http://localhost:8080/ (chat page; OpenAI API at /v1)"
