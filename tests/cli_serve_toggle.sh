#!/usr/bin/env bash
# cli_serve_toggle.sh: the reasoning toggle through `lathe serve` with a model
# that knows it. The set-up fine-tunes a small model with `lathe sft` on paired
# on/off task chats (fixed seeds, about 10 s in Release; the recipe is in
# docs/SERVING.md), checks that the model obeys the toggle in `lathe generate`
# (on: "<think>\n...\n</think>\n\nAnswer: ...", off: "Answer: ..."), then over
# HTTP on loopback: with reasoning on (the field, or the system line) the
# thinking comes back in message.reasoning_content and the answer in content,
# without the tags and equal to the CLI's split of the same greedy text; with
# it off there is no reasoning text; streaming splits the same way through
# delta.reasoning_content; a thinking budget of 2 leaves at most 2 tokens of
# reasoning and still an answer (as `lathe generate --think-budget 2 --stats`
# counts), and the forced closing text stays within max_tokens; the openai npm
# client sees the same split.
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }
PY=/usr/bin/python3
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
servers=()
trap 'for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------- the toggle model
# 200 two-digit additions, each as an on and an off chat; a 512-token BPE on them;
# the tiny preset widened to 128 (2 layers, ~0.4 M parameters); 600 SFT steps.
"$LATHE" tasks gen --task add --level 1 --n 200 --seed 1 --out-on "$tmp/on.jsonl" --out-off "$tmp/off.jsonl" >/dev/null || fail "tasks gen"
"$LATHE" tokenizer train --vocab 512 --input "$tmp/on.jsonl" --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" init --preset tiny --out "$tmp/tiny" >/dev/null || fail "init tiny"
sed -e 's/"hidden_size":\t64/"hidden_size":\t128/' -e 's/"intermediate_size":\t128/"intermediate_size":\t384/' \
  -e 's/"head_dim":\t16/"head_dim":\t32/' "$tmp/tiny/config.json" >"$tmp/toggle.json"
check; grep -q '"hidden_size":.128' "$tmp/toggle.json" || fail "the widened config: $(cat "$tmp/toggle.json")"
"$LATHE" init --config "$tmp/toggle.json" --out "$tmp/m0" --seed 1 >/dev/null || fail "init"
cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$tmp/m0/"
"$LATHE" sft --init-from "$tmp/m0" --data "$tmp/on.jsonl:0.5" --data "$tmp/off.jsonl:0.5" --out "$tmp/run" --seed 1 \
  --batch 4 --seq 128 --steps 600 --lr 3e-3 --warmup 10 --log-every 600 --save-every 600 >"$tmp/sft.log" 2>&1 || fail "sft: $(tail -3 "$tmp/sft.log")"
m="$tmp/run/$(cat "$tmp/run/latest")"

# two questions from the training set (what the model learned best)
mapfile -t questions < <($PY -c "import json,sys
for l in list(open(sys.argv[1]))[:2]: print(json.loads(l)['messages'][1]['content'])" "$tmp/on.jsonl")
check; [ "${#questions[@]}" = 2 ] || fail "no questions from on.jsonl"

# split FILE: the CLI's greedy text as JSON {reasoning, content}; "BAD: ..." when it
# does not keep the format of its mode (on: one closed <think> section, then an answer)
split() {
  $PY - "$1" "$2" <<'EOF' 2>&1 | tail -1
import json, re, sys
text, mode = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2]
text = text[:-1] if text.endswith("\n") else text  # the CLI ends its output with a newline
if mode == "on":
    m = re.fullmatch(r"<think>\n(.*?)\n</think>\n\n(Answer: [^<]*)", text, re.S)
    assert m and m.group(1).strip() and "think>" not in m.group(1), "on: %r" % text
    print(json.dumps({"reasoning": m.group(1), "content": m.group(2)}))
else:
    assert text.startswith("Answer: ") and "think>" not in text, "off: %r" % text
    print(json.dumps({"reasoning": None, "content": text}))
EOF
}

# ---------------------------------------------------------------- the CLI obeys the toggle
declare -A want
for i in 0 1; do
  q=${questions[$i]}
  for mode in on off; do
    "$LATHE" generate "$m" --chat --think $mode "$q" --max-tokens 96 >"$tmp/cli.txt" 2>"$tmp/cli.err" || fail "generate $mode: $(cat "$tmp/cli.err")"
    want[$i$mode]=$(split "$tmp/cli.txt" $mode)
    check; [[ "${want[$i$mode]}" == "{"* ]] || fail "lathe generate --think $mode '$q': ${want[$i$mode]}"
  done
