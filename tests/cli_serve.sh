#!/usr/bin/env bash
# cli_serve.sh: `lathe serve` over real HTTP on loopback (curl), with a tiny
# model trained here for a second and a larger untrained one that generates
# slowly enough to overlap requests. Checks: the OpenAI response and chunk
# formats (parsed by Python's json), greedy answers equal to `lathe generate`
# (a separate path through the CLI), prompt sizes of the reasoning toggle equal
# to the CLI's rendering, every malformed request's status and error JSON with
# the server answering the next valid request, concurrent streams complete
# with consistent usage and a decode batch above 1, a client that disconnects
# frees its slot, the timeout, the API key, the access log and shutdown.
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }
PY=/usr/bin/python3
servers=()
trap 'for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] && cp -r "$tmp" /tmp/serve-keep; rm -rf "$tmp"' EXIT

"$LATHE" tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/d.bin" --split blank data/moby-dick-1-4.txt >/dev/null 2>&1 || fail "data tokenize"
"$LATHE" init --preset tiny --out "$tmp/m0" --seed 3 >/dev/null || fail "init"
"$LATHE" train --init-from "$tmp/m0" --data "$tmp/d.bin" --out "$tmp/run" --batch 8 --seq 64 --steps 120 \
  --lr 3e-3 --warmup 10 --log-every 120 --save-every 120 >/dev/null 2>&1 || fail "train"
m="$tmp/m"
mv "$tmp/run/$(cat "$tmp/run/latest")" "$m" && cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$m/"
# the slow one: the tiny config made wider and deeper, 4096 positions, random weights
sed -e 's/"hidden_size":\t64/"hidden_size":\t256/' -e 's/"num_hidden_layers":\t2/"num_hidden_layers":\t6/' \
  -e 's/"intermediate_size":\t128/"intermediate_size":\t768/' -e 's/"head_dim":\t16/"head_dim":\t64/' \
  -e 's/"max_position_embeddings":\t2048/"max_position_embeddings":\t4096/' "$m/config.json" >"$tmp/big.json"
"$LATHE" init --config "$tmp/big.json" --out "$tmp/big" --seed 1 >/dev/null || fail "init big"
cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$tmp/big/"

# start NAME ARGS...: a server on a free port; sets $port (the log is $tmp/NAME.log).
start() {
  local name=$1; shift
  "$LATHE" serve "$@" --port 0 2>"$tmp/$name.log" &
  servers+=($!)
  port=
  for _ in $(seq 300); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/$name.log")
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  fail "server $name did not start: $(cat "$tmp/$name.log")"
  return 1
}
key="test-key-123"
# call NAME METHOD PATH [BODY] [curl args...]: status into $tmp/NAME.code, body into $tmp/NAME.json
call() {
  local name=$1 method=$2 path=$3; shift 3
  local body=()
  if [ $# -gt 0 ]; then body=(--data-binary "$1"); shift; fi
  curl -s -X "$method" -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
    -o "$tmp/$name.json" -w '%{http_code}' "${body[@]}" "$@" "http://127.0.0.1:$port$path" >"$tmp/$name.code"
}
# json FILE EXPR: evaluates a Python expression over the parsed file (as j), prints it
json() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>&1; }
# is WHAT GOT WANT
is() {
  check
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

# The Python checker of the formats: chat/completion answers and SSE streams.
cat >"$tmp/check.py" <<'EOF'
import json, sys
mode, path = sys.argv[1], sys.argv[2]
def usage_ok(u, max_tokens):
    assert set(u) == {"prompt_tokens", "completion_tokens", "total_tokens"}, u
    assert u["prompt_tokens"] > 0 and 0 < u["completion_tokens"] <= max_tokens, u
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], u
if mode in ("chat", "text"):
    j = json.load(open(path))
    max_tokens = int(sys.argv[3])
    assert j["object"] == ("chat.completion" if mode == "chat" else "text_completion"), j
    assert j["id"] and isinstance(j["created"], int) and j["model"], j
    c = j["choices"]
    assert len(c) == 1 and c[0]["index"] == 0 and c[0]["finish_reason"] in ("stop", "length"), c
    if c[0]["finish_reason"] == "length": assert j["usage"]["completion_tokens"] == max_tokens
    usage_ok(j["usage"], max_tokens)
    if mode == "chat":
        msg = c[0]["message"]
        assert msg["role"] == "assistant" and isinstance(msg["content"], str), msg
        print(json.dumps({"content": msg["content"], "reasoning": msg.get("reasoning_content"),
                          "usage": j["usage"]}))
    else:
        print(json.dumps({"content": c[0]["text"], "usage": j["usage"]}))
