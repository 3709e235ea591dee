#!/usr/bin/env bash
# cli_plot.sh: `lathe plot` — charts of one and several runs are well-formed
# SVG (xmllint when installed), runs are named by "run" or their file name,
# and every bad input (missing file, malformed line, nothing to plot, bad
# flags) gets a clear message, the right exit code, and no file written.
source "$(dirname "$0")/lib/cli.sh"

check() { # check DESCRIPTION command...: the command must succeed
  checks=$((checks + 1))
  if ! "${@:2}" >/dev/null 2>&1; then echo "FAIL: $1"; fails=$((fails + 1)); fi
}
nothing_written() {
  checks=$((checks + 1))
  if [ -e "$tmp/out.svg" ] || ls "$tmp"/*.tmp.* >/dev/null 2>&1; then
    echo "FAIL: a failed plot left a file behind: $(ls "$tmp")"; fails=$((fails + 1))
  fi
}

# Two runs as the trainer writes them, one named by its "run" field, one by its file name.
{
  for s in 1 2 3 4 5 6 7 8; do
    echo "{\"run\":\"f32\",\"step\":$s,\"tokens\":$((s * 2048)),\"loss\":$((10 - s)).25,\"lr\":0.0003,\"elapsed_s\":$((s * 30))}"
    [ $((s % 4)) = 0 ] && echo "{\"run\":\"f32\",\"step\":$s,\"tokens\":$((s * 2048)),\"val_loss\":$((10 - s)).5,\"val_ppl\":99.1,\"val_bpb\":1.2}"
  done
} > "$tmp/f32.jsonl"
sed -e 's/"run":"f32",//' -e 's/\.25/.75/' "$tmp/f32.jsonl" > "$tmp/bf16-run.jsonl"

expect 0 "usage: lathe plot METRICS.jsonl" -- "$LATHE" plot --help
expect 0 "draw loss curves" -- "$LATHE" --help
expect 0 "wrote $tmp/a.svg: 2 runs, 20 points" -- "$LATHE" plot "$tmp/f32.jsonl" "$tmp/bf16-run.jsonl" -o "$tmp/a.svg" --title "f32 & bf16"
check "chart names run f32" grep -q '>f32</text>' "$tmp/a.svg"
check "chart names run bf16-run" grep -q '>bf16-run</text>' "$tmp/a.svg"
check "title escaped" grep -q '>f32 &amp; bf16</text>' "$tmp/a.svg"
check "two training curves" grep -q 'id="train-1"' "$tmp/a.svg"
check "validation curve" grep -q 'id="val-0"' "$tmp/a.svg"
expect 0 "wrote $tmp/b.svg: 1 run, 2 points" -- "$LATHE" plot "$tmp/f32.jsonl" --out="$tmp/b.svg" --x tokens --y val_loss --log-y
expect 0 "wrote $tmp/c.svg: 1 run, 8 points" -- "$LATHE" plot "$tmp/f32.jsonl" -o "$tmp/c.svg" --x time --y loss --smooth 3
check "time axis in minutes" grep -q '>elapsed time (min)</text>' "$tmp/c.svg"
check "smoothed curve over the raw one" grep -q 'id="train-raw-0"' "$tmp/c.svg"
# The same run name twice: the legend tells the files apart.
cp "$tmp/f32.jsonl" "$tmp/again.jsonl"
expect 0 "wrote" -- "$LATHE" plot "$tmp/f32.jsonl" "$tmp/again.jsonl" -o "$tmp/d.svg"
check "duplicate names disambiguated (1)" grep -q ">f32 ($tmp/f32.jsonl)</text>" "$tmp/d.svg"
check "duplicate names disambiguated (2)" grep -q ">f32 ($tmp/again.jsonl)</text>" "$tmp/d.svg"
# A run without any point for this chart is named in a warning, the others still drawn.
grep -v val_loss "$tmp/f32.jsonl" > "$tmp/train-only.jsonl"
expect 0 "warning: $tmp/train-only.jsonl has no points for this chart" -- "$LATHE" plot "$tmp/f32.jsonl" "$tmp/train-only.jsonl" -o "$tmp/e.svg" --y val_loss

if command -v xmllint >/dev/null 2>&1; then
  for f in a b c d e; do check "$f.svg is well-formed XML (xmllint)" xmllint --noout "$tmp/$f.svg"; done
else
  skip "xmllint not installed (libxml2-utils): SVG well-formedness not checked by xmllint"
fi

# Runtime errors: exit 1, naming the file (and line), nothing written.
expect 1 "$tmp/nope.jsonl: cannot open" -- "$LATHE" plot "$tmp/f32.jsonl" "$tmp/nope.jsonl" -o "$tmp/out.svg"
nothing_written
{ head -3 "$tmp/f32.jsonl"; echo '{"step": 4, "loss": 3.1'; } > "$tmp/bad.jsonl"
expect 1 "$tmp/bad.jsonl:4: invalid JSON" -- "$LATHE" plot "$tmp/bad.jsonl" -o "$tmp/out.svg"
nothing_written
echo '{"step": 1, "loss": "high"}' > "$tmp/badtype.jsonl"
expect 1 "$tmp/badtype.jsonl:1: field 'loss' must be a number" -- "$LATHE" plot "$tmp/badtype.jsonl" -o "$tmp/out.svg"
nothing_written
echo '{"step": 1, "lr": 0.001}' > "$tmp/nolines.jsonl"
expect 1 "nothing to plot: no line of run 'nolines' has 'loss' or 'val_loss' together with 'step'" -- "$LATHE" plot "$tmp/nolines.jsonl" -o "$tmp/out.svg"
nothing_written
expect 1 "together with 'elapsed_s'" -- "$LATHE" plot "$tmp/f32.jsonl" -o "$tmp/out.svg" --x time --y val_loss
nothing_written
: > "$tmp/empty.jsonl"
expect 1 "nothing to plot" -- "$LATHE" plot "$tmp/empty.jsonl" -o "$tmp/out.svg"
nothing_written

# Usage errors: exit 2, naming the flag.
expect 2 "give at least one METRICS.jsonl file" -- "$LATHE" plot -o "$tmp/out.svg"
expect 2 "-o OUT.svg is required" -- "$LATHE" plot "$tmp/f32.jsonl"
expect 2 "-o needs a value" -- "$LATHE" plot "$tmp/f32.jsonl" -o
expect 2 "must end in .svg" -- "$LATHE" plot "$tmp/f32.jsonl" -o "$tmp/out.png"
expect 2 "--x: unknown axis 'epoch'" -- "$LATHE" plot "$tmp/f32.jsonl" -o "$tmp/out.svg" --x epoch
expect 2 "--y: unknown curves 'ppl'" -- "$LATHE" plot "$tmp/f32.jsonl" -o "$tmp/out.svg" --y ppl
expect 2 "--smooth: 0 is outside \[1, 1000000\]" -- "$LATHE" plot "$tmp/f32.jsonl" -o "$tmp/out.svg" --smooth 0
expect 2 "--smooth: 'lots' is not an integer" -- "$LATHE" plot "$tmp/f32.jsonl" -o "$tmp/out.svg" --smooth lots
expect 2 "unknown option '--colour'" -- "$LATHE" plot "$tmp/f32.jsonl" -o "$tmp/out.svg" --colour red
nothing_written

finish cli_plot
