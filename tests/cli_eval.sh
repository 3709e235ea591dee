#!/usr/bin/env bash
# cli_eval.sh: `lathe eval` on a tiny model trained here for a few seconds on
# rendered task conversations (so it opens <think> sections in on mode): both
# modes run, the JSON parses and its counts add up (N problems per task and
# level, correct + wrong + unparseable = outputs, totals = sums of rows), a
# thinking-budget sweep gives one row per budget and each answer keeps to its
# budget, evaluation problems share no key with an --exclude file even from
# the training seed, sampling is repeatable and batching changes no answer, --text agrees with `lathe
# perplexity`, and bad flags give clear errors.
source "$(dirname "$0")/lib/cli.sh"
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }

# training data: paired task conversations rendered as the chat template does
"$LATHE" tasks gen --task add,sort --level 1 --n 200 --seed 1 --out-on "$tmp/on.jsonl" --out-off "$tmp/off.jsonl" >/dev/null || fail "tasks gen"
"$PY" - "$tmp" <<'PYEOF' || fail "rendering the chat text"
import json, sys
d = sys.argv[1]
with open(d + "/chat.jsonl", "w") as out, open(d + "/plain.txt", "w") as plain:
    for name in ("on", "off"):
        for line in open(f"{d}/{name}.jsonl"):
            msgs = json.loads(line)["messages"]
            out.write(json.dumps({"text": "".join(
                f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content']}<|eot_id|>" for m in msgs)}) + "\n")
            plain.write(msgs[1]["content"] + "\n" + msgs[2]["content"] + "\n\n")
PYEOF
"$LATHE" tokenizer train --vocab 512 --input "$tmp/plain.txt" --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/d.bin" --special "$tmp/chat.jsonl" >/dev/null 2>&1 || fail "data tokenize"
"$LATHE" init --preset tiny --out "$tmp/m0" --seed 3 >/dev/null || fail "init"
"$LATHE" train --init-from "$tmp/m0" --data "$tmp/d.bin" --out "$tmp/run" --batch 8 --seq 128 --steps 200 \
  --lr 3e-3 --warmup 10 --log-every 200 --save-every 200 >/dev/null 2>&1 || fail "train"
m="$tmp/m"
mv "$tmp/run/$(cat "$tmp/run/latest")" "$m" && cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$m/"

# Both modes, from the training seed but excluding the training file.
expect 0 "all +all +on +- +12 +12" -- "$LATHE" eval "$m" --tasks add,sort --levels 1-2 --n 3 --seed 1 --exclude "$tmp/on.jsonl" \
  --max-tokens 48 --parallel 4 --json "$tmp/both.json" --dump "$tmp/both.jsonl"
check
"$PY" - "$tmp/both.json" "$tmp/both.jsonl" "$tmp/on.jsonl" <<'PYEOF' || fail "eval JSON check (both modes)"
import json, sys
r = json.load(open(sys.argv[1]))
dump = [json.loads(l) for l in open(sys.argv[2])]
train = {json.loads(l)["key"] for l in open(sys.argv[3])}
assert r["tasks"] == ["add", "sort"] and r["n_per_task_level"] == 3 and r["excluded_keys"] == len(train), r
rows = r["rows"]
assert [(x["task"], x["level"], x["mode"]) for x in rows] == [
    (t, l, m) for t in ("add", "sort") for l in (1, 2) for m in ("off", "on")], rows
for x in rows:
    assert x["problems"] == x["outputs"] == 3, x
    assert x["correct"] + x["wrong"] + x["unparseable"] == x["outputs"], x
    assert 0 <= x["format_ok"] <= x["outputs"] and x["think_budget"] is None, x
    assert abs(x["accuracy"] - x["correct"] / x["outputs"]) < 1e-12
    assert abs(x["mean_tokens"] - x["generated_tokens"] / x["outputs"]) < 1e-12
    mine = [d for d in dump if (d["task"], d["level"], d["mode"]) == (x["task"], x["level"], x["mode"])]
    assert len(mine) == 3 and sum(d["verdict"] == "correct" for d in mine) == x["correct"], (x, mine)
    assert sum(d["format_ok"] for d in mine) == x["format_ok"]
    assert sum(d["generated_tokens"] for d in mine) == x["generated_tokens"]
for t in r["totals"]:
    same = [x for x in rows if x["mode"] == t["mode"]]
    for k in ("problems", "outputs", "correct", "wrong", "unparseable", "format_ok", "generated_tokens"):
        assert t[k] == sum(x[k] for x in same), (k, t)
# the same problems in both modes, distinct, none from the training file
keys = {m: [d["key"] for d in dump if d["mode"] == m] for m in ("on", "off")}
assert sorted(keys["on"]) == sorted(keys["off"]) and len(set(keys["on"])) == 12, keys
assert not set(keys["on"]) & train, set(keys["on"]) & train
# on mode opens think sections, off mode is mostly answers alone
assert any(d["output"].startswith("<think>") for d in dump if d["mode"] == "on"), dump
PYEOF
# the dump rescored by lathe tasks verify gives the totals of the table
c=$("$PY" -c "
import json, sys
t = json.load(open(sys.argv[1]))['totals']
print(sum(x['outputs'] for x in t), sum(x['correct'] for x in t), sum(x['wrong'] for x in t), sum(x['unparseable'] for x in t), sum(x['format_ok'] for x in t))
" "$tmp/both.json" | awk '{printf "%d outputs: correct %d .*, wrong %d, unparseable %d; format ok %d ", $1, $2, $3, $4, $5}')
check; [ -n "$c" ] || fail "no totals in both.json"
expect 0 "$c" -- "$LATHE" tasks verify "$tmp/both.jsonl"
# without --exclude the training seed gives training problems: the check above can fail
"$LATHE" eval "$m" --tasks add --levels 1 --n 20 --seed 1 --mode off --max-tokens 8 --dump "$tmp/noex.jsonl" >/dev/null 2>&1 || fail "eval without --exclude"
check
"$PY" -c "
import json, sys
train = {json.loads(l)['key'] for l in open(sys.argv[1])}
assert {json.loads(l)['key'] for l in open(sys.argv[2])} & train
" "$tmp/on.jsonl" "$tmp/noex.jsonl" || fail "seed 1 without --exclude shares no key with the training set (the test cannot see an overlap)"

# A thinking-budget sweep: one row per budget, each answer within its budget.
"$LATHE" eval "$m" --tasks add,sort --levels 1 --n 4 --mode on --think-budget 0,3,12 --max-tokens 48 \
  --json "$tmp/sweep.json" --dump "$tmp/sweep.jsonl" >/dev/null 2>&1 || fail "budget sweep"
check
"$PY" - "$tmp/sweep.json" "$tmp/sweep.jsonl" <<'PYEOF' || fail "budget sweep JSON check"
import json, sys
r = json.load(open(sys.argv[1]))
dump = [json.loads(l) for l in open(sys.argv[2])]
assert r["think_budgets"] == [0, 3, 12]
assert [(x["task"], x["mode"], x["think_budget"]) for x in r["rows"]] == [
    (t, "on", b) for t in ("add", "sort") for b in (0, 3, 12)], r["rows"]
assert all(x["problems"] == 4 and x["correct"] + x["wrong"] + x["unparseable"] == 4 for x in r["rows"])
assert [t["think_budget"] for t in r["totals"]] == [0, 3, 12]
assert len(dump) == 24 and all(d["thinking_tokens"] <= d["think_budget"] for d in dump), dump
assert all(x["mean_thinking_tokens"] == 0 for x in r["rows"] if x["think_budget"] == 0)
PYEOF

# Sampling: K outputs per problem, repeatable for a seed.
for i in 1 2; do
  "$LATHE" eval "$m" --tasks sort --levels 1 --n 3 --samples 2 --temperature 0.9 --max-tokens 32 \
    --json "$tmp/s$i.json" --dump "$tmp/s$i.jsonl" >/dev/null 2>&1 || fail "sampled eval"
done
same "$tmp/s1.jsonl" "$tmp/s2.jsonl" "same seed, same sampled answers"
check
"$PY" -c "
import json, sys
r = json.load(open(sys.argv[1]))
assert r['samples'] == 2 and all(x['problems'] == 3 and x['outputs'] == 6 for x in r['rows']), r['rows']
" "$tmp/s1.json" || fail "sampled counts"

# Batching changes nothing: one slot or four give the same answers (sampled too).
for p in 1 4; do
  "$LATHE" eval "$m" --tasks add,sort --levels 1-2 --n 3 --max-tokens 32 --temperature 0.7 --parallel $p \
    --dump "$tmp/par$p.jsonl" >/dev/null 2>&1 || fail "eval --parallel $p"
  sort "$tmp/par$p.jsonl" >"$tmp/par$p.sorted"
done
same "$tmp/par1.sorted" "$tmp/par4.sorted" "--parallel 1 and 4 answer differently"

# --text: the same perplexity as lathe perplexity over the same windows
"$LATHE" eval "$m" --text "$tmp/plain.txt" --ctx 64 --json "$tmp/ppl.json" >/dev/null || fail "eval --text"
p2=$("$LATHE" perplexity "$m" --text "$tmp/plain.txt" --ctx 64 --json) || fail "perplexity"
check
"$PY" -c "
import json, sys
a = json.load(open(sys.argv[1])); b = json.loads(sys.argv[2])
assert a['tokens'] == b['tokens'] and abs(a['perplexity'] - b['perplexity']) < 1e-3 * b['perplexity'], (a, b)
assert abs(a['bits_per_byte'] - b['bits_per_byte']) < 1e-4 and a['bits_per_byte'] > 0, (a, b)
" "$tmp/ppl.json" "$p2" || fail "eval --text disagrees with lathe perplexity"

# bad input
expect 0 "usage: lathe eval" -- "$LATHE" eval --help
expect 2 "give one MODEL" -- "$LATHE" eval
expect 2 "--mode: 'maybe' is not on, off or both" -- "$LATHE" eval "$m" --mode maybe
expect 2 "--levels: '5' is not within 1..4" -- "$LATHE" eval "$m" --levels 5
expect 2 "--tasks.*'nope'" -- "$LATHE" eval "$m" --tasks add,nope
expect 2 "--n" -- "$LATHE" eval "$m" --n 0
expect 2 "--samples 3 needs --temperature > 0" -- "$LATHE" eval "$m" --samples 3
expect 2 "--think-budget applies to reasoning-on" -- "$LATHE" eval "$m" --mode off --think-budget 8
expect 2 "--think-budget.*not an integer" -- "$LATHE" eval "$m" --think-budget 8,x
expect 2 "--think-budget: 8 is given twice" -- "$LATHE" eval "$m" --think-budget 8,8
expect 2 "--parallel" -- "$LATHE" eval "$m" --parallel 0
expect 2 "task flags do not go with it" -- "$LATHE" eval "$m" --text "$tmp/plain.txt" --tasks add
expect 2 "unknown|--stop" -- "$LATHE" eval "$m" --stop x
expect 1 "nothing.jsonl" -- "$LATHE" eval "$m" --exclude "$tmp/nothing.jsonl" --n 1
expect 2 "has no tokenizer" -- "$LATHE" eval "$tmp/m0" --n 1
# ... with the fix every command gives (what a model directory holds, what to copy).
nofix="m0: the model has no tokenizer \\(tokenizer.json\\): a model directory needs config.json, model.safetensors and tokenizer.json; copy tokenizer.json and tokenizer_config.json from the tokenizer you trained with"
expect 2 "$nofix" -- "$LATHE" eval "$tmp/m0" --n 1
expect 2 "$nofix" -- "$LATHE" eval "$tmp/m0" --text "$tmp/plain.txt"
expect 1 "cannot open|No such" -- "$LATHE" eval "$m" --text "$tmp/nothing.txt"

echo "cli_eval: $checks checks, $fails failures"
[ "$fails" = 0 ]
