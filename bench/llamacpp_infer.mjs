// llamacpp_infer.mjs: llama.cpp's inference speed on a GGUF, measured the
// llama-bench way, through the prebuilt CPU libraries of node-llama-cpp
// (tests/llamacpp/llamacpp.mjs; installed by scripts/fetch-test-data.sh). The
// peer half of bench/infer_vs_llamacpp.sh.
//
//   node bench/llamacpp_infer.mjs MODEL.gguf [--pp 512] [--tg 128] [--threads 2]
//        [--reps 5] [--depth 0] [--kv f16|f32] [--seed 1]
//
// As llama-bench does it:
//   pp  --pp random token ids evaluated in one batch (one llama_decode:
//       batch size = ubatch size = --pp) on an empty KV cache, logits for the
//       last position only; tokens/s = pp / wall time of that call.
//   tg  --tg single-token decodes, each computing its logits (the LM head
//       included) and fed the next random id (no sampling cost beyond the
//       greedy argmax node-llama-cpp needs to hand the logits out), starting
//       from an empty cache, or after --depth prompt tokens (prefilled outside
//       the timer) when given; tokens/s = tg / wall time of the whole loop.
//   One untimed warm-up of each, then --reps timed repetitions of each; the
//   cache is cleared before every one. Threads: --threads for both batch and
//   single-token work (context option `threads`).
// Two clocks: `llama_cpp` is llama.cpp's own timer (llama_perf_context: from
// the start of each llama_decode to the synchronize when its logits are read,
// the span llama-bench times), read from its log after every repetition;
// `wall` is the wall time of the node-llama-cpp calls, which adds its
// JavaScript batching and sampling layer (about 0.2 ms a call here, which is
// noticeable in tg). The llama_cpp figures are the ones to compare.
//   KV cache in f16 (llama.cpp's and llama-bench's default) unless --kv f32;
//   no flash attention (node-llama-cpp's default).
// Unlike llama-bench, node-llama-cpp attaches no ggml threadpool: with more
// than one thread each llama_decode starts and joins its worker threads
// (milliseconds a call when another process holds one of the cores), and
// that time is inside llama.cpp's own timer too.
// Prints one JSON object with every repetition's figures and their medians.
import {performance} from "node:perf_hooks";
import {getCpuLlama, intArg, loadModelAndContext, parseArgs} from "../tests/llamacpp/llamacpp.mjs";

function usage(msg) {
    if (msg) console.error(`llamacpp_infer.mjs: ${msg}`);
    console.error("usage: node bench/llamacpp_infer.mjs MODEL.gguf [--pp 512] [--tg 128] [--threads 2] [--reps 5] [--depth 0] [--kv f16|f32] [--seed 1]");
    process.exit(2);
}

// A small deterministic generator (xorshift32) for the random token ids.
function rng(seed) {
    let s = (seed >>> 0) || 1;
    return () => {
        s ^= s << 13; s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5; s >>>= 0;
        return s;
    };
}

function stats(xs) {
    const s = [...xs].sort((a, b) => a - b);
    const mid = s.length >> 1;
    const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
    return {values: xs, median, min: s[0], max: s[s.length - 1]};
}

