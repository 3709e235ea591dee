#!/usr/bin/env bash
# infer_vs_llamacpp.sh: lathe's inference speed beside llama.cpp's, in one run,
# on the same GGUF files (issue 5, Performance).
#
# For each preset (bench-m, bench-l: random weights, speed does not depend on
# them) and weight type (f32, bf16, q8_0): `lathe init --preset P`, a small
# tokenizer put in the directory (the export pads the vocabulary to the
# model's with unused [PADn] entries), `lathe export gguf --type T`; then
# --reps rounds, each running `lathe bench infer` and bench/llamacpp_infer.mjs
# (llama.cpp's prebuilt CPU libraries from npm node-llama-cpp) once each, in
# fresh processes, alternating which goes first. Both measure the llama-bench
# way: pp = --pp random ids in one batch on an empty cache, tg = --tg
# single-token decodes at batch 1, --threads threads; each process warms up
# once before its timed run. llama.cpp's figure is its own decode timer (see
# bench/llamacpp_infer.mjs; the wall clock through node-llama-cpp is in the
# JSON too).
#
# Prints a table with medians, min..max over the rounds, the ratios
# (lathe / llama.cpp), the decode bandwidth bound lathe measures (read
# bandwidth / bytes a token reads) and each side's share of it, then one JSON
# line with every figure. Run it on an
# otherwise idle machine: this host's bandwidth changes for seconds at a time
# and any busy process collapses a 2-thread decode.
#   bench/infer_vs_llamacpp.sh [--reps 5] [--presets "bench-m bench-l"] [--types "f32 bf16 q8_0"]
#                              [--threads 2] [--pp 512] [--tg 128] [--depth 0] [--kv f16|f32]
#                              [--lathe build/lathe] [--quick]
# --depth D: llama.cpp's tg starts after D prompt ids (0: an empty cache, as llama-bench).
# --kv: llama.cpp's KV cache type (f16, its default; lathe's cache is f32).
# --quick: preset tiny, f32 and q8_0, pp 128, tg 16, 2 rounds: a smoke run of
# the pipeline, not a measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
LATHE=build/lathe
REPS=5 PRESETS="bench-m bench-l" TYPES="f32 bf16 q8_0" THREADS=2 PP=512 TG=128 DEPTH=0 KV=f16
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --presets) PRESETS=$2; shift 2 ;;
    --types) TYPES=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --pp) PP=$2; shift 2 ;;
    --tg) TG=$2; shift 2 ;;
    --depth) DEPTH=$2; shift 2 ;;
    --kv) KV=$2; shift 2 ;;
    --lathe) LATHE=$2; shift 2 ;;
    --quick) PRESETS=tiny TYPES="f32 q8_0" PP=128 TG=16 REPS=2; shift ;;
    -h|--help) sed -n 2,30p "$0"; exit 0 ;;
    *) echo "infer_vs_llamacpp.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

bash scripts/fetch-test-data.sh
[ -e cache/llamacpp/.complete ] || { echo "infer_vs_llamacpp.sh: node-llama-cpp is not installed (no npm registry?)" >&2; exit 1; }
command -v node >/dev/null || { echo "infer_vs_llamacpp.sh: node is required" >&2; exit 1; }
[ -x "$LATHE" ] || { echo "infer_vs_llamacpp.sh: $LATHE is not built" >&2; exit 1; }
export OMP_NUM_THREADS=$THREADS

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$LATHE" tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$work/tok" >/dev/null 2>&1