done
# a thinking budget of 2: at most 2 thinking tokens, the section closed, then an answer
"$LATHE" generate "$m" --chat --think on --think-budget 2 "${questions[0]}" --max-tokens 96 --stats >"$tmp/cli.txt" 2>"$tmp/cli.err"
budget_thinking=$(sed -n 's/.*generated [0-9]* (\([0-9]*\) thinking).*/\1/p' "$tmp/cli.err")
check; [ -n "$budget_thinking" ] && [ "$budget_thinking" -le 2 ] && [ "$budget_thinking" -ge 1 ] || fail "--think-budget 2: $(cat "$tmp/cli.err")"
check; grep -q 'finish: stop' "$tmp/cli.err" || fail "--think-budget 2 did not end at an end token: $(cat "$tmp/cli.err")"
# That the model still answers ("Answer: ...") after its thinking is cut at 2 tokens is a
# property of the model this test trains, checked on the Release build; the sanitizer build
# (other optimisation flags, other rounding) trains a slightly different model, so there only
# lathe's part is checked: the section closed after at most 2 tokens, and the server equal to
# the CLI.
answer='Answer: [^<]*'
[ "${LATHE_SANITIZED:-OFF}" = ON ] && answer='.*'
want_budget=$($PY - "$tmp/cli.txt" "$answer" <<'EOF' 2>&1 | tail -1
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
text = text[:-1] if text.endswith("\n") else text
m = re.fullmatch(r"(?:<think>\n(.*?)\n</think>\n\n)?(" + sys.argv[2] + ")", text, re.S)
assert m, "budget 2: %r" % text
print(json.dumps({"reasoning": m.group(1) or "", "content": m.group(2)}))
EOF
)
check; [[ "$want_budget" == "{"* ]] || fail "lathe generate --think-budget 2: $want_budget"

# ---------------------------------------------------------------- the server
"$LATHE" serve "$m" --model-name toggle --parallel 2 --ctx 256 --port 0 2>"$tmp/serve.log" &
servers+=($!)
port=
for _ in $(seq 300); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
check; [ -n "$port" ] || fail "the server did not start: $(cat "$tmp/serve.log")"

# ask NAME BODY: POSTs a chat completion; the answer's {reasoning, content,
# finish, completion_tokens} as JSON, streamed or not ("BAD: ..." when malformed)
ask() {
  curl -s -N -o "$tmp/$1.out" -H "Content-Type: application/json" --data-binary "$2" \
    "http://127.0.0.1:$port/v1/chat/completions"
  $PY - "$tmp/$1.out" <<'EOF' 2>&1 | tail -1
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
if raw.startswith("data: "):
    events = raw.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""], raw[-200:]
    chunks = [json.loads(e[6:]) for e in events[:-2]]
    reasoning, content, finish, tokens = None, "", None, None
    for c in chunks:
        if not c["choices"]:
            tokens = c["usage"]["completion_tokens"]
            continue
        d = c["choices"][0]["delta"]
        content += d.get("content", "")
        if "reasoning_content" in d:
            reasoning = (reasoning or "") + d["reasoning_content"]
        finish = c["choices"][0]["finish_reason"] or finish
else:
    j = json.loads(raw)
    msg = j["choices"][0]["message"]
    reasoning, content = msg.get("reasoning_content"), msg["content"]
    finish, tokens = j["choices"][0]["finish_reason"], j["usage"]["completion_tokens"]
print(json.dumps({"reasoning": reasoning, "content": content, "finish": finish, "completion_tokens": tokens}))
EOF
}
# pick JSON KEYS...: the named fields of a summary, as JSON
pick() { $PY -c "import json,sys; j=json.loads(sys.argv[1]); print(json.dumps({k: j[k] for k in sys.argv[2:]}))" "$@" 2>&1; }
is() {
  check
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}
# Everything the toggle changes, for each question: the field, the system line, streaming, off.
for i in 0 1; do
  q=$($PY -c "import json,sys; print(json.dumps(sys.argv[1]))" "${questions[$i]}")
  user="{\"role\":\"user\",\"content\":$q}"
  on=$(pick "${want[${i}on]}" reasoning content)
  off=$(pick "${want[${i}off]}" reasoning content)
  for stream in false true; do
    opts="\"temperature\":0,\"max_tokens\":96,\"stream\":$stream,\"stream_options\":{\"include_usage\":true}"
    is "q$i stream=$stream: reasoning \"on\"" "$(pick "$(ask on "{\"messages\":[$user],\"reasoning\":\"on\",$opts}")" reasoning content)" "$on"
    is "q$i stream=$stream: system 'detailed thinking on'" \
      "$(pick "$(ask onsys "{\"messages\":[{\"role\":\"system\",\"content\":\"detailed thinking on\"},$user],$opts}")" reasoning content)" "$on"
    is "q$i stream=$stream: the field wins over the system line" \
      "$(pick "$(ask wins "{\"messages\":[{\"role\":\"system\",\"content\":\"detailed thinking off\"},$user],\"reasoning\":\"on\",$opts}")" reasoning content)" "$on"
    is "q$i stream=$stream: reasoning \"off\"" "$(pick "$(ask off "{\"messages\":[$user],\"reasoning\":\"off\",$opts}")" reasoning content)" "$off"
    is "q$i stream=$stream: system 'detailed thinking off'" \
      "$(pick "$(ask offsys "{\"messages\":[{\"role\":\"system\",\"content\":\"detailed thinking off\"},$user],$opts}")" reasoning content)" "$off"
    is "q$i stream=$stream: no toggle (off)" "$(pick "$(ask none "{\"messages\":[$user],$opts}")" reasoning content)" "$off"
  done
