#!/usr/bin/env bash
# demo.sh: the demo pipeline on bundled data — what `make demo` runs after
# building. It grows with the project; today: train a BPE tokenizer on the
# bundled Moby-Dick chapters, turn the text into token shards, create a
# heterogeneous (DeciLM / Nemotron-style) model, pretrain it in f32 and bf16,
# draw the loss curves, run the training benchmark, then use the model:
# generate text through the inference engine, chat with the reasoning toggle,
# export it to GGUF (q8_0) for llama.cpp and measure what q8_0 costs, and run
# the inference benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
LATHE=${LATHE:-build/lathe}
OUT=${OUT:-demo-out}
STEPS=${STEPS:-300}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
rm -rf "$OUT"
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Train a byte-level BPE tokenizer (512 ids) on data/moby-dick-1-4.txt"
$LATHE tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$OUT/tokenizer"
echo "Call me Ishmael." | $LATHE tokenizer encode --tokenizer "$OUT/tokenizer"

step "2. Tokenize the text into training and validation shards (paragraphs as documents)"
$LATHE data tokenize --tokenizer "$OUT/tokenizer" --out "$OUT/moby.bin" --split blank --val-fraction 0.1 data/moby-dick-1-4.txt

step "3. Create a heterogeneous model (DeciLM: GQA with 2, 1 and 4 kv heads, no-op and linear attention, a skipped layer)"
$LATHE init --config scripts/demo-model.json --out "$OUT/model-init" --seed 7
$LATHE info "$OUT/model-init" | sed -n '1,2p;/layer  attention/,/parameters  /p'

step "4. The real Llama-3.3-Nemotron-Super-49B config, read by the same parser (no weights)"
$LATHE info tests/fixtures/configs/Llama-3_3-Nemotron-Super-49B-v1.config.json | sed -n '1,9p;/parameters  /,/matmul/p'

for dtype in f32 bf16; do
  step "5. Pretrain it for $STEPS steps in $dtype (batch 8 x 64 tokens, AdamW, cosine schedule)"
  $LATHE train --init-from "$OUT/model-init" --data "$OUT/moby.bin" --val "$OUT/moby.val.bin" \
    --out "$OUT/run-$dtype" --run-name "$dtype" --dtype "$dtype" --batch 8 --seq 64 --steps "$STEPS" \
    --lr 3e-3 --min-lr 3e-4 --warmup 20 --weight-decay 0.1 --log-every 25 --eval-every 100 --eval-batches 0 \
    --save-every 100
done

step "6. Loss curves of both runs"
$LATHE plot "$OUT/run-f32/metrics.jsonl" "$OUT/run-bf16/metrics.jsonl" -o "$OUT/loss.svg" --title "DeciLM demo model on Moby-Dick 1-4"

step "7. The trained model's next-token guesses after \"Call me\""
ids=$(echo -n "Call me" | $LATHE tokenizer encode --tokenizer "$OUT/tokenizer" | tr ' ' ',')
$LATHE forward "$OUT/run-f32/$(cat "$OUT/run-f32/latest")" --ids "$ids"

step "8. Training benchmark: forward+backward tokens/s and MFU (bench-m, f32 and bf16)"
$LATHE bench train --preset bench-m --dtype f32 --steps 3
$LATHE bench train --preset bench-m --dtype bf16 --steps 3

model="$OUT/run-f32/$(cat "$OUT/run-f32/latest")"
cp "$OUT/tokenizer/tokenizer.json" "$OUT/tokenizer/tokenizer_config.json" "$model/"

step "9. Generate: the inference engine (KV cache per layer) continues a text"
$LATHE generate "$model" "Call me Ishmael. Some years ago" --max-tokens 40 --stats

step "10. Chat through a pipe: /think on switches the system prompt to 'detailed thinking on'"
echo "   (this model is only pretrained: it has not learnt to answer or to think yet)"
printf 'Who is Queequeg?\n/think on\nWho is Queequeg?\n' | $LATHE chat "$model" --max-tokens 24 --stats

step "11. Export to GGUF for llama.cpp (q8_0); what q8_0 costs against f32 (perplexity, KL) on the text's last 12 kB"
$LATHE export gguf "$model" "$OUT/model-f32.gguf" --type f32
$LATHE export gguf "$model" "$OUT/model-q8_0.gguf" --type q8_0
tail -c 12000 data/moby-dick-1-4.txt > "$OUT/heldout.txt"
$LATHE perplexity "$OUT/model-q8_0.gguf" --text "$OUT/heldout.txt" --ref "$OUT/model-f32.gguf" --ctx 64

step "12. Inference benchmark: prompt processing and generation tokens/s (bench-m, f32 and q8_0)"
$LATHE bench infer --preset bench-m --reps 2
$LATHE bench infer --preset bench-m --dtype q8_0 --reps 2

step "Results"
printf '%-6s %12s %12s %12s\n' run "train loss" "val loss" "val bpb"
for dtype in f32 bf16; do
  m="$OUT/run-$dtype/metrics.jsonl"
  train=$(grep '"loss"' "$m" | tail -1 | sed 's/.*"loss":\([0-9.]*\).*/\1/')
  val=$(grep '"val_loss"' "$m" | tail -1 | sed 's/.*"val_loss":\([0-9.]*\).*/\1/')
  bpb=$(grep '"val_bpb"' "$m" | tail -1 | sed 's/.*"val_bpb":\([0-9.]*\).*/\1/')
  printf '%-6s %12s %12s %12s\n' "$dtype" "$train" "$val" "$bpb"
done
echo
echo "Tokenizer:        $OUT/tokenizer/tokenizer.json"
echo "Trained models:   $OUT/run-f32/checkpoints/, $OUT/run-bf16/checkpoints/ (Hugging Face format)"
echo "GGUF (llama.cpp): $OUT/model-f32.gguf, $OUT/model-q8_0.gguf"
echo "Loss curves:      $OUT/loss.svg (metrics in $OUT/run-*/metrics.jsonl)"
echo "Try:              build/lathe chat $model --think on"
