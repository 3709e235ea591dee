#!/usr/bin/env bash
# cli_tasks.sh: `lathe tasks` — gen writes valid, paired chat JSONL (checked
# with Python's json module), is deterministic per seed, an --eval set shares
# no key with the training files it excludes, verify scores outputs, and bad
# flags give clear usage errors.
source "$(dirname "$0")/lib/cli.sh"
PY=/usr/bin/python3

expect 0 "usage: lathe tasks COMMAND" -- "$LATHE" tasks --help
expect 2 "usage: lathe tasks COMMAND" -- "$LATHE" tasks
expect 0 "usage: lathe tasks gen" -- "$LATHE" tasks gen --help
expect 0 "usage: lathe tasks verify" -- "$LATHE" tasks verify --help

expect 0 "wrote 72 problems \(3 per task and level, levels 1-4, seed 5\)" -- \
  "$LATHE" tasks gen --task all --n 3 --seed 5 --out-on "$tmp/on.jsonl" --out-off "$tmp/off.jsonl"
"$LATHE" tasks gen --task all --n 3 --seed 5 --out-on "$tmp/on2.jsonl" >/dev/null
"$LATHE" tasks gen --task all --n 3 --seed 6 --out-on "$tmp/on3.jsonl" >/dev/null
same "$tmp/on.jsonl" "$tmp/on2.jsonl" "same seed, same file"
checks=$((checks + 1))
cmp -s "$tmp/on.jsonl" "$tmp/on3.jsonl" && { echo "FAIL: --seed ignored"; fails=$((fails + 1)); }

# Valid JSONL, the toggle in the system message, the same problems in both files.
checks=$((checks + 1))
if ! "$PY" - "$tmp/on.jsonl" "$tmp/off.jsonl" <<'PYEOF'
import json, sys
on = [json.loads(l) for l in open(sys.argv[1])]
off = [json.loads(l) for l in open(sys.argv[2])]
assert len(on) == len(off) == 72, (len(on), len(off))
for a, b in zip(on, off):
    ma, mb = a["messages"], b["messages"]
    assert [m["role"] for m in ma] == ["system", "user", "assistant"], ma
    assert ma[0]["content"] == "detailed thinking on" and mb[0]["content"] == "detailed thinking off"
    assert ma[1] == mb[1] and a["key"] == b["key"] and a["answer"] == b["answer"]
    assert ma[2]["content"].startswith("<think>\n") and "\n</think>\n\nAnswer: " in ma[2]["content"]
    assert ma[2]["content"].endswith("Answer: " + a["answer"])
    assert mb[2]["content"] == "Answer: " + b["answer"]
assert {r["task"] for r in on} == {"add", "sub", "mul", "word", "sort", "bool"}
assert {r["level"] for r in on} == {1, 2, 3, 4}
PYEOF
then echo "FAIL: JSONL check"; fails=$((fails + 1)); fi

# An evaluation set from another seed, excluding the training set: no shared key.
"$LATHE" tasks gen --task add,sort --level 1 --n 400 --seed 1 --out-on "$tmp/train.jsonl" >/dev/null
expect 0 "excluded 7[0-9][0-9] known problem keys" -- \
  "$LATHE" tasks gen --task add,sort --level 1 --n 400 --seed 2 --eval --exclude "$tmp/train.jsonl" --out-off "$tmp/eval.jsonl"
checks=$((checks + 1))
if ! "$PY" - "$tmp/train.jsonl" "$tmp/eval.jsonl" <<'PYEOF'
import json, sys
train = {json.loads(l)["key"] for l in open(sys.argv[1])}
ev = [json.loads(l)["key"] for l in open(sys.argv[2])]
assert len(ev) == 800 and len(set(ev)) == 800, len(set(ev))
assert not train & set(ev), sorted(train & set(ev))[:5]
PYEOF
then echo "FAIL: eval set overlaps the training set"; fails=$((fails + 1)); fi

