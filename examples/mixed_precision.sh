#!/usr/bin/env bash
# mixed_precision.sh: the finding of Micikevicius et al. (2018), "Mixed
# Precision Training", at small scale. The same model is trained on the same
# data four times — f32, bf16, f16 with dynamic loss scaling, and f16 without
# loss scaling — and the script reports each run's final validation loss, its
# peak memory and activation memory, the share of activation-gradient values
# that are nonzero in f32 but would round to zero in f16 (the paper's
# underflow histogram, at a few points in training), and one chart with all
# four loss curves.
#
#   bash examples/mixed_precision.sh [OUT_DIR]     (about 15 minutes on 2 cores)
#
# Data: State of the Union addresses (cache/text/sotu.txt, fetched by
# scripts/fetch-test-data.sh --bench) when present, otherwise the bundled
# Moby-Dick chapters.
set -euo pipefail
cd "$(dirname "$0")/.."
LATHE=${LATHE:-build/lathe}
OUT=${1:-mixed-precision-out}
STEPS=${STEPS:-600}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
rm -rf "$OUT"
mkdir -p "$OUT"

text=data/moby-dick-1-4.txt split=blank
[ -f cache/text/sotu.txt ] && text=cache/text/sotu.txt split=line # one address per line
echo "data: $text"
$LATHE tokenizer train --vocab 2048 --input "$text" --out "$OUT/tokenizer" >/dev/null
$LATHE data tokenize --tokenizer "$OUT/tokenizer" --out "$OUT/train.bin" --split "$split" --val-fraction 0.05 "$text"

# A small Llama: 4 layers of 256, GQA 8 heads / 4 kv heads, SwiGLU 768, vocab 2048.
cat > "$OUT/config.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256,
 "num_attention_heads": 8, "num_key_value_heads": 4, "num_hidden_layers": 4,
 "intermediate_size": 768, "vocab_size": 2048, "max_position_embeddings": 2048,
 "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": true,
 "bos_token_id": 0, "eos_token_id": 1}
JSON
$LATHE init --config "$OUT/config.json" --out "$OUT/init" --seed 1

runs=("f32:f32:" "bf16:bf16:" "f16-scaled:f16:dynamic" "f16-unscaled:f16:none")
for spec in "${runs[@]}"; do
  IFS=: read -r name dtype scale <<<"$spec"
  echo "== $name"
  extra=()
  [ -n "$scale" ] && extra=(--loss-scale "$scale")
  /usr/bin/time -f "%M" -o "$OUT/$name.rss" \
    $LATHE train --init-from "$OUT/init" --data "$OUT/train.bin" --val "$OUT/train.val.bin" --out "$OUT/$name" \
      --run-name "$name" --dtype "$dtype" "${extra[@]}" --batch 16 --seq 128 --steps "$STEPS" \
      --lr 2e-3 --min-lr 2e-4 --warmup 50 --weight-decay 0.1 --clip 1.0 \
      --log-every 20 --eval-every 200 --eval-batches 0 --save-every 0 --grad-stats-every 200 2>&1 | grep -E "val loss|saved" || true
  $LATHE train --init-from "$OUT/init" --data "$OUT/train.bin" --out "$OUT/$name-dry" --dtype "$dtype" \
    --batch 16 --seq 128 --dry-run > "$OUT/$name.dry"
done

$LATHE plot "$OUT"/f32/metrics.jsonl "$OUT"/bf16/metrics.jsonl "$OUT"/f16-scaled/metrics.jsonl \
  "$OUT"/f16-unscaled/metrics.jsonl -o "$OUT/loss.svg" --title "Mixed precision: f32, bf16, f16 with and without loss scaling"

# The summary table, read back from the metrics files.
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
rows = []
for name in ["f32", "bf16", "f16-scaled", "f16-unscaled"]:
    lines = [json.loads(l) for l in open(os.path.join(out, name, "metrics.jsonl"))]
    val = [l for l in lines if "val_loss" in l]
    train = [l for l in lines if "loss" in l]
    stats = [l for l in lines if "grad_log2_hist" in l]
    rss = int(open(os.path.join(out, name + ".rss")).read().split()[-1]) / 1024
    dry = {}
    for l in open(os.path.join(out, name + ".dry")):
        parts = l.split()
        if len(parts) >= 3 and parts[-1] in ("B", "KiB", "MiB", "GiB"):
            scale = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[parts[-1]]
            dry[" ".join(parts[:-2])] = float(parts[-2]) * scale
    rows.append((name, val[-1]["val_loss"], train[-1]["loss"], train[-1].get("skipped_steps", 0),
                 train[-1].get("loss_scale", 1), rss, dry.get("activations", 0), dry.get("total", 0), stats))
f32_val = rows[0][1]
print()
print(f"{'run':14} {'val loss':>9} {'vs f32':>8} {'train loss':>10} {'skipped':>8} {'scale':>8} {'peak RSS MiB':>13} {'acts MiB':>9} {'planned MiB':>12}")
for name, val, train, skipped, scale, rss, acts, total, _ in rows:
    print(f"{name:14} {val:9.4f} {100 * (val - f32_val) / f32_val:+7.2f}% {train:10.4f} {skipped:8d} {scale:8g} {rss:13.1f} {acts:9.1f} {total:12.1f}")
print()
print("activation gradients entering the backward GEMMs (f32 run): share of nonzero values that")
print("f16 flushes to zero (|g| <= 2^-25) and that become f16 subnormals (2^-25 < |g| < 2^-14)")
for l in rows[0][8]:
    print(f"  step {l['step']:5d}: {100 * l['grad_f16_zero_frac']:6.2f}% to zero, {100 * l['grad_f16_subnormal_frac']:6.2f}% subnormal"
          f"  ({l['grad_nonzero']:,} nonzero values)")
print()
print("log2 histogram of |g| at the last measured step, f32 run (each # = 2% of nonzero values):")
last = rows[0][8][-1]
total = sum(last["grad_log2_hist"]) or 1
for i, count in enumerate(last["grad_log2_hist"]):
    e = last["grad_log2_min"] + i
    if count:
        mark = "  <- f16 zero" if e < -25 else ("  <- f16 subnormal" if e < -14 else "")
        print(f"  2^{e:4d} {'#' * round(50 * count / total):50s} {100 * count / total:5.1f}%{mark}")
json.dump([{"run": r[0], "val_loss": r[1], "train_loss": r[2], "skipped_steps": r[3], "loss_scale": r[4],
            "peak_rss_mib": r[5], "planned_activations_mib": r[6], "planned_total_mib": r[7]} for r in rows],
          open(os.path.join(out, "summary.json"), "w"), indent=1)
PY
echo
echo "chart: $OUT/loss.svg; summary: $OUT/summary.json"
