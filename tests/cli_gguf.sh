#!/usr/bin/env bash
# cli_gguf.sh: the GGUF commands from the command line — lathe export gguf,
# lathe import gguf and lathe quantize: --help, a model directory through GGUF
# and back to the same safetensors bytes (and the same GGUF again), the two
# quantize paths agreeing, the refusal of a model llama.cpp cannot run with
# nothing written, and usage and runtime errors with their exit codes.
# (llama.cpp itself runs the exported files in cli_gguf_llamacpp.sh.)
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }

for cmd in "export gguf" "import gguf" quantize; do
  expect 0 "usage: lathe $cmd" -- "$LATHE" $cmd --help
done
expect 0 "usage: lathe export COMMAND" -- "$LATHE" export --help
expect 2 "unknown command 'onnx'" -- "$LATHE" export onnx

# A tiny model with a tokenizer trained on the bundled text.
"$LATHE" tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" init --preset tiny --out "$tmp/tiny" --seed 2 >/dev/null || fail "init"
cp "$tmp/tok"/* "$tmp/tiny/"

expect 0 "wrote $tmp/tiny.gguf \(f32\)" -- "$LATHE" export gguf "$tmp/tiny" "$tmp/tiny.gguf"
expect 0 "wrote $tmp/back \(f32\)" -- "$LATHE" import gguf "$tmp/tiny.gguf" "$tmp/back"
same "$tmp/tiny/model.safetensors" "$tmp/back/model.safetensors" "f32 export + import round trip"
# The imported directory exports to the same GGUF bytes.
expect 0 "wrote" -- "$LATHE" export gguf "$tmp/back" "$tmp/again.gguf"
same "$tmp/tiny.gguf" "$tmp/again.gguf" "GGUF -> directory -> GGUF"
# Its tokenizer encodes as the original.
text="Call me Ishmael. <|eot_id|> Whenever I find myself <think>growing grim</think> about the mouth"
check
[ "$("$LATHE" tokenizer encode --tokenizer "$tmp/tok" --text "$text")" = \
  "$("$LATHE" tokenizer encode --tokenizer "$tmp/back" --text "$text")" ] || fail "imported tokenizer encodes differently"
check
grep -q '"chat_template"' "$tmp/back/tokenizer_config.json" || fail "imported tokenizer_config.json has no chat template"

# quantize: from the directory and from the GGUF, the same file; q8_0 twice is stable.
expect 0 "wrote $tmp/q8.gguf \(q8_0\)" -- "$LATHE" quantize "$tmp/tiny" "$tmp/q8.gguf" --type q8_0
expect 0 "wrote" -- "$LATHE" quantize "$tmp/tiny.gguf" "$tmp/q8b.gguf" --type q8_0
same "$tmp/q8.gguf" "$tmp/q8b.gguf" "quantize from a directory and from its GGUF"
expect 0 "wrote" -- "$LATHE" quantize "$tmp/q8.gguf" "$tmp/q8c.gguf" --type q8_0
same "$tmp/q8.gguf" "$tmp/q8c.gguf" "q8_0 re-quantized"
expect 0 "wrote" -- "$LATHE" export gguf "$tmp/tiny" "$tmp/bf16.gguf" --type bf16
expect 0 "wrote" -- "$LATHE" quantize "$tmp/tiny.gguf" "$tmp/bf16b.gguf" --type bf16
same "$tmp/bf16.gguf" "$tmp/bf16b.gguf" "bf16 by export and by quantize"
check
[ "$(stat -c %s "$tmp/q8.gguf")" -lt "$(stat -c %s "$tmp/bf16.gguf")" ] || fail "q8_0 file not smaller than bf16"
expect 0 "wrote $tmp/back-q8 \(bf16\)" -- "$LATHE" import gguf "$tmp/q8.gguf" "$tmp/back-q8" --dtype bf16
expect 0 "top-5 at position 2" -- "$LATHE" forward "$tmp/back-q8" --ids 1,5,9

# A model llama.cpp cannot run is refused, naming the layer; nothing is written.
"$LATHE" init --preset tiny-hetero --out "$tmp/hetero" >/dev/null || fail "init tiny-hetero"
cp "$tmp/tok"/* "$tmp/hetero/"
expect 1 "layer 2 has a linear-replacement FFN" -- "$LATHE" export gguf "$tmp/hetero" "$tmp/hetero.gguf"
# ... and says what does export, and that lathe runs the model as it is.
expect 1 "llama.cpp runs any Llama model, and a DeciLM model with no linear-replacement FFN" -- \
  "$LATHE" export gguf "$tmp/hetero" "$tmp/hetero.gguf"
expect 1 "presets tiny, bench-m, bench-m-hetero, bench-l and reason-s export; tiny-hetero does not" -- \
  "$LATHE" export gguf "$tmp/hetero" "$tmp/hetero.gguf"
expect 1 "lathe's own engine runs this model as it is: lathe generate, lathe chat or lathe serve" -- \
  "$LATHE" export gguf "$tmp/hetero" "$tmp/hetero.gguf"
check
ls "$tmp" | grep -q '^hetero.gguf' && fail "a refused export left a file"

# Usage errors (exit 2) and runtime errors (exit 1).
expect 2 "give MODEL_DIR and OUT.gguf" -- "$LATHE" export gguf "$tmp/tiny"
expect 2 "unknown dtype 'q4_0'" -- "$LATHE" export gguf "$tmp/tiny" "$tmp/x.gguf" --type q4_0
expect 2 "--dtype is required" -- "$LATHE" quantize "$tmp/tiny" "$tmp/x.gguf"
expect 2 "safetensors weights are f32, bf16 or f16" -- "$LATHE" import gguf "$tmp/tiny.gguf" "$tmp/x" --dtype q8_0
expect 2 "unknown option '--bogus'" -- "$LATHE" import gguf "$tmp/tiny.gguf" "$tmp/x" --bogus
expect 1 "config.json: not a GGUF file" -- "$LATHE" import gguf "$tmp/tiny/config.json" "$tmp/x"
head -c 5000 "$tmp/tiny.gguf" > "$tmp/trunc.gguf"
expect 1 "trunc.gguf: .*truncated" -- "$LATHE" import gguf "$tmp/trunc.gguf" "$tmp/x"
expect 1 "nope.gguf: cannot open" -- "$LATHE" quantize "$tmp/nope.gguf" "$tmp/x.gguf" --type f16
"$LATHE" init --preset tiny --out "$tmp/notok" >/dev/null
expect 1 "tokenizer.json" -- "$LATHE" export gguf "$tmp/notok" "$tmp/x.gguf"
expect 1 "cannot create" -- "$LATHE" export gguf "$tmp/tiny" "$tmp/no/such/dir/x.gguf"

echo "cli_gguf: $checks checks, $fails failures"
[ "$fails" = 0 ]