results="$work/results.jsonl"
: >"$results"
# tag SIDE: wraps the JSON line on stdin as one line of $results.
tag() { sed "s/^/{\"preset\":\"$preset\",\"type\":\"$type\",\"round\":$r,\"side\":\"$1\",\"result\":/; s/\$/}/" >>"$results"; }
run_lathe() {
  "$LATHE" bench infer --model "$gguf" --pp "$PP" --tg "$TG" --threads "$THREADS" --reps 1 --json | tail -n 1 | tag lathe
}
run_llama() {
  node bench/llamacpp_infer.mjs "$gguf" --pp "$PP" --tg "$TG" --threads "$THREADS" --reps 1 \
    --depth "$DEPTH" --kv "$KV" --seed "$r" | tag llama.cpp
}
for preset in $PRESETS; do
  "$LATHE" init --preset "$preset" --out "$work/$preset" >/dev/null
  cp "$work/tok/tokenizer.json" "$work/tok/tokenizer_config.json" "$work/$preset/"
  for type in $TYPES; do
    gguf="$work/$preset-$type.gguf"
    "$LATHE" export gguf "$work/$preset" "$gguf" --type "$type" >/dev/null
    echo "== $preset $type ($(du -m "$gguf" | cut -f1) MB): $REPS rounds" >&2
    for r in $(seq 1 "$REPS"); do
      if [ $((r % 2)) = 1 ]; then run_lathe; run_llama; else run_llama; run_lathe; fi
    done
  done
done

node - "$results" <<'EOF'
// lathe: pp_tps / tg_tps and its decode bound tg_bound_tps (measured read
// bandwidth over the bytes a token reads); llama.cpp: its own timer's figure.
const fs = require("fs");
const rows = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
const stats = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b), m = s.length >> 1;
  return s.length ? {median: s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2, min: s[0], max: s[s.length - 1], n: s.length} : null;
};
const groups = new Map();
for (const r of rows) {
  const key = `${r.preset} ${r.type}`;
  if (!groups.has(key)) groups.set(key, {preset: r.preset, type: r.type, lathe: {pp: [], tg: [], bound: []}, llama: {pp: [], tg: []}});
  const g = groups.get(key);
  if (r.side === "lathe") {
    g.lathe.pp.push(r.result.pp_tps);
    g.lathe.tg.push(r.result.tg_tps);
    g.lathe.bound.push(r.result.tg_bound_tps);
  } else {
    g.llama.pp.push(r.result.pp_tokens_per_s.llama_cpp.values[0]);
    g.llama.tg.push(r.result.tg_tokens_per_s.llama_cpp.values[0]);
  }
}
const fmt = (s) => (s ? `${s.median.toFixed(1)} (${s.min.toFixed(1)}..${s.max.toFixed(1)})` : "-");
const ratio = (a, b) => (a && b ? (a.median / b.median).toFixed(2) + "x" : "-");
const pct = (a, b) => (a && b ? (100 * a.median / b.median).toFixed(0) + "%" : "-");
console.log(`${"model".padEnd(14)} ${"pp lathe t/s".padEnd(24)} ${"pp llama.cpp t/s".padEnd(24)} ${"ratio".padEnd(6)} ` +
            `${"tg lathe t/s".padEnd(22)} ${"tg llama.cpp t/s".padEnd(22)} ${"ratio".padEnd(6)} ${"tg bound".padEnd(9)} of bound: lathe / llama.cpp`);
const summary = [];
for (const g of groups.values()) {
  const s = {preset: g.preset, type: g.type,
             pp: {lathe: stats(g.lathe.pp), llama_cpp: stats(g.llama.pp)},
             tg: {lathe: stats(g.lathe.tg), llama_cpp: stats(g.llama.tg), bound: stats(g.lathe.bound)}};
  summary.push(s);
  console.log(`${(g.preset + " " + g.type).padEnd(14)} ${fmt(s.pp.lathe).padEnd(24)} ${fmt(s.pp.llama_cpp).padEnd(24)} ` +
              `${ratio(s.pp.lathe, s.pp.llama_cpp).padEnd(6)} ${fmt(s.tg.lathe).padEnd(22)} ${fmt(s.tg.llama_cpp).padEnd(22)} ` +
              `${ratio(s.tg.lathe, s.tg.llama_cpp).padEnd(6)} ${(s.tg.bound ? s.tg.bound.median.toFixed(1) : "-").padEnd(9)} ` +
              `${pct(s.tg.lathe, s.tg.bound)} / ${pct(s.tg.llama_cpp, s.tg.bound)}`);
}
console.log(JSON.stringify({summary, runs: rows, load: require("os").loadavg()}));
EOF
