#!/usr/bin/env bash
# cli_basic.sh: the `lathe` command line — --help on every command, the
# init -> info -> forward path, and clear errors with the right exit codes
# (0 ok, 1 failure, 2 usage) for bad input.
source "$(dirname "$0")/lib/cli.sh"

expect 0 "usage: lathe COMMAND" -- "$LATHE" --help
expect 2 "usage: lathe COMMAND" -- "$LATHE"
expect 2 "unknown command 'frobnicate'" -- "$LATHE" frobnicate
for cmd in init info forward; do
  expect 0 "usage: lathe $cmd" -- "$LATHE" $cmd --help
done
expect 0 "usage: lathe bench COMMAND" -- "$LATHE" bench --help
expect 0 "usage: lathe bench train" -- "$LATHE" bench train --help

# The happy path on both architectures.
expect 0 "DeciLMForCausalLM, 0.31M parameters" -- "$LATHE" init --preset tiny-hetero --out "$tmp/hetero" --seed 3
expect 0 "LlamaForCausalLM, 0.11M parameters, stored as bf16" -- "$LATHE" init --preset tiny --out "$tmp/tiny" --dtype bf16
expect 0 "parameters +309,824" -- "$LATHE" info "$tmp/hetero"
expect 0 "    2  linear .* linear" -- "$LATHE" info "$tmp/hetero"
expect 0 "parameters +106,816" -- "$LATHE" info "$tmp/tiny/config.json"
expect 0 "parameters +49,867,145,216" -- "$LATHE" info tests/fixtures/configs/Llama-3_3-Nemotron-Super-49B-v1.config.json
expect 0 "activations 4x512 +[0-9.]+ MiB" -- "$LATHE" info --preset bench-m-hetero --batch 4 --seq 512
expect 2 "--seq: 4096 is outside \[1, 2048\]" -- "$LATHE" info --preset tiny --seq 4096
expect 0 "top-5 at position 2: [0-9]+:" -- "$LATHE" forward "$tmp/hetero" --ids 1,5,9
expect 0 "loss [0-9.]+ over 2 targets" -- "$LATHE" forward "$tmp/tiny" --ids 1,5,9 --targets 5,9,-100
expect 0 "gradient norm" -- "$LATHE" forward "$tmp/tiny" --ids 1,5,9 --targets 5,9,-100 --backward
expect 0 "wrote $tmp/l.npy \(3 x 512 float32\)" -- "$LATHE" forward "$tmp/tiny" --ids 1,5,9 --dump "$tmp/l.npy"
# The .npy header is what numpy expects.
checks=$((checks + 1))
if ! head -c 80 "$tmp/l.npy" | grep -aq "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 512), }"; then
  echo "FAIL: $tmp/l.npy header"; fails=$((fails + 1))
fi
# Same seed, same bytes; different seed, different bytes.
"$LATHE" init --preset tiny-hetero --out "$tmp/hetero2" --seed 3 >/dev/null
"$LATHE" init --preset tiny-hetero --out "$tmp/hetero3" --seed 4 >/dev/null
checks=$((checks + 2))
cmp -s "$tmp/hetero/model.safetensors" "$tmp/hetero2/model.safetensors" || { echo "FAIL: init not deterministic"; fails=$((fails + 1)); }
cmp -s "$tmp/hetero/model.safetensors" "$tmp/hetero3/model.safetensors" && { echo "FAIL: seed ignored"; fails=$((fails + 1)); }

# Usage errors: exit 2 with a message naming the problem.
expect 2 "give exactly one of --preset or --config" -- "$LATHE" init --out "$tmp/x"
expect 2 "--out DIR is required" -- "$LATHE" init --preset tiny
expect 2 "--out needs a value" -- "$LATHE" init --preset tiny --out
expect 2 "unknown option '--bogus'" -- "$LATHE" init --preset tiny --out "$tmp/x" --bogus
expect 2 "unknown preset 'huge'" -- "$LATHE" init --preset huge --out "$tmp/x"
expect 2 "unknown dtype 'f64'" -- "$LATHE" init --preset tiny --out "$tmp/x" --dtype f64
expect 2 "--seed: 'abc' is not an integer" -- "$LATHE" init --preset tiny --out "$tmp/x" --seed abc
expect 2 "--ids: item 2 of '1,x' is not an integer" -- "$LATHE" forward "$tmp/tiny" --ids 1,x
expect 2 "--targets has 2 ids, --ids has 3" -- "$LATHE" forward "$tmp/tiny" --ids 1,2,3 --targets 1,2
expect 2 "--backward needs --targets" -- "$LATHE" forward "$tmp/tiny" --ids 1,2 --backward
expect 2 "lathe bench: unknown command 'fly'" -- "$LATHE" bench fly
# init --tokenizer: the model directory is complete (the tokenizer files are copied as they
# are); a tokenizer with more ids than the model's vocabulary is refused before anything is written.
head -c 20000 data/moby-dick-1-4.txt > "$tmp/text.txt"
"$LATHE" tokenizer train --vocab 300 --input "$tmp/text.txt" --out "$tmp/tok300" >/dev/null 2>&1
"$LATHE" tokenizer train --vocab 600 --input "$tmp/text.txt" --out "$tmp/tok600" >/dev/null 2>&1
expect 0 "0.11M parameters, stored as f32, with its tokenizer" -- "$LATHE" init --preset tiny --out "$tmp/withtok" --tokenizer "$tmp/tok300"
same "$tmp/tok300/tokenizer.json" "$tmp/withtok/tokenizer.json" "init --tokenizer copies tokenizer.json"
same "$tmp/tok300/tokenizer_config.json" "$tmp/withtok/tokenizer_config.json" "init --tokenizer copies tokenizer_config.json"
expect 2 "has 600 tokens but the model's vocabulary has 512" -- "$LATHE" init --preset tiny --out "$tmp/toobig" --tokenizer "$tmp/tok600"
checks=$((checks + 1))
if [ -e "$tmp/toobig" ]; then echo "FAIL: a refused init left $tmp/toobig"; fails=$((fails + 1)); fi
# Runtime errors: exit 1, naming the file or value at fault.
expect 1 "token id 999 at position 1 is outside the vocabulary" -- "$LATHE" forward "$tmp/tiny" --ids 1,999
expect 1 "/nonexistent: not a model directory" -- "$LATHE" forward /nonexistent --ids 1
expect 1 "nope.json: cannot open" -- "$LATHE" info "$tmp/nope.json"
printf '{"architectures": ["LlamaForCausalLM"], "hidden_size": 64' > "$tmp/bad.json"
expect 1 "bad.json: invalid JSON" -- "$LATHE" info "$tmp/bad.json"
# A truncated weights file is reported, and nothing half-written is left by init.
head -c 1000 "$tmp/tiny/model.safetensors" > "$tmp/trunc.st" && cp "$tmp/trunc.st" "$tmp/tiny/model.safetensors"
expect 1 "model.safetensors" -- "$LATHE" forward "$tmp/tiny" --ids 1
checks=$((checks + 1))
if ls "$tmp"/*/*.tmp.* >/dev/null 2>&1; then echo "FAIL: temporary files left behind"; fails=$((fails + 1)); fi

echo "cli_basic: $checks checks, $fails failures"
[ "$fails" = 0 ]
