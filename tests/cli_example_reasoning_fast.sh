#!/usr/bin/env bash
# cli_example_reasoning_fast.sh: examples/reasoning.sh FAST=1 (the fast recipe of
# docs/reasoning.md) runs end to end in its QUICK=1 form. QUICK trains for a few
# steps only, so the scores mean nothing; the recipe's numbers come from the
# full FAST=1 run (about 5 minutes), which is not part of the suite.
source "$(dirname "$0")/lib/cli.sh"
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }

# The fast recipe (FAST=1) in its QUICK form: the preset, the digit-splitting
# tokenizer, pretraining, SFT and the evaluation of levels 1-4 in both modes run,
# and the output says that QUICK's scores are a smoke test's.
fast="$tmp/fast"
check
if ! FAST=1 QUICK=1 THREADS=1 LATHE="$LATHE" bash examples/reasoning.sh "$fast" >"$tmp/fast.log" 2>&1; then
  fail "examples/reasoning.sh FAST=1 QUICK=1 failed:"; tail -20 "$tmp/fast.log"
fi
check; grep -q "smoke test of the pipeline" "$tmp/fast.log" || fail "QUICK=1 is not labelled a smoke test"
check; grep -q '"num_hidden_layers":	8' "$fast/fast-init/config.json" || fail "the fast recipe's model is not reason-s"
check
"$PY" - "$fast" <<'PYEOF' || fail "fast recipe: tokenizer or evaluation"
import json, sys
out = sys.argv[1]
tok = json.load(open(f"{out}/tok/tokenizer.json"))
assert "|\\p{N}|" in tok["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"], "digits not split"
seen = {}
for r in json.load(open(f"{out}/fast.eval.json"))["rows"]:
    seen[(r["mode"], r["level"])] = seen.get((r["mode"], r["level"]), 0) + r["outputs"]
assert seen == {(m, l): 10 for m in ("on", "off") for l in (1, 2, 3, 4)}, seen
PYEOF

echo "cli_example_reasoning_fast: $checks checks, $fails failures"
[ "$fails" = 0 ]
