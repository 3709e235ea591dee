#!/usr/bin/env bash
# cli_serve_browser.sh: lathe serve's chat page in a real browser — Debian's
# headless Chromium driven by playwright-core (fetched by
# scripts/fetch-test-data.sh) at a phone's width: the page loads the model
# name, reasoning is switched on with a thinking budget, a message is sent,
# the request carries the toggle and the budget, the answer streams in with a
# tokens/s line; New chat clears it. A screenshot goes to out/test/.
source "$(dirname "$0")/lib/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }
pw="$PWD/cache/npm/playwright-core-1.65.1/package"
if ! command -v node >/dev/null || [ ! -x /usr/bin/chromium ] || [ ! -f "$pw/../.complete" ]; then
  echo "SKIP: browser test (needs node, /usr/bin/chromium and $pw: scripts/install-deps.sh, scripts/fetch-test-data.sh)"
  exit 0
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
const [pw, port, shot] = process.argv.slice(2);
const { chromium } = require(pw);
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'] });
  const out = {};
  try {
    const page = await browser.newPage({ viewport: { width: 390, height: 760 } });
    const bodies = [];
    page.on('request', (r) => { if (r.url().endsWith('/v1/chat/completions')) bodies.push(JSON.parse(r.postData())); });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => document.getElementById('model').textContent === 'whale', null, { timeout: 10000 });
    out.model = await page.textContent('#model');
    await page.check('#reasoning');
    await page.fill('#budget', '3');
    await page.fill('#input', 'Hello there');
    await page.press('#input', 'Enter');
    await page.waitForFunction(() => {
      const s = document.querySelector('.msg.assistant .stats');
      return s && s.textContent.includes('tokens/s');
    }, null, { timeout: 20000 });
    out.user = await page.textContent('.msg.user');
    out.answer = (await page.textContent('.msg.assistant .answer')).length > 0;
    out.stats = await page.textContent('.msg.assistant .stats');
    out.request = bodies.map((b) => [b.reasoning, b.thinking_budget, b.stream, b.messages.length]);
    out.fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    await page.screenshot({ path: shot, fullPage: true });
    // reasoning off, a second turn: the history goes along
    await page.uncheck('#reasoning');
    await page.fill('#input', 'And then?');
    await page.press('#input', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant .stats').length === 2 &&
      document.querySelectorAll('.msg.assistant .stats')[1].textContent.includes('tokens/s'), null, { timeout: 20000 });
    out.second = bodies.slice(1).map((b) => [b.reasoning, 'thinking_budget' in b, b.messages.length]);
    await page.click('#reset');
    out.afterReset = await page.locator('.msg').count();
    out.errors = pageErrors;
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e)); process.exit(1); });
JS
shot="$PWD/out/test/serve_browser.png"
rm -f "$shot"
timeout 120 node "$tmp/browser.js" "$pw" "$port" "$shot" >"$tmp/b.json" 2>"$tmp/b.err" || fail "browser: $(tail -5 "$tmp/b.err")"
got=$(/usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j['model'], j['user'], j['answer'], j['request'], j['fits'], j['second'], j['afterReset'], j['errors'])" "$tmp/b.json" 2>&1)
check; [ "$got" = "whale Hello there True [['on', 3, True, 1]] True [['off', False, 3]] 0 []" ] || fail "browser: $got"
check; grep -qE '"stats":"[0-9]+ tokens · [0-9.–]+ tokens/s' "$tmp/b.json" || fail "browser: no tokens/s line: $(cat "$tmp/b.json")"
check; [ -s "$shot" ] || fail "no screenshot at $shot"
check; grep -qE '^POST /v1/chat/completions 200 ' "$tmp/serve.log" || fail "no chat request in the access log"

echo "cli_serve_browser: $checks checks, $fails failures"
[ "$fails" = 0 ]