elif mode in ("stream", "textstream"):
    max_tokens = int(sys.argv[3])
    text = open(path, encoding="utf-8").read()
    events = text.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]", "stream does not end with [DONE]: %r" % text[-200:]
    chunks = []
    for e in events[:-2]:
        assert e.startswith("data: "), e
        chunks.append(json.loads(e[6:]))
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1, ids
    content, reasoning, finish, usage = "", None, None, None
    for i, c in enumerate(chunks):
        if not c["choices"]:  # the usage chunk: last
            assert i == len(chunks) - 1 and finish is not None, c
            usage = c["usage"]
            continue
        assert finish is None, "a chunk after the finish reason"
        ch = c["choices"][0]
        if mode == "stream":
            assert c["object"] == "chat.completion.chunk", c
            d = ch["delta"]
            if i == 0: assert d["role"] == "assistant", d
            else: assert "role" not in d, d
            content += d.get("content", "")
            if "reasoning_content" in d: reasoning = (reasoning or "") + d["reasoning_content"]
        else:
            assert c["object"] == "text_completion", c
            content += ch["text"]
        finish = ch["finish_reason"]
        if finish is not None: assert finish in ("stop", "length"), finish
    assert finish is not None, "no finish reason"
    assert usage is not None, "no usage chunk"
    usage_ok(usage, max_tokens)
    if finish == "length": assert usage["completion_tokens"] == max_tokens, usage
    print(json.dumps({"content": content, "reasoning": reasoning, "usage": usage}))
elif mode == "error":
    j = json.load(open(path))
    e = j["error"]
    assert set(e) == {"message", "type", "param", "code"}, e
    assert isinstance(e["message"], str) and len(e["message"]) > 5 and isinstance(e["type"], str), e
    print(e["param"] if e["param"] is not None else "-", e["code"] if e["code"] is not None else "-")
