#!/usr/bin/env bash
# cli_example_reasoning.sh: examples/reasoning.sh (the issue 6 experiment,
# docs/reasoning.md) runs end to end in its QUICK=1 form: every stage (task
# data, tokenizer, teacher pretraining + SFT, per seed the student's pretraining,
# SFT and distillation (with the hidden-state term) from the same checkpoint,
# evaluation) finishes, each evaluation answered N_EVAL problems per level in
# both modes, and the results table and stage times are written. The models
# are far too briefly trained for their accuracies to mean anything; the
# numbers themselves come from the full run, which takes most of an hour and
# is not part of the suite.
source "$(dirname "$0")/lib/cli.sh"
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }

out="$tmp/run"
check
if ! QUICK=1 THREADS=1 LATHE="$LATHE" bash examples/reasoning.sh "$out" >"$tmp/log" 2>&1; then
  fail "examples/reasoning.sh QUICK=1 failed:"; tail -20 "$tmp/log"
fi

# every evaluation: 10 problems per level (QUICK's N_EVAL), levels 1-4, both modes
check
"$PY" - "$out" <<'PYEOF' || fail "evaluation files"
import json, sys
out = sys.argv[1]
files = [f"{out}/teacher.eval.json"] + [f"{out}/seed-{s}/student-{w}.eval.json" for s in (1, 2) for w in ("sft", "kd")]
for f in files:
    rows = json.load(open(f))["rows"]
    seen = {}
    for r in rows:
        assert r["task"] == "bool", (f, r["task"])
        seen[(r["mode"], r["level"])] = seen.get((r["mode"], r["level"]), 0) + r["outputs"]
    want = {(m, l): 10 for m in ("on", "off") for l in (1, 2, 3, 4)}
    assert seen == want, (f, seen)
PYEOF

# the results table: each model at each level, and one distilled-minus-SFT row per level and mode
for who in "teacher (SFT)" "student, SFT" "student, distilled"; do
  for level in 1 2 3 4; do
    check; grep -qF "| $who | $level |" "$out/results.md" || fail "results.md has no row for $who, level $level"
  done
done
check
rows=$(grep -cE '^\| [1-4] \| (on|off) \| [-+][0-9.]+ \| [-+][0-9.]+ \| [-+][0-9.]+ \|$' "$out/results.md")
[ "$rows" = 8 ] || fail "results.md: $rows per-seed difference rows, expected 8"

# the distillation ran with the hidden-state term (its metrics carry the cosine part)
check; grep -q '"cos":' "$out/seed-1/student-kd/metrics.jsonl" || fail "the distillation has no hidden-state term in its metrics"

# stage times: the teacher once, each seed's four stages, and the total
for stage in "teacher: SFT" "seed 1: distill" "seed 2: SFT the student" "seed 2: evaluate both students"; do
  check; grep -qF "$stage" "$out/times.txt" || fail "times.txt has no stage '$stage'"
done
check; grep -qE '^total: [0-9]+s$' "$out/times.txt" || fail "times.txt has no total"

# the teacher is the larger model
check
"$PY" - "$out" <<'PYEOF' || fail "teacher larger than student"
import json, sys
def params(c):
    h, f, L, v = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["vocab_size"]
    kv = h // c["num_attention_heads"] * c["num_key_value_heads"]
    return L * (2 * h * h + 2 * h * kv + 3 * h * f) + 2 * v * h
t, s = (json.load(open(f"{sys.argv[1]}/{w}.json")) for w in ("teacher", "student"))
assert params(t) > params(s), (params(t), params(s))
PYEOF

echo "cli_example_reasoning: $checks checks, $fails failures"
[ "$fails" = 0 ]
