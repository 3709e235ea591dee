#!/usr/bin/env bash
# quantization_quality.sh: what storing a trained model's weights in bf16,
# f16 or q8_0 costs. A small Llama is pretrained on Moby-Dick, exported to
# GGUF in f32, f16, bf16 and q8_0 (the files llama.cpp runs), and each file is
# scored by lathe's engine on held-out text: perplexity, and the KL divergence
# of its next-token distributions from the f32 model's, with how often both
# pick the same top token.
#
#   bash examples/quantization_quality.sh [OUT_DIR]     (about 10 minutes on 2 cores)
#
# Data: the whole novel (cache/text/moby-dick.txt, fetched by
# scripts/fetch-test-data.sh --bench): everything but the last 100 kB trains,
# the last 100 kB is held out.
set -euo pipefail
cd "$(dirname "$0")/.."
LATHE=${LATHE:-build/lathe}
OUT=${1:-quantization-out}
STEPS=${STEPS:-1500}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
rm -rf "$OUT"
mkdir -p "$OUT"

text=cache/text/moby-dick.txt
[ -f "$text" ] || bash scripts/fetch-test-data.sh --bench
size=$(wc -c < "$text")
head -c $((size - 100000)) "$text" > "$OUT/train.txt"
tail -c 100000 "$text" > "$OUT/heldout.txt"

$LATHE tokenizer train --vocab 4096 --input "$OUT/train.txt" --out "$OUT/tokenizer" >/dev/null
$LATHE data tokenize --tokenizer "$OUT/tokenizer" --out "$OUT/train.bin" --split blank "$OUT/train.txt" >/dev/null

# A small Llama: 4 layers of 256, GQA 8 heads / 4 kv heads, SwiGLU 768, vocab 4096, tied head.
cat > "$OUT/config.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256,
 "num_attention_heads": 8, "num_key_value_heads": 4, "num_hidden_layers": 4,
 "intermediate_size": 768, "vocab_size": 4096, "max_position_embeddings": 2048,
 "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": true,
 "bos_token_id": 0, "eos_token_id": 1}
JSON
$LATHE init --config "$OUT/config.json" --out "$OUT/init" --seed 1 >/dev/null
$LATHE train --init-from "$OUT/init" --tokenizer "$OUT/tokenizer" --data "$OUT/train.bin" --out "$OUT/run" \
  --batch 8 --seq 256 \
  --steps "$STEPS" --lr 2e-3 --min-lr 2e-4 --warmup 50 --log-every 100 --eval-every 100000 \
  --save-every "$STEPS" >/dev/null
model="$OUT/model"
mv "$OUT/run/$(cat "$OUT/run/latest")" "$model"

for type in f32 f16 bf16 q8_0; do
  $LATHE export gguf "$model" "$OUT/model-$type.gguf" --type "$type"
done
# Scored twice: in windows of 256 tokens at once (the prefill path: q8_0 weights
# are dequantized, activations stay f32), and token by token (--step 1, the
# decode path generation uses: q8_0 also rounds activations to 8 bits).
printf '\n%-6s %8s %11s %10s %11s %10s %9s %14s %10s\n' type "size MB" perplexity "bits/byte" "KL mean" "KL max" "same top1" "decode: KL" "same top1"
for type in f32 f16 bf16 q8_0; do
  get() { echo "$1" | sed "s/.*\"$2\":\([-0-9.e+]*\).*/\1/"; }
  a=$($LATHE perplexity "$OUT/model-$type.gguf" --text "$OUT/heldout.txt" --ref "$OUT/model-f32.gguf" --ctx 256 --json)
  b=$($LATHE perplexity "$OUT/model-$type.gguf" --text "$OUT/heldout.txt" --ref "$OUT/model-f32.gguf" --ctx 256 --step 1 --json)
  mb=$(( $(wc -c < "$OUT/model-$type.gguf") / 1000000 ))
  printf '%-6s %8s %11.4f %10.4f %11.3g %10.3g %8.2f%% %14.3g %9.2f%%\n' "$type" "$mb" "$(get "$a" perplexity)" \
    "$(get "$a" bits_per_byte)" "$(get "$a" kl)" "$(get "$a" kl_max)" "$(awk "BEGIN{print $(get "$a" top1_agree) * 100}")" \
    "$(get "$b" kl)" "$(awk "BEGIN{print $(get "$b" top1_agree) * 100}")"
done