EOF
# fmt MODE NAME MAX: the checked summary of a response ("BAD: ..." when malformed)
fmt() { $PY "$tmp/check.py" "$1" "$tmp/$2.json" "${3:-0}" 2>&1 | tail -1 || true; }
# field SUMMARY KEY: content / reasoning / usage.prompt_tokens ... out of a summary
field() { $PY -c "import json,sys; j=json.loads(sys.argv[1]); v=j
for k in sys.argv[2].split('.'): v=v[k] if v is not None else None
print(v if not isinstance(v,str) else json.dumps(v))" "$1" "$2" 2>&1; }

expect 0 "usage: lathe serve" -- "$LATHE" serve --help
expect 2 "--port" -- "$LATHE" serve "$m" --port 70000
expect 2 "give MODEL" -- "$LATHE" serve
expect 2 "--host" -- "$LATHE" serve "$m" --host localhost.example

# ---------------------------------------------------------------- the tiny model
start tiny "$m" --model-name tiny-test --parallel 4 --ctx 512 --max-tokens 200 --max-body 16384 --api-key "$key"
hello='{"model":"tiny-test","messages":[{"role":"user","content":"Hello there"}],"temperature":0,"max_tokens":12}'

call models GET /v1/models
is "models status" "$(cat "$tmp/models.code")" 200
is "models" "$(json "$tmp/models.json" "j['object'], len(j['data']), j['data'][0]['id'], j['data'][0]['object']")" "list 1 tiny-test model"
call health GET /health
is "health" "$(json "$tmp/health.json" "j['status'], j['slots_total'], j['slots_busy']")" "ok 4 0"
call emb POST /v1/embeddings '{"model":"tiny-test","input":"hi"}'
is "embeddings status" "$(cat "$tmp/emb.code")" 501
is "embeddings error" "$(fmt error emb)" "- not_implemented"

# Non-streaming chat: the OpenAI format, and greedy text equal to `lathe generate --chat`.
call chat POST /v1/chat/completions "$hello"
is "chat status" "$(cat "$tmp/chat.code")" 200
chat=$(fmt chat chat 12)
check; [[ "$chat" == "{"* ]] || fail "chat response malformed: $chat"
cli=$("$LATHE" generate "$m" --chat "Hello there" --max-tokens 12 | $PY -c "import json,sys; print(json.dumps(sys.stdin.read().rstrip('\n')))")
is "chat content = lathe generate --chat" "$(field "$chat" content)" "$cli"
cli_prompt=$("$LATHE" generate "$m" --chat "Hello there" --max-tokens 1 --stats 2>&1 | sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p')
is "chat prompt tokens = lathe generate's" "$(field "$chat" usage.prompt_tokens)" "$cli_prompt"
is "reasoning off: no reasoning_content" "$(field "$chat" reasoning)" "None"
call chat2 POST /v1/chat/completions "$hello"
is "greedy chat repeats" "$(fmt chat chat2 12)" "$chat"

# Streaming chat: chunks, role first, [DONE], usage; the same text as the whole answer.
call stream POST /v1/chat/completions '{"messages":[{"role":"user","content":"Hello there"}],"temperature":0,"max_tokens":12,"stream":true,"stream_options":{"include_usage":true}}' -N
is "stream status" "$(cat "$tmp/stream.code")" 200
stream=$(fmt stream stream 12)
check; [[ "$stream" == "{"* ]] || fail "stream malformed: $stream"
is "streamed text = whole answer" "$(field "$stream" content)" "$(field "$chat" content)"
is "streamed usage = whole answer's" "$(field "$stream" usage)" "$(field "$chat" usage)"

# Text completions, whole and streamed: greedy text equal to `lathe generate`.
call text POST /v1/completions '{"prompt":"Call me Ishmael. Some years ago","temperature":0,"max_tokens":10}'
text=$(fmt text text 10)
cli=$("$LATHE" generate "$m" "Call me Ishmael. Some years ago" --max-tokens 10 | $PY -c "import json,sys; print(json.dumps(sys.stdin.read().rstrip('\n')))")
is "completion text = lathe generate" "$(field "$text" content)" "$cli"
call textstream POST /v1/completions '{"prompt":"Call me Ishmael. Some years ago","temperature":0,"max_tokens":10,"stream":true,"stream_options":{"include_usage":true}}' -N
is "streamed completion = whole" "$(field "$(fmt textstream textstream 10)" content)" "$(field "$text" content)"

# The reasoning toggle: the field, the system line, and both (the field wins), against the CLI's prompts.
cli_on=$("$LATHE" generate "$m" --chat --think on "Hello there" --max-tokens 1 --stats 2>&1 | sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p')
cli_on_sys=$("$LATHE" generate "$m" --chat --think on --system "Be brief." "Hello there" --max-tokens 1 --stats 2>&1 | sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p')
call on POST /v1/chat/completions '{"messages":[{"role":"user","content":"Hello there"}],"reasoning":"on","max_tokens":8}'
on=$(fmt chat on 8)
is "reasoning on: prompt as the CLI's --think on" "$(field "$on" usage.prompt_tokens)" "$cli_on"
check; [ "$(field "$on" reasoning)" != None ] || fail "reasoning on: no reasoning_content: $on"
call onsys POST /v1/chat/completions '{"messages":[{"role":"system","content":"detailed thinking on\n\nBe brief."},{"role":"user","content":"Hello there"}],"max_tokens":8}'
is "system line on + other text" "$(field "$(fmt chat onsys 8)" usage.prompt_tokens)" "$cli_on_sys"
call wins POST /v1/chat/completions '{"messages":[{"role":"system","content":"detailed thinking off\n\nBe brief."},{"role":"user","content":"Hello there"}],"reasoning":"on","thinking_budget":4,"max_tokens":8}'
is "the field wins over the system line" "$(field "$(fmt chat wins 8)" usage.prompt_tokens)" "$cli_on_sys"
call onstream POST /v1/chat/completions '{"messages":[{"role":"user","content":"Hello there"}],"reasoning":"on","max_tokens":8,"stream":true,"stream_options":{"include_usage":true}}' -N
check; [ "$(field "$(fmt stream onstream 8)" reasoning)" != None ] || fail "streamed reasoning on: no reasoning_content delta"

# Malformed requests: each its status and error JSON (param, code), then a valid request still works.
long=$($PY -c "print('whale ' * 700)")
bad_utf8=$(printf '{"messages":[{"role":"user","content":"caf\xff"}]}')
big_body=$($PY -c "print('{\"messages\":[{\"role\":\"user\",\"content\":\"' + 'x' * 20000 + '\"}]}')")
while IFS='|' read -r want path body expect_err; do
  [ -z "$want" ] && continue
  call bad POST "$path" "$body"
  is "$body -> status" "$(cat "$tmp/bad.code")" "$want"
  is "$body -> error" "$(fmt error bad)" "$expect_err"
  call next POST /v1/chat/completions "$hello"
  is "valid request after $body" "$(fmt chat next 12)" "$chat"
done <<EOF
400|/v1/chat/completions|{bad json|- -
400|/v1/chat/completions|[1, 2]|- -
400|/v1/chat/completions|{}|messages -
400|/v1/chat/completions|{"messages":"hi"}|messages -
400|/v1/chat/completions|{"messages":[]}|messages -
400|/v1/chat/completions|{"messages":[{"role":"user","content":5}]}|messages -
400|/v1/chat/completions|{"messages":[{"content":"hi"}]}|messages -
400|/v1/chat/completions|{"messages":[{"role":"wizard","content":"hi"}]}|messages -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"a"},{"role":"system","content":"b"}]}|messages -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}|temperature -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"temperature":5}|temperature -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"top_p":0}|top_p -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"max_tokens":1.5}|max_tokens -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}|max_tokens -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"max_tokens":201}|max_tokens -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":"9"}|max_completion_tokens -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"n":2}|n -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"seed":-1}|seed -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"stream":"yes"}|stream -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"stream_options":3}|stream_options -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"stop":5}|stop -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"stop":["a",""]}|stop -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}|stop -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"reasoning":"maybe"}|reasoning -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"hi"}],"thinking_budget":-1}|thinking_budget -
404|/v1/chat/completions|{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}|model model_not_found
400|/v1/chat/completions|{"model":7,"messages":[{"role":"user","content":"hi"}]}|model -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"$long"}]}|messages context_length_exceeded
400|/v1/chat/completions|$bad_utf8|messages -
400|/v1/chat/completions|{"messages":[{"role":"user","content":"\ud800"}]}|- -
413|/v1/chat/completions|$big_body|- request_too_large
400|/v1/completions|{}|prompt -
400|/v1/completions|{"prompt":5}|prompt -
400|/v1/completions|{"prompt":""}|prompt -
400|/v1/completions|{"prompt":["a","b"]}|prompt -
404|/nothing|{}|- not_found
404|/v1/nothing|{}|- not_found
EOF
# The max_tokens + prompt > context case above names max_tokens when the prompt alone fits.
call ctxmax POST /v1/chat/completions "{\"messages\":[{\"role\":\"user\",\"content\":\"$($PY -c "print('whale ' * 140)")\"}],\"max_tokens\":200}"
is "prompt + max_tokens beyond the context" "$(cat "$tmp/ctxmax.code") $(fmt error ctxmax)" "400 max_tokens context_length_exceeded"
call get405 GET /v1/chat/completions
is "GET on a POST endpoint" "$(cat "$tmp/get405.code") $(fmt error get405)" "405 - method_not_allowed"
# the API key: missing or wrong -> 401; /health needs none
for auth in "" "Authorization: Bearer wrong-key" "Authorization: Bearer test-key-12" "Authorization: Basic dGVzdA=="; do
  header=(); [ -n "$auth" ] && header=(-H "$auth")
  code=$(curl -s -o "$tmp/auth.json" -w '%{http_code}' "${header[@]}" "http://127.0.0.1:$port/v1/models")
  is "auth '$auth'" "$code $(fmt error auth)" "401 - invalid_api_key"
