#!/usr/bin/env bash
# cli_gguf_llamacpp.sh: `lathe export gguf` checked by its real consumer,
# llama.cpp — the prebuilt CPU libraries of the npm package node-llama-cpp
# (tests/llamacpp/, installed by scripts/fetch-test-data.sh; nothing of
# llama.cpp is built or vendored here).
#
# Two small models are trained here for a few seconds on bundled text: a
# Llama (preset tiny: tied head, GQA) and a DeciLM with every block kind
# llama.cpp's `deci` graph represents (GQA with 2, 1 and 4 kv heads, no-op
# attention, linear attention, a no-op attention + no-op FFN layer; untied
# head). Each is exported as f32, f16, bf16 and q8_0; llama.cpp evaluates a
# held-out prompt (next-token log-probabilities at every position, one batch)
# and continues it greedily (single-token decodes through its KV cache);
# lathe's forward logits over the prompt plus that continuation must match at
# every position, and lathe's argmax must be llama.cpp's greedy token at every
# step unless the two are tied within the tolerance. tests/llamacpp/compare.mjs
# holds the tolerances and their derivation (f32: 1e-4 of the logit scale).
#
# Skipped (exit 77: ctest shows Skipped) only when node or node-llama-cpp is missing;
# .ci/run fails when the package was not installed, so in CI this runs.
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }

LLAMACPP=${LATHE_LLAMACPP:-cache/llamacpp}
if ! command -v node >/dev/null 2>&1 || [ ! -f "$LLAMACPP/node_modules/node-llama-cpp/package.json" ]; then
  skip "node or node-llama-cpp missing (run scripts/fetch-test-data.sh)"
  finish cli_gguf_llamacpp
fi

# Tokenizer and training data from the bundled text.
"$LATHE" tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/d.bin" --split blank data/moby-dick-1-4.txt >/dev/null 2>&1 || fail "data tokenize"

# The DeciLM: layer 0 GQA with 2 kv heads; 1 no-op attention; 2 linear
# attention; 3 no-op attention + no-op FFN; 4 GQA with 1 kv head (FFN 512
# wide); 5 GQA with 4 kv heads. Not representable, so not here: a linear FFN,
# attention with a no-op FFN, a no-op first attention or last layer (the
# export refuses them; checked at the end).
cat >"$tmp/deci.json" <<'EOF'
{
  "architectures": ["DeciLMForCausalLM"], "model_type": "nemotron-nas",
  "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 6, "vocab_size": 512,
  "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 500000,
  "tie_word_embeddings": false, "hidden_act": "silu", "bos_token_id": 504, "eos_token_id": 505,
  "block_configs": [
    {"attention": {"n_heads_in_group": 2}, "ffn": {"ffn_mult": 2.0}},
    {"attention": {"no_op": true}, "ffn": {"ffn_mult": 4.0}},
    {"attention": {"replace_with_linear": true}, "ffn": {"ffn_mult": 2.0}},
    {"attention": {"no_op": true}, "ffn": {"no_op": true}},
    {"attention": {"n_heads_in_group": 4}, "ffn": {"ffn_mult": 8.0}},
    {"attention": {"n_heads_in_group": 1}, "ffn": {"ffn_mult": 4.0}}
  ]
}
EOF
"$LATHE" init --preset tiny --out "$tmp/tiny0" --seed 5 >/dev/null || fail "init tiny"
"$LATHE" init --config "$tmp/deci.json" --out "$tmp/deci0" --seed 5 >/dev/null || fail "init deci"

# train NAME: 150 steps (a loss well below the initial one, logits far from
# uniform) into $tmp/NAME, the tokenizer copied beside the weights.
train() {
  "$LATHE" train --init-from "$tmp/${1}0" --data "$tmp/d.bin" --out "$tmp/run-$1" --batch 8 --seq 64 \
    --steps 150 --lr 3e-3 --warmup 10 --log-every 150 --save-every 150 >/dev/null 2>&1 || fail "train $1"
  mv "$tmp/run-$1/$(cat "$tmp/run-$1/latest")" "$tmp/$1" && cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$tmp/$1/"
}
train tiny
train deci

# A prompt not in the training text (Dickens), and 16 greedy steps after it.
ids=$(printf 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief' |
      "$LATHE" tokenizer encode --tokenizer "$tmp/tok" | tr ' ' ',')
GREEDY=16

# parity MODEL LAYERS TYPE: export, llama.cpp's distributions and greedy
# continuation, lathe's logits over the prompt + continuation, compare.
parity() {
  local model=$1 layers=$2 type=$3 base="$tmp/$1-$3"
  check
  if ! "$LATHE" export gguf "$tmp/$model" "$base.gguf" --type "$type" >"$base.log" 2>&1; then
    fail "export $model $type: $(tail -n 2 "$base.log")"; return
  fi
  if ! node tests/llamacpp/logits.mjs "$base.gguf" --ids "$ids" --greedy $GREEDY --threads 1 >"$base.json" 2>"$base.log"; then
    fail "llama.cpp on $model $type: $(tail -n 2 "$base.log")"; return
  fi
  local cont
  cont=$(node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1])); console.log(d.greedy.slice(0, -1).join(","))' "$base.json")
  if ! "$LATHE" forward "$tmp/$model" --ids "$ids,$cont" --dump "$base.npy" >"$base.log" 2>&1; then
    fail "lathe forward $model: $(tail -n 2 "$base.log")"; return
  fi
  node tests/llamacpp/compare.mjs --lathe "$base.npy" --llama "$base.json" --type "$type" --layers "$layers" \
    --label "$model $type" || fail "$model $type: llama.cpp and lathe disagree (above)"
}
for type in f32 f16 bf16 q8_0; do
  parity tiny 2 "$type"
  parity deci 6 "$type"
done

# What llama.cpp's deci graph cannot compute is refused, naming the layer, and
# nothing is written. tiny-hetero's layer 2 has a linear FFN and layer 3
# attention with a no-op FFN.
"$LATHE" init --preset tiny-hetero --out "$tmp/hetero" >/dev/null && cp "$tmp/tok/tokenizer.json" "$tmp/hetero/"
expect 1 "layer 2" -- "$LATHE" export gguf "$tmp/hetero" "$tmp/hetero.gguf" --type f32
check; [ -e "$tmp/hetero.gguf" ] && fail "a refused export left $tmp/hetero.gguf"

echo "cli_gguf_llamacpp: $checks checks, $fails failures"
[ "$fails" = 0 ]
