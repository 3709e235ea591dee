#!/usr/bin/env bash
# cli_serve_browser.sh: lathe serve's chat page in a real browser — Debian's
# headless Chromium driven by playwright-core (fetched by
# scripts/fetch-test-data.sh), with marked and DOMPurify in web/vendor/
# (scripts/fetch-web-deps.sh). At a phone's width: the welcome with example
# prompts, the favicon, the model name; reasoning on with a thinking budget, a
# message sent streams into an answer with a tokens/s line and the request
# carries the toggle, the budget and the sampling settings; a second turn sends
# the history, a third the system prompt; copy, regenerate and edit; the
# conversations kept in localStorage across a reload (list, rename, delete, new).
# Model output with raw HTML (<img src=x onerror=alert(1)>) renders inert, as
# markdown with the libraries and as plain text without them. Screenshots at
# phone (390x844) and desktop (1280x800) widths go to out/test/serve_browser*.png.
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }
pw="$PWD/cache/npm/playwright-core-1.65.1/package"
if ! command -v node >/dev/null || [ ! -x /usr/bin/chromium ] || [ ! -f "$pw/../.complete" ]; then
  echo "SKIP: browser test (needs node, /usr/bin/chromium and $pw: scripts/install-deps.sh, scripts/fetch-test-data.sh)"
  exit 77 # ctest's SKIP_RETURN_CODE: reported as Skipped
fi
bash scripts/fetch-web-deps.sh
if [ ! -f web/vendor/marked.js ] || [ ! -f web/vendor/purify.js ]; then
  echo "SKIP: browser test (needs web/vendor/ from scripts/fetch-web-deps.sh: npm registry unreachable?)"
  exit 77 # ctest's SKIP_RETURN_CODE: reported as Skipped
fi
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT

"$LATHE" tokenizer train --vocab 512 --input data/moby-dick-1-4.txt --out "$tmp/tok" >/dev/null 2>&1 || fail "tokenizer train"
"$LATHE" data tokenize --tokenizer "$tmp/tok" --out "$tmp/d.bin" --split blank data/moby-dick-1-4.txt >/dev/null 2>&1 || fail "data tokenize"
"$LATHE" init --preset tiny --out "$tmp/m0" --seed 3 >/dev/null || fail "init"
"$LATHE" train --init-from "$tmp/m0" --data "$tmp/d.bin" --out "$tmp/run" --batch 8 --seq 64 --steps 120 \
  --lr 3e-3 --warmup 10 --log-every 120 --save-every 120 >/dev/null 2>&1 || fail "train"
mv "$tmp/run/$(cat "$tmp/run/latest")" "$tmp/whale" && cp "$tmp/tok/tokenizer.json" "$tmp/tok/tokenizer_config.json" "$tmp/whale/"

"$LATHE" serve "$tmp/whale" --port 0 --max-tokens 40 2>"$tmp/serve.log" &
server=$!
port=
for _ in $(seq 300); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the server did not start: $(cat "$tmp/serve.log")"
mkdir -p out/test