done

# A thinking budget of 2, whole and streamed: the CLI's split, at most 2 tokens of reasoning, an answer.
q=$($PY -c "import json,sys; print(json.dumps(sys.argv[1]))" "${questions[0]}")
for stream in false true; do
  b=$(ask budget "{\"messages\":[{\"role\":\"user\",\"content\":$q}],\"reasoning\":\"on\",\"thinking_budget\":2,\"temperature\":0,\"max_tokens\":96,\"stream\":$stream,\"stream_options\":{\"include_usage\":true}}")
  is "budget 2 stream=$stream: reasoning and content as --think-budget 2's" "$(pick "$b" reasoning content)" "$(pick "$want_budget" reasoning content)"
  is "budget 2 stream=$stream: finish" "$(pick "$b" finish)" '{"finish": "stop"}'
  r=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['reasoning'])" "$b")
  n=$("$LATHE" tokenizer encode --tokenizer "$m" --text "$r" | wc -w)
  check; [ "$n" -le 2 ] || fail "budget 2 stream=$stream: the reasoning '$r' is $n tokens"
done
# The forced closing text counts toward max_tokens: a budget reached just before the
# limit still ends at max_tokens.
for mt in 3 4 5; do
  b=$(ask cut "{\"messages\":[{\"role\":\"user\",\"content\":$q}],\"reasoning\":\"on\",\"thinking_budget\":2,\"temperature\":0,\"max_tokens\":$mt}")
  is "budget 2, max_tokens $mt" "$(pick "$b" finish completion_tokens)" "{\"finish\": \"length\", \"completion_tokens\": $mt}"
done

# The official openai npm client (fetched by scripts/fetch-test-data.sh) sees the same split.
openai_pkg="$PWD/cache/npm/openai-6.30.1/package"
if ! command -v node >/dev/null || [ ! -f "$openai_pkg/../.complete" ]; then
  skip "openai client test (no node or $openai_pkg: run scripts/fetch-test-data.sh)"
else
  cat >"$tmp/client.js" <<'JS'
const [pkg, port, question] = process.argv.slice(2);
const OpenAI = require(pkg);
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'none', maxRetries: 0 });
const messages = [{ role: 'user', content: question }];
const split = (m) => ({ reasoning: m.reasoning_content ?? null, content: m.content });
(async () => {
  const out = {};
  for (const reasoning of ['on', 'off']) {
    const r = await client.chat.completions.create({ model: 'toggle', messages, reasoning, temperature: 0, max_tokens: 96 });
    out[reasoning] = split(r.choices[0].message);
    const stream = await client.chat.completions.create({ model: 'toggle', messages, reasoning, temperature: 0,
                                                            max_tokens: 96, stream: true });
    const s = { reasoning: null, content: '' };
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta ?? {};
      if (d.reasoning_content !== undefined) s.reasoning = (s.reasoning ?? '') + d.reasoning_content;
      s.content += d.content ?? '';
    }
    out[reasoning + '_stream'] = s;
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e)); process.exit(1); });
JS
  node "$tmp/client.js" "$openai_pkg" "$port" "${questions[0]}" >"$tmp/client.json" 2>"$tmp/client.err" || fail "openai client: $(cat "$tmp/client.err")"
  for k in on on_stream off off_stream; do
    got=$($PY -c "import json,sys; j=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps({'reasoning': j['reasoning'], 'content': j['content']}))" "$tmp/client.json" $k 2>&1)
    is "openai client: $k" "$got" "$(pick "${want[0${k%_stream}]}" reasoning content)"
  done
fi

finish cli_serve_toggle