async function main() {
    let args, pp, tg, threads, reps, depth, seed;
    try {
        args = parseArgs(process.argv.slice(2));
        pp = intArg(args, "pp", 512);
        tg = intArg(args, "tg", 128);
        threads = intArg(args, "threads", 2);
        reps = intArg(args, "reps", 5);
        depth = intArg(args, "depth", 0);
        seed = intArg(args, "seed", 1);
    } catch (e) {
        usage(e.message);
    }
    if (args._.length !== 1) usage("give one GGUF path");
    if (pp < 1 || tg < 1 || threads < 1 || reps < 1) usage("--pp, --tg, --threads and --reps must be at least 1");
    const kv = (args.kv ?? "f16").toUpperCase();
    if (kv !== "F16" && kv !== "F32") usage(`--kv: '${args.kv}' is not f16 or f32`);

    // llama.cpp's timing lines; its warnings and errors still reach stderr.
    const perf = [];
    const logger = (level, message) => {
        const m = /llama_perf_context_print:\s+(prompt eval|eval) time =\s+([\d.]+) ms \/\s+(\d+)/.exec(message);
        if (m) perf.push({what: m[1], ms: Number(m[2]), n: Number(m[3])});
        else if (level === "error" || level === "fatal" || level === "warn") console.error(message);
    };
    const {nlc, llama} = await getCpuLlama({logger});
    const batch = Math.max(pp, depth, 1);
    const contextSize = Math.ceil((Math.max(pp, depth + tg) + 1) / 256) * 256;
    const {model, context} = await loadModelAndContext(llama, args._[0], {contextSize, batchSize: batch, threads, kvType: kv, performanceTracking: true});
    const V = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
    if (!Number.isInteger(V)) throw new Error(`${args._[0]}: no tokenizer.ggml.tokens array`);
    const seq = context.getSequence();
    const next = rng(seed);
    const randomIds = n => Array.from({length: n}, () => next() % V);

    // llama.cpp's timers since the last call ({"prompt eval", "eval"} -> {ms, n});
    // printing them resets them.
    async function takeTimings() {
        perf.length = 0;
        await context.printTimings();
        for (let i = 0; i < 1000 && perf.length < 2; i++) await new Promise(r => setTimeout(r, 1));
        if (perf.length < 2) throw new Error("llama.cpp's timing lines did not arrive");
        return Object.fromEntries(perf.map(p => [p.what, p]));
    }
    // One prompt-processing run: n ids in one batch, logits of the last.
    async function runPp(n) {
        await seq.clearHistory();
        await takeTimings();
        const ids = randomIds(n);
        const items = ids.map((t, i) => (i === n - 1 ? [t, {generateNext: {token: true}}] : t));
        const t0 = performance.now();
        await seq.controlledEvaluate(items);
        const wall = (performance.now() - t0) / 1e3;
        const p = (await takeTimings())["prompt eval"];
        if (p.n !== n) throw new Error(`llama.cpp counted ${p.n} prompt tokens, expected ${n}`);
        return {wall, llama: p.ms / 1e3};
    }
    // One generation run: n single-token decodes after `d` untimed prompt tokens.
    async function runTg(n, d) {
        await seq.clearHistory();
        if (d > 0) await seq.evaluateWithoutGeneratingNewTokens(randomIds(d));
        await takeTimings();
        const ids = randomIds(n);
        const t0 = performance.now();
        for (const t of ids) await seq.controlledEvaluate([[t, {generateNext: {token: true}}]]);
        const wall = (performance.now() - t0) / 1e3;
        const e = (await takeTimings())["eval"];
        if (e.n !== n) throw new Error(`llama.cpp counted ${e.n} single-token decodes, expected ${n}`);
        return {wall, llama: e.ms / 1e3};
    }

    await runPp(pp);
    await runTg(Math.min(tg, 16), depth);
    const ppRuns = [], tgRuns = [];
    for (let r = 0; r < reps; r++) {
        ppRuns.push(await runPp(pp));
        tgRuns.push(await runTg(tg, depth));
    }
    const meta = model.fileInfo.metadata;
    const out = {
        engine: "llama.cpp",
        via: "node-llama-cpp " + (nlc.version ?? "3.21.1"),
        model: args._[0],
        architecture: meta.general.architecture,
        file_type: meta.general.file_type,
        model_bytes: model.size,
        threads, kv_cache: kv.toLowerCase(), flash_attention: false,
        n_prompt: pp, n_gen: tg, depth, reps,
        pp_tokens_per_s: {
            llama_cpp: stats(ppRuns.map(r => pp / r.llama)),
            wall: stats(ppRuns.map(r => pp / r.wall)),
        },
        tg_tokens_per_s: {
            llama_cpp: stats(tgRuns.map(r => tg / r.llama)),
            wall: stats(tgRuns.map(r => tg / r.wall)),
        },
        system_info: llama.systemInfo.trim(),
    };
    process.stdout.write(JSON.stringify(out) + "\n");
    await context.dispose();
    await model.dispose();
}

main().catch(e => {
    console.error(`llamacpp_infer.mjs: ${e.message}`);
    process.exit(1);
});