done
is "health without a key" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" 200

# The official openai npm client (fetched by scripts/fetch-test-data.sh): whole and streamed chat
# equal to curl's, the reasoning field, usage, models, and a 404 raised as its NotFoundError.
openai_pkg="$PWD/cache/npm/openai-6.30.1/package"
if ! command -v node >/dev/null || [ ! -f "$openai_pkg/../.complete" ]; then
  skip "openai client test (no node or $openai_pkg: run scripts/fetch-test-data.sh)"
else
  cat >"$tmp/client.js" <<'JS'
const [pkg, port, key] = process.argv.slice(2);
const OpenAI = require(pkg);
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: key, maxRetries: 0 });
const messages = [{ role: 'user', content: 'Hello there' }];
(async () => {
  const out = {};
  const r = await client.chat.completions.create({ model: 'tiny-test', messages, temperature: 0, max_tokens: 12 });
  out.whole = { content: r.choices[0].message.content, usage: r.usage, object: r.object };
  const stream = await client.chat.completions.create({ model: 'tiny-test', messages, temperature: 0, max_tokens: 12,
                                                          stream: true, stream_options: { include_usage: true } });
  let text = '', finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.choices.length) {
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  out.stream = { content: text, usage, finish, chunks };
  const on = await client.chat.completions.create({ model: 'tiny-test', messages, reasoning: 'on', max_tokens: 4 });
  const off = await client.chat.completions.create({ model: 'tiny-test', messages, reasoning: 'off', max_tokens: 4 });
  out.reasoning = [typeof on.choices[0].message.reasoning_content, 'reasoning_content' in off.choices[0].message];
  out.models = (await client.models.list()).data.map((m) => m.id);
  try {
    await client.chat.completions.create({ model: 'gpt-4', messages });
    out.notfound = 'no error';
  } catch (e) {
    out.notfound = [e instanceof OpenAI.NotFoundError, e.status, e.code];
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e)); process.exit(1); });
JS
  node "$tmp/client.js" "$openai_pkg" "$port" "$key" >"$tmp/client.json" 2>"$tmp/client.err" || fail "openai client: $(cat "$tmp/client.err")"
  is "openai client: whole chat" "$(json "$tmp/client.json" "j['whole']['object'], json.dumps(j['whole']['content'])")" "chat.completion $(field "$chat" content)"
  is "openai client: usage" "$(json "$tmp/client.json" "json.dumps(j['whole']['usage'], sort_keys=True)")" \
    "$($PY -c "import json,sys; print(json.dumps(json.loads(sys.argv[1])['usage'], sort_keys=True))" "$chat")"
  is "openai client: streamed chat" "$(json "$tmp/client.json" "json.dumps(j['stream']['content']), j['stream']['finish'] in ('stop', 'length'), j['stream']['usage'] == j['whole']['usage'], j['stream']['chunks'] >= 3")" \
    "$(field "$chat" content) True True True"
  is "openai client: reasoning_content on/off" "$(json "$tmp/client.json" "j['reasoning']")" "['string', False]"
  is "openai client: models" "$(json "$tmp/client.json" "j['models']")" "['tiny-test']"
  is "openai client: unknown model" "$(json "$tmp/client.json" "j['notfound']")" "[True, 404, 'model_not_found']"
