#!/usr/bin/python3
"""serve_load.py: load on a running `lathe serve` — aggregate generated tokens/s and time to
first token (p50/p99) at several numbers of concurrent streaming clients, to show what
continuous batching gives (issue 7: at 16 clients clearly more tokens/s than at 1).

Each client sends its requests one after another (stream: true, ignore_eos, a fixed max_tokens,
so every answer has the same length); the clients of one level start together. Tokens come from
each stream's usage chunk; time to first token is from sending the request to the first chunk
with text. Aggregate tokens/s = all generated tokens of the level / its wall time.

  lathe serve MODEL --parallel 16 --port 8080 &
  /usr/bin/python3 bench/serve_load.py --port 8080 --clients 1,4,16 --requests 4 --max-tokens 128
"""
import argparse
import http.client
import json
import threading
import time


def one_request(port, key, prompt, max_tokens, seed):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens, "ignore_eos": True,
            "temperature": 0.8, "seed": seed, "stream": True, "stream_options": {"include_usage": True}}
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    start = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", json.dumps(body), headers)
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError("HTTP %d: %s" % (resp.status, resp.read()[:200]))
    first, usage, buf = None, None, b""
    while True:
        data = resp.read1(65536)
        if not data:
            break
        buf += data
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            if not event.startswith(b"data: ") or event == b"data: [DONE]":
                continue
            chunk = json.loads(event[6:])
            if "error" in chunk:
                raise RuntimeError(chunk["error"]["message"])
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices", []):
                delta = choice.get("delta", {})
                if first is None and (delta.get("content") or delta.get("reasoning_content")):
                    first = time.perf_counter() - start
    conn.close()
    if usage is None:
        raise RuntimeError("no usage chunk")
    return first if first is not None else time.perf_counter() - start, usage["completion_tokens"]


def level(port, key, clients, requests, max_tokens):
    ttfts, tokens, errors = [], [], []
    lock = threading.Lock()

    def client(i):
        for k in range(requests):
            try:
                ttft, n = one_request(port, key, "Client %d, request %d: tell me about the sea." % (i, k), max_tokens, k)
                with lock:
                    ttfts.append(ttft)
                    tokens.append(n)
            except Exception as e:  # noqa: BLE001 (reported, not fatal)
                with lock:
                    errors.append(str(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ttfts.sort()

    def pct(p):
        return ttfts[min(len(ttfts) - 1, int(round(p / 100 * (len(ttfts) - 1))))] if ttfts else float("nan")

    return {"clients": clients, "requests": len(tokens), "errors": len(errors), "tokens": sum(tokens),
            "seconds": wall, "tokens_per_s": sum(tokens) / wall, "ttft_p50": pct(50), "ttft_p99": pct(99),
            "first_error": errors[0] if errors else None}


def health(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/health")
    return json.loads(conn.getresponse().read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--api-key", default="")
    ap.add_argument("--clients", default="1,4,16", help="comma-separated concurrency levels")
    ap.add_argument("--requests", type=int, default=4, help="requests per client at each level")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--json", action="store_true", help="one JSON object per level instead of the table")
    args = ap.parse_args()
    one_request(args.port, args.api_key, "warm-up", 8, 0)
    rows = []
    for c in [int(x) for x in args.clients.split(",")]:
        row = level(args.port, args.api_key, c, args.requests, args.max_tokens)
        row["batch_max"] = health(args.port)["batch_max"]
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
    if not args.json:
        print("%8s %9s %8s %10s %12s %10s %10s %10s" % ("clients", "requests", "errors", "tokens", "tokens/s",
                                                         "ttft p50", "ttft p99", "batch max"))
        for r in rows:
            print("%8d %9d %8d %10d %12.1f %9.3fs %9.3fs %10d" % (r["clients"], r["requests"], r["errors"], r["tokens"],
                                                                 r["tokens_per_s"], r["ttft_p50"], r["ttft_p99"],
                                                                 r["batch_max"]))
        base = rows[0]["tokens_per_s"]
        for r in rows[1:]:
            print("%d clients: %.2fx the tokens/s of %d" % (r["clients"], r["tokens_per_s"] / base, rows[0]["clients"]))
        for r in rows:
            if r["first_error"]:
                print("errors at %d clients, first: %s" % (r["clients"], r["first_error"]))


if __name__ == "__main__":
    main()
