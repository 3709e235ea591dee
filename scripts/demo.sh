#!/usr/bin/env bash
# demo.sh: the demo pipeline on bundled data — what `make demo` runs after
# building. It grows with the project; today: create a heterogeneous
# (DeciLM / Nemotron-style) model, describe it, run a forward/backward pass and
# compare it with the independent PyTorch reference values, and the quick
# training benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
LATHE=${LATHE:-build/lathe}
OUT=${OUT:-demo-out}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Create a heterogeneous model (preset tiny-hetero: all six DeciLM block variants)"
$LATHE init --preset tiny-hetero --out "$OUT/tiny-hetero" --seed 7

step "2. Describe it: architecture, per-layer blocks, parameters, memory"
$LATHE info "$OUT/tiny-hetero"

step "3. The real Llama-3.3-Nemotron-Super-49B config, read by the same parser (no weights)"
$LATHE info tests/fixtures/configs/Llama-3_3-Nemotron-Super-49B-v1.config.json | sed -n '1,10p;/parameters  /,$p'

step "4. One forward and backward pass: top-5 logits of the last position, loss, gradient norms"
$LATHE forward "$OUT/tiny-hetero" --ids 1,17,42,99,7,300 --targets 17,42,99,7,300,-100 --backward --dump "$OUT/logits.npy"

step "5. Quick training benchmark: forward+backward tokens/s and MFU (bench-m, f32 and bf16)"
$LATHE bench train --preset bench-m --dtype f32 --steps 3
$LATHE bench train --preset bench-m --dtype bf16 --steps 3

step "Done"
echo "Model directory: $OUT/tiny-hetero (config.json + model.safetensors, Hugging Face format)"
echo "Logits of step 4: $OUT/logits.npy"