fi

# The chat page: its files at / with their types (no key needed), nothing else from the disk.
page() { curl -s --path-as-is -o "$tmp/page.out" -w '%{http_code} %{content_type}' "http://127.0.0.1:$port$1"; }
is "GET /" "$(page /)" "200 text/html; charset=utf-8"
check; grep -q 'id="reasoning"' "$tmp/page.out" && grep -q 'id="budget"' "$tmp/page.out" || fail "the page has no reasoning switch or budget field"
is "GET /app.js" "$(page /app.js)" "200 text/javascript; charset=utf-8"
check; cmp -s "$tmp/page.out" web/app.js || fail "/app.js differs from web/app.js"
is "GET /style.css" "$(page /style.css)" "200 text/css; charset=utf-8"
is "GET /favicon.ico" "$(page /favicon.ico)" "200 image/svg+xml"
for p in /missing.html /CMakeLists.txt /../CMakeLists.txt /.hidden.js /a/../../CMakeLists.txt /index.html.bak \
         /vendor/../CMakeLists.txt /vendor/../../CMakeLists.txt /vendor/a/b.js /vendor/.x.js /vendor/VERSIONS /vendor/; do
  is "GET $p" "$(page "$p" | cut -d' ' -f1)" 404
done
if command -v node >/dev/null; then
  for f in web/*.js; do
    check; node --check "$f" || fail "$f does not parse"
  done
  # What the page does with a streamed answer (thinking section, answer, stats line) is checked
  # in a real browser by tests/cli_serve_browser.sh: the page's scripts are ES modules now.
fi

# the access log: one line per request with status and tokens
check; grep -qE '^POST /v1/chat/completions 200 prompt=[0-9]+ completion=[0-9]+ [0-9.]+s' "$tmp/tiny.log" || fail "no access log line for a chat completion"
check; grep -qE '^POST /v1/chat/completions 413 ' "$tmp/tiny.log" || fail "no access log line for the 413"
check; grep -qE '^GET /v1/models 401 ' "$tmp/tiny.log" || fail "no access log line for the 401"

# ---------------------------------------------------------------- a bounded load
# 16 streaming clients x 20 requests each on 16 slots: every stream complete and well-formed, its
# usage what was asked (ignore_eos: exactly max_tokens), the decode batch at 4 or more, no slot left busy.
start load "$m" --parallel 16 --ctx 256 --api-key "$key"
cat >"$tmp/load.py" <<'PY'
import http.client, json, sys, threading
port, key = int(sys.argv[1]), sys.argv[2]
CLIENTS, REQUESTS, MAX = 16, 20, 24
done, errors = [], []
def one(i, k):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body = {"messages": [{"role": "user", "content": "Client %d, request %d" % (i, k)}], "max_tokens": MAX,
            "ignore_eos": True, "temperature": 0.8, "seed": k, "stream": True, "stream_options": {"include_usage": True}}
    conn.request("POST", "/v1/chat/completions", json.dumps(body),
                 {"Content-Type": "application/json", "Authorization": "Bearer " + key})
    r = conn.getresponse()
    assert r.status == 200, r.status
    events = r.read().decode("utf-8").split("\n\n")
    conn.close()
    assert events[-2:] == ["data: [DONE]", ""], events[-3:]
    chunks = [json.loads(e[6:]) for e in events[:-2]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "length", chunks[-2:]
    assert len({c["id"] for c in chunks}) == 1
    u = chunks[-1]["usage"]
    assert u["completion_tokens"] == MAX and u["total_tokens"] == u["prompt_tokens"] + MAX, u
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
    assert len(text) > 0
    done.append(1)
def client(i):
    for k in range(REQUESTS):
        try:
            one(i, k)
        except Exception as e:
            errors.append("client %d request %d: %r" % (i, k, e))
threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
for t in threads: t.start()
for t in threads: t.join()
print(len(done), errors[:3])
PY
is "load: complete streams" "$($PY "$tmp/load.py" "$port" "$key" 2>&1)" "320 []"
call loadhealth GET /health
is "load: batch and slots" "$(json "$tmp/loadhealth.json" "j['batch_max'] >= 4, j['slots_busy'], j['queued']")" "True 0 0"
check; [ "$(grep -c '^POST /v1/chat/completions 200 ' "$tmp/load.log")" = 320 ] || fail "load: access log lines: $(grep -c '^POST' "$tmp/load.log")"

# ---------------------------------------------------------------- the slow model: batching, disconnects, timeout
start big "$tmp/big" --parallel 4 --timeout 2 --verbose --api-key "$key"
big_pid=${servers[${#servers[@]}-1]}
pids=()
for i in 1 2 3 4 5; do
  call "c$i" POST /v1/chat/completions "{\"messages\":[{\"role\":\"user\",\"content\":\"Story number $i\"}],\"max_tokens\":40,\"stream\":true,\"stream_options\":{\"include_usage\":true}}" -N &
  pids+=($!)
done
wait "${pids[@]}"
for i in 1 2 3 4 5; do
  s=$(fmt stream "c$i" 40)
  check; [[ "$s" == "{"* ]] || fail "concurrent stream $i malformed: $s"
done
call bighealth GET /health
check; [ "$(json "$tmp/bighealth.json" "j['batch_max'] >= 2 and j['slots_busy'] == 0")" = True ] || fail "concurrent streams: $(cat "$tmp/bighealth.json")"

# a client that disconnects mid-stream: its request ends and the slot frees
curl -sN -H "Authorization: Bearer $key" -d '{"messages":[{"role":"user","content":"Go on"}],"max_tokens":4000,"ignore_eos":true,"stream":true}' \
  "http://127.0.0.1:$port/v1/chat/completions" >"$tmp/gone.out" &
cpid=$!
for _ in $(seq 50); do [ -s "$tmp/gone.out" ] && break; sleep 0.05; done
sleep 0.3
kill "$cpid"; wait "$cpid" 2>/dev/null
for _ in $(seq 40); do
  call busy GET /health
  [ "$(json "$tmp/busy.json" "j['slots_busy']")" = 0 ] && break
  sleep 0.1
done
is "slots busy after the disconnect" "$(json "$tmp/busy.json" "j['slots_busy']")" 0
check; grep -qE 'completion=[0-9]+ .*connection closed early' "$tmp/big.log" || fail "no access log line for the disconnect: $(tail -3 "$tmp/big.log")"
n=$(sed -n 's/.*completion=\([0-9]*\) .*connection closed early.*/\1/p' "$tmp/big.log" | head -1)
check; [ "${n:-4000}" -lt 4000 ] || fail "the disconnected request ran to its end ($n tokens)"

