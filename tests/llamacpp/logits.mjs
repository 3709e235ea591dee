// logits.mjs: llama.cpp's next-token distribution for a GGUF model over given
// token ids, for comparison with lathe's (tests/cli_gguf_llamacpp.sh).
//
//   node tests/llamacpp/logits.mjs MODEL.gguf --ids 1,5,9 [--greedy K] [--threads N]
//
// Prints one JSON object:
//   n_vocab, ids
//   logprobs   (T, V) log-probabilities of the next token after ids[0..t], for
//              every prompt position t, from one batched evaluation (prefill)
//   greedy     K tokens continued greedily (temperature 0) after the prompt
//   greedy_logprobs (K, V) the distribution each greedy token was chosen from:
//              row 0 is the prompt's last position, rows 1.. come from
//              single-token decode steps through llama.cpp's KV cache
//
// node-llama-cpp 3.21.1 does not hand out raw logits: its sampler returns the
// full-vocabulary probabilities softmax(logits) (computed in f32 by the addon
// from llama_get_logits_ith; with temperature 0 the chain is the greedy sampler
// alone, which leaves the logits untouched). log(p) is log_softmax(logits),
// which differs from the raw logits only by a per-row constant. A probability
// that underflowed f32 to 0 is written as null.
import {getCpuLlama, intArg, loadModelAndContext, parseArgs} from "./llamacpp.mjs";

function usage(msg) {
    if (msg) console.error(`logits.mjs: ${msg}`);
    console.error("usage: node tests/llamacpp/logits.mjs MODEL.gguf --ids 1,5,9 [--greedy K] [--threads N]");
    process.exit(2);
}

// Probabilities Map(token -> p) to a dense row of log p (null where p is 0).
function logRow(probabilities, V) {
    const row = new Array(V).fill(null);
    for (const [token, p] of probabilities) if (p > 0) row[token] = Math.log(p);
    return row;
}

async function main() {
    let args;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        usage(e.message);
    }
    if (args._.length !== 1) usage("give one GGUF path");
    if (!args.ids) usage("--ids is required");
    const ids = args.ids.split(",").map(s => Number(s));
    if (ids.some(t => !Number.isInteger(t) || t < 0)) usage(`--ids: '${args.ids}' is not a comma-separated list of token ids`);
    let K, threads;
    try {
        K = intArg(args, "greedy", 0);
        threads = intArg(args, "threads", 1);
    } catch (e) {
        usage(e.message);
    }

    const {llama} = await getCpuLlama();
    const T = ids.length, n = T + K;
    const contextSize = Math.max(256, Math.ceil(n / 256) * 256);
    const {model, context} = await loadModelAndContext(llama, args._[0], {contextSize, batchSize: Math.max(T, 1), threads});
    const V = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
    if (!Number.isInteger(V)) throw new Error(`${args._[0]}: no tokenizer.ggml.tokens array`);
    for (const t of ids) if (t >= V) usage(`--ids: token ${t} is outside the vocabulary (${V} tokens)`);
    const seq = context.getSequence();

    // Prefill: every position asks for its next-token probabilities; the last
    // also samples the first greedy token.
    const items = ids.map((t, i) => [t, {generateNext: {probabilities: true, token: i === T - 1, options: {temperature: 0}}}]);
    const out = await seq.controlledEvaluate(items);
    const logprobs = out.map((o, i) => {
        if (o?.next?.probabilities?.size !== V) throw new Error(`position ${i}: expected ${V} probabilities`);
        return logRow(o.next.probabilities, V);
    });
    const greedy = [], greedyLogprobs = [];
    let next = out[T - 1].next;
    for (let k = 0; k < K; k++) {
        if (next.token == null) throw new Error(`no greedy token at step ${k}`);
        greedy.push(next.token);
        greedyLogprobs.push(logRow(next.probabilities, V));
        if (k + 1 === K) break;
        const step = await seq.controlledEvaluate([[next.token, {generateNext: {probabilities: true, token: true, options: {temperature: 0}}}]]);
        next = step[0].next;
    }
    process.stdout.write(JSON.stringify({model: args._[0], n_vocab: V, ids, logprobs, greedy, greedy_logprobs: greedyLogprobs}) + "\n");
    await context.dispose();
    await model.dispose();
}

main().catch(e => {
    console.error(`logits.mjs: ${e.message}`);
    process.exit(1);
});