# verify: the generated answers score as correct in their own mode.
"$PY" - "$tmp/on.jsonl" "$tmp/outputs.jsonl" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
with open(sys.argv[2], "w") as f:
    for r in rows[:10]:
        f.write(json.dumps({"answer": r["answer"], "output": r["messages"][2]["content"], "mode": "on"}) + "\n")
    f.write(json.dumps({"answer": "5", "output": "Answer: 6", "mode": "off"}) + "\n")
    f.write(json.dumps({"answer": "5", "output": "<think>\nhm", "mode": "on"}) + "\n")
PYEOF
expect 0 "12 outputs: correct 10 \(83.3%\), wrong 1, unparseable 1; format ok 11 \(91.7%\)" -- \
  "$LATHE" tasks verify "$tmp/outputs.jsonl"
printf '{"answer":"1","output":"Answer: 1"}\n' > "$tmp/nomode.jsonl"
expect 1 "nomode.jsonl: line 1: no \"mode\" field and no --mode given" -- "$LATHE" tasks verify "$tmp/nomode.jsonl"
expect 0 "1 outputs: correct 1" -- "$LATHE" tasks verify "$tmp/nomode.jsonl" --mode off
printf '{"answer":"1","output":"Answer: 1","mode":"on"}\n{"answer":\n' > "$tmp/badline.jsonl"
expect 1 "badline.jsonl: line 2" -- "$LATHE" tasks verify "$tmp/badline.jsonl"

expect 0 "=== word level 2" -- "$LATHE" tasks sample --task word --level 2
expect 0 "<think>" -- "$LATHE" tasks sample --task sort
expect 0 "Answer: (true|false)" -- "$LATHE" tasks sample --task bool --level 3

# Usage errors.
expect 2 "--tasks is required" -- "$LATHE" tasks gen --n 3 --out-on "$tmp/x.jsonl"
expect 2 "--n COUNT is required" -- "$LATHE" tasks gen --task add --out-on "$tmp/x.jsonl"
expect 2 "give --out-on and/or --out-off" -- "$LATHE" tasks gen --task add --n 3
expect 2 "unknown task 'divide'" -- "$LATHE" tasks gen --task add,divide --n 3 --out-on "$tmp/x.jsonl"
expect 2 "--level: '5' is not within 1..4" -- "$LATHE" tasks gen --task add --level 5 --n 3 --out-on "$tmp/x.jsonl"
expect 2 "--level: 'two' is not a level" -- "$LATHE" tasks gen --task add --level two --n 3 --out-on "$tmp/x.jsonl"
expect 2 "--level: '3-2' is not within" -- "$LATHE" tasks gen --task add --level 3-2 --n 3 --out-on "$tmp/x.jsonl"
expect 2 "--n: 0 is outside" -- "$LATHE" tasks gen --task add --n 0 --out-on "$tmp/x.jsonl"
expect 2 "--seed: 'x' is not an integer" -- "$LATHE" tasks gen --task add --n 3 --seed x --out-on "$tmp/x.jsonl"
expect 2 "unknown option '--bogus'" -- "$LATHE" tasks gen --task add --n 3 --bogus
expect 2 "unknown chat template 'chatml'" -- "$LATHE" tasks gen --task add --n 3 --template chatml --out-on "$tmp/x.jsonl"
expect 2 "--mode: 'maybe' is not on or off" -- "$LATHE" tasks verify "$tmp/outputs.jsonl" --mode maybe
expect 2 "unknown command 'frob'" -- "$LATHE" tasks frob
# Runtime errors name the file.
expect 1 "nope.jsonl: cannot open" -- "$LATHE" tasks gen --task add --n 3 --eval --exclude "$tmp/nope.jsonl" --out-on "$tmp/x.jsonl"
expect 1 "nomode.jsonl: line 1: missing field 'key'" -- "$LATHE" tasks gen --task add --n 3 --exclude "$tmp/nomode.jsonl" --out-on "$tmp/x.jsonl"
expect 1 "cannot" -- "$LATHE" tasks gen --task add --n 3 --out-on "$tmp/no/such/dir/x.jsonl"
checks=$((checks + 1))
[ -e "$tmp/x.jsonl" ] && { echo "FAIL: a failed gen left $tmp/x.jsonl"; fails=$((fails + 1)); }

echo "cli_tasks: $checks checks, $fails failures"
[ "$fails" = 0 ]