# the timeout: a long request gets 504 after --timeout seconds, and its slot frees
t0=$(date +%s)
call slow POST /v1/chat/completions '{"messages":[{"role":"user","content":"Go on"}],"max_tokens":4000,"ignore_eos":true}'
is "timeout" "$(cat "$tmp/slow.code") $(fmt error slow)" "504 - -"
check; [ $(($(date +%s) - t0)) -le 10 ] || fail "the timeout took $(($(date +%s) - t0)) s"
sleep 0.3
call busy GET /health
is "slots busy after the timeout" "$(json "$tmp/busy.json" "j['slots_busy']")" 0

# a full queue: one slot, no waiting room; a second request while the first runs gets 503
start one "$tmp/big" --parallel 1 --queue 0 --timeout 2 --api-key "$key"
curl -sN -H "Authorization: Bearer $key" -d '{"messages":[{"role":"user","content":"Go on"}],"max_tokens":4000,"ignore_eos":true,"stream":true}' \
  "http://127.0.0.1:$port/v1/chat/completions" >"$tmp/first.out" &
cpid=$!
for _ in $(seq 50); do [ -s "$tmp/first.out" ] && break; sleep 0.05; done
call full POST /v1/chat/completions '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":3}'
is "queue full" "$(cat "$tmp/full.code") $(fmt error full)" "503 - server_busy"
kill "$cpid"; wait "$cpid" 2>/dev/null
for _ in $(seq 40); do
  call one GET /health
  [ "$(json "$tmp/one.json" "j['slots_busy']")" = 0 ] && break
  sleep 0.1