cat >"$tmp/browser.js" <<'JS'
const [pw, port, shots] = process.argv.slice(2);
const { chromium } = require(pw);
const base = `http://127.0.0.1:${port}/`;
const XSS = 'Look: <img src=x onerror=alert(1)> <script>alert(2)</script> and **bold**\n\n```js\nlet x = 1;\n```\n';
// A stand-in answer streamed the way the server streams (to put raw HTML in "model output").
function fakeStream(text) {
  const chunk = (delta, finish) => 'data: ' + JSON.stringify({ object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish || null }] }) + '\n\n';
  return chunk({ role: 'assistant', content: '' }) + chunk({ content: text.slice(0, 9) }) + chunk({ content: text.slice(9) }) +
    chunk({}, 'stop') + 'data: ' + JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } }) +
    '\n\ndata: [DONE]\n\n';
}
async function waitAnswers(page, n) {
  await page.waitForFunction((k) => {
    const s = document.querySelectorAll('.msg.assistant .stats');
    return s.length === k && s[k - 1].textContent.includes('tokens/s') && !document.querySelector('.busy');
  }, n, { timeout: 20000 });
}
async function send(page, text) {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
}
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'] });
  const out = {};
  try {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base.slice(0, -1) });
    const page = await context.newPage();
    const bodies = [];
    page.on('request', (r) => { if (r.url().endsWith('/v1/chat/completions')) bodies.push(JSON.parse(r.postData())); });
    const pageErrors = [], dialogs = [], missing = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    page.on('response', (r) => { if (r.status() >= 400) missing.push(r.status() + ' ' + r.url()); });
    await page.goto(base);
    await page.waitForFunction(() => document.getElementById('model').textContent === 'whale', null, { timeout: 10000 });
    out.model = await page.textContent('#model');
    out.welcome = [await page.locator('.welcome').count(), await page.locator('.welcome .example').count()];
    out.libraries = await page.evaluate(() => [typeof window.marked, typeof window.DOMPurify]);
    out.favicon = await page.evaluate(async () => {
      const r = await fetch('/favicon.ico');
      return [r.status, r.headers.get('content-type'), document.querySelector('link[rel=icon]').getAttribute('href')];
    });
    await page.screenshot({ path: `${shots}/serve_browser_phone_welcome.png` });

    // turn 1: reasoning on, a thinking budget, sampling settings
    await page.click('#settings-button');
    await page.check('#reasoning');
    await page.fill('#budget', '3');
    await page.fill('#temperature', '0');
    await page.fill('#top-p', '0.9');
    await page.fill('#max-tokens', '30');
    await page.click('#settings-button');
    await send(page, 'Hello there');
    await waitAnswers(page, 1);
    out.user = await page.textContent('.msg.user .body');
    out.classes = await page.evaluate(() => [...document.querySelectorAll('.msg')].map((m) => m.className));
    out.answer = (await page.textContent('.msg.assistant .answer')).length > 0;
    out.thinking = await page.evaluate(() => { const t = document.querySelector('.msg.assistant .thinking'); return t.tagName; });
    out.stats = await page.textContent('.msg.assistant .stats');
    out.request = bodies.map((b) => [b.reasoning, b.thinking_budget, b.stream, b.messages.length]);
    out.sampling = [bodies[0].temperature, bodies[0].top_p, bodies[0].max_tokens, Number.isInteger(bodies[0].seed)];
    out.fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

    // turn 2: reasoning off: the history goes along, no budget
    await page.click('#settings-button');
    await page.uncheck('#reasoning');
    await send(page, 'And then?');
    await waitAnswers(page, 2);
    out.second = bodies.slice(1).map((b) => [b.reasoning, 'thinking_budget' in b, b.messages.length]);

    // turn 3: a system prompt is sent as plain text in a system message
    await page.fill('#system', 'You are a whale.');
    await send(page, 'Who are you?');
    await waitAnswers(page, 3);
    const third = bodies[2];
    out.system = [third.messages.length, third.messages[0].role, third.messages[0].content, third.reasoning];
    await page.fill('#system', '');
    await page.click('#settings-button');
    await page.screenshot({ path: `${shots}/serve_browser_phone.png`, fullPage: true });

    // copy: the answer's text reaches the clipboard
    const lastAnswer = (await page.locator('.msg.assistant').last().locator('.answer').textContent()).trim();
    await page.locator('.msg.assistant').last().locator('.action.copy').click();
    out.copied = (await page.evaluate(() => navigator.clipboard.readText())).trim() === lastAnswer;

    // regenerate the last answer: the same history is asked again, the answer replaced
    const before = bodies.length;
    await page.locator('.msg.assistant').last().locator('.action.regenerate').click();
    await page.waitForFunction(() => document.querySelectorAll('.msg').length === 6 &&
      !document.querySelector('.busy') && document.querySelectorAll('.msg.assistant .stats')[2].textContent.includes('tokens/s'), null, { timeout: 20000 });
    await page.waitForTimeout(200);
    const regen = bodies[before];
    out.regenerate = [bodies.length - before, regen && regen.messages.length, regen && regen.messages.at(-1).content,
                      await page.locator('.msg').count()];

    // edit the first question: the conversation goes on from it
    await page.locator('.msg.user').first().locator('.action.edit').click();
    await page.fill('.msg.user .editor', 'Edited question');
    await page.locator('.msg.user').first().locator('.action.send').click();
    await waitAnswers(page, 1);
    const edit = bodies.at(-1);
    out.edit = [edit.messages.length, edit.messages[0].content, await page.locator('.msg').count(),
                await page.textContent('.msg.user .body')];

    // conversations: New chat, an example prompt, rename, reload, delete
    await page.click('#menu');
    await page.click('#reset');
    out.afterReset = await page.locator('.msg').count();
    out.welcomeAgain = await page.locator('.welcome').count();
    await page.locator('.welcome .example').first().click();
    await waitAnswers(page, 1);
    out.example = bodies.at(-1).messages.at(-1).content;
    await page.click('#menu');
    out.list = await page.locator('#conversations .title').allTextContents();
    await page.waitForTimeout(400); // the list slides in
    await page.screenshot({ path: `${shots}/serve_browser_phone_list.png` });
    await page.locator('#conversations .conversation').nth(1).locator('.rename').click();
    await page.fill('#conversations input.rename', 'Whale talk');
    await page.press('#conversations input.rename', 'Enter');
    await page.reload();
    await page.waitForFunction(() => document.getElementById('model').textContent === 'whale');
    out.afterReload = [await page.locator('#conversations .title').allTextContents(), await page.locator('.msg').count()];
    await page.click('#menu');
    await page.locator('#conversations .conversation').nth(1).click({ position: { x: 20, y: 10 } });
    out.opened = [await page.locator('.msg').count(), await page.textContent('.msg.user .body')];
    await page.click('#menu');
    await page.locator('#conversations .conversation').nth(0).locator('.delete').click();
    await page.reload();
    await page.waitForFunction(() => document.getElementById('model').textContent === 'whale');
    out.afterDelete = await page.locator('#conversations .title').allTextContents();
    out.stored = await page.evaluate(() => JSON.parse(localStorage.getItem('lathe-conversations')).map((c) => c.title));

    out.missing = missing.slice(); // (the sanitised <img src=x> below asks for /x: a 404 by design)
    // raw HTML in model output: markdown rendered, the HTML sanitised — no img with onerror, no alert
    await page.route('**/v1/chat/completions', (r) => r.fulfill({ status: 200, contentType: 'text/event-stream', body: fakeStream(XSS) }));
    await page.click('#menu');
    await page.click('#reset');
    await send(page, 'Show me HTML');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant .stats').length === 1 && !document.querySelector('.busy'));
    await page.waitForTimeout(300);
    out.xss = await page.evaluate(() => {
      const a = document.querySelector('.msg.assistant .answer');
      return { onerror: document.querySelectorAll('[onerror]').length, scripts: a.querySelectorAll('script').length,
               imgs: a.querySelectorAll('img').length, strong: a.querySelectorAll('strong').length,
               code: a.querySelectorAll('pre code').length };
    });
    out.dialogs = dialogs.slice();
    out.errors = pageErrors;

    // desktop width: the list beside the chat (the same browser profile: the stored conversations)
    const desk = await context.newPage();
    await desk.setViewportSize({ width: 1280, height: 800 });
    await desk.goto(base);
    await desk.waitForFunction(() => document.getElementById('model').textContent === 'whale');
    out.desktop = [await desk.locator('#sidebar').isVisible(), await desk.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)];
    await desk.screenshot({ path: `${shots}/serve_browser_desktop.png` });

    // without marked/DOMPurify the same output is plain text
    const bare = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const bareDialogs = [], bareErrors = [];
    bare.on('dialog', (d) => { bareDialogs.push(d.message()); d.dismiss(); });
    bare.on('pageerror', (e) => bareErrors.push(String(e)));
    await bare.route('**/vendor/*', (r) => r.fulfill({ status: 404, body: '' }));
    await bare.route('**/v1/chat/completions', (r) => r.fulfill({ status: 200, contentType: 'text/event-stream', body: fakeStream(XSS) }));
    await bare.goto(base);
    await bare.click('#menu');
    await bare.click('#reset');
    await bare.fill('#input', 'Show me HTML');
    await bare.press('#input', 'Enter');
    await bare.waitForFunction(() => document.querySelectorAll('.msg.assistant .stats').length === 1 && !document.querySelector('.busy'));
    await bare.waitForTimeout(300);
    out.plain = await bare.evaluate((xss) => {
      const a = document.querySelector('.msg.assistant .answer');
      return [a.classList.contains('plain'), a.textContent === xss, a.children.length, document.querySelectorAll('img').length];
    }, XSS);
    out.plainDialogs = bareDialogs;
    out.plainErrors = bareErrors;
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e)); process.exit(1); });
JS
shots="$PWD/out/test"
rm -f "$shots"/serve_browser*.png
timeout 180 node "$tmp/browser.js" "$pw" "$port" "$shots" >"$tmp/b.json" 2>"$tmp/b.err" || fail "browser: $(tail -5 "$tmp/b.err")"
j() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$tmp/b.json" 2>&1; }
# is WHAT GOT WANT
is() { checks=$((checks + 1)); [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
is "model, first turn, history, New chat" "$(j "j['model'], j['user'], j['answer'], j['request'][:1], j['fits'], j['second'][:1], j['afterReset'], j['errors']")" \
  "whale Hello there True [['on', 3, True, 1]] True [['off', False, 3]] 0 []"
check; grep -qE '"stats":"[0-9]+ tokens · [0-9.–]+ tokens/s' "$tmp/b.json" || fail "browser: no tokens/s line: $(cat "$tmp/b.json")"
is "welcome with example prompts" "$(j "j['welcome'], j['welcomeAgain']")" "[1, 4] 1"
is "marked and DOMPurify loaded from /vendor/" "$(j "j['libraries']")" "['object', 'function']"
is "favicon" "$(j "j['favicon']")" "[200, 'image/svg+xml', 'favicon.svg']"
is "no request failed (no 404)" "$(j "j['missing']")" "[]"
is "thinking section" "$(j "j['thinking']")" "DETAILS"
is "message classes" "$(j "j['classes']")" "['msg user', 'msg assistant']"
is "sampling settings in the request" "$(j "j['sampling']")" "[0, 0.9, 30, True]"
is "system prompt as plain text" "$(j "j['system']")" "[6, 'system', 'You are a whale.', 'off']"
is "copy" "$(j "j['copied']")" "True"
is "regenerate" "$(j "j['regenerate']")" "[1, 5, 'Who are you?', 6]"
is "edit" "$(j "j['edit']")" "[1, 'Edited question', 2, 'Edited question']"
is "example prompt" "$(j "j['example']")" "What is 14 + 86?"
is "conversation list" "$(j "j['list']")" "['What is 14 + 86?', 'Hello there']"
is "renamed, kept across a reload" "$(j "j['afterReload']")" "[['What is 14 + 86?', 'Whale talk'], 2]"
is "open a conversation" "$(j "j['opened']")" "[2, 'Edited question']"
is "delete" "$(j "j['afterDelete'], j['stored']")" "['Whale talk'] ['Whale talk']"
is "raw HTML in model output is inert" "$(j "j['xss'], j['dialogs']")" \
  "{'onerror': 0, 'scripts': 0, 'imgs': 1, 'strong': 1, 'code': 1} []"
is "desktop: the list beside the chat, no overflow" "$(j "j['desktop']")" "[True, True]"
is "without the libraries: plain text, inert, no script error" "$(j "j['plain'], j['plainDialogs'], j['plainErrors']")" "[True, True, 0, 0] [] []"
for s in phone_welcome phone phone_list desktop; do
  check; [ -s "$shots/serve_browser_$s.png" ] || fail "no screenshot at $shots/serve_browser_$s.png"
done
check; grep -qE '^POST /v1/chat/completions 200 ' "$tmp/serve.log" || fail "no chat request in the access log"
check; grep -qE '^GET /favicon.(ico|svg) 200 ' "$tmp/serve.log" || fail "no favicon in the access log"

echo "cli_serve_browser: $checks checks, $fails failures"
[ "$fails" = 0 ]