done
call after POST /v1/chat/completions '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":3}'
is "after the queue emptied" "$(cat "$tmp/after.code")" 200

# shutdown: SIGTERM ends the server with exit 0
kill -TERM "${servers[0]}"
wait "${servers[0]}"
is "exit after SIGTERM" "$?" 0
check; grep -q "stopping (SIGTERM)" "$tmp/tiny.log" || fail "no shutdown notice"

# shutdown in the middle of a stream: the stream ends with an error event and [DONE], exit 0
port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/big.log")
curl -sN -H "Authorization: Bearer $key" -d '{"messages":[{"role":"user","content":"Go on"}],"max_tokens":4000,"ignore_eos":true,"stream":true}' \
  "http://127.0.0.1:$port/v1/chat/completions" >"$tmp/last.out" &
cpid=$!
for _ in $(seq 50); do [ -s "$tmp/last.out" ] && break; sleep 0.05; done
sleep 0.2
kill -TERM "$big_pid"
wait "$big_pid"
is "exit after SIGTERM mid-stream" "$?" 0
wait "$cpid"
check; tail -c 200 "$tmp/last.out" | grep -q 'shutting down' && [ "$(tail -c 14 "$tmp/last.out" | od -c | head -1)" = "$(printf 'data: [DONE]\n\n' | od -c | head -1)" ] ||
  fail "the stream cut by the shutdown does not end with an error event and [DONE]: $(tail -c 200 "$tmp/last.out")"

# a server that died of a sanitizer report: show the report, not only its last lines
for log in "$tmp"/*.log; do
  grep -q 'Sanitizer' "$log" && { echo "--- $log"; grep -A60 'ERROR: .*Sanitizer\|runtime error' "$log" | head -80; }
done
finish cli_serve
