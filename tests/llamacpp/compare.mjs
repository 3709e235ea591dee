// compare.mjs: checks llama.cpp's next-token distributions (from logits.mjs)
// against lathe's logits (from `lathe forward --dump`) for the same ids.
//
//   node tests/llamacpp/compare.mjs --lathe LOGITS.npy --llama OUT.json
//        --type f32|f16|bf16|q8_0 --layers L [--rel R] [--label NAME]
//
// LOGITS.npy is lathe's (N, V) float32 logits over the prompt followed by the
// first K-1 greedy tokens llama.cpp chose (N = T + K - 1), so row t < T pairs
// with llama.cpp's prefill row t and row T-1+k with its greedy step k (a
// single-token decode through its KV cache for k >= 1): both sides then see
// the same prefix at every compared position.
//
// llama.cpp gives log-probabilities, not logits (see logits.mjs), so lathe's
// rows are turned into log_softmax in double precision and the two compared
// entry by entry; both differ from the logits only by a per-row constant.
// The tolerance is R times the logit scale S = max over compared rows and
// tokens of |lathe logit| (at least 1), with R by the GGUF's weight type
// (lathe's side is always its f32 forward):
//   f32   1e-4. Both sides compute in f32 and differ only in summation order
//         and in their exp / rsqrt / RoPE sin-cos: a few f32 roundings
//         (6e-8) per operation, compounded over a few layers of 64..512-term
//         sums, stay near 1e-6 of S. 1e-4 leaves two orders of margin while a
//         wrong RoPE row order, head grouping or norm gives errors of 1e-2..1.
//   f16, bf16, q8_0: llama.cpp multiplies the rounded weights by activations
//         rounded to the same type (q8_0: int8 blocks). Each stored value
//         carries a relative rounding error of rms e = u / sqrt(3), u the unit
//         roundoff (f16 2^-11, bf16 2^-8; q8_0: half a step of max|block|/127,
//         max|block| ~ 2.5 sigma for 32 Gaussian values, so e = 5.7e-3 of
//         sigma). A logit sits at the end of at most n = 4L + 1 matmuls (q, k,
//         v / o, gate / up / down ... and the head), each adding two such
//         errors (weight and activation); taken as independent they add to
//         e * sqrt(2n) of S, and the largest of ~10^4 compared entries is
//         within 4 standard deviations: R = 4 e sqrt(2 (4L + 1)).
// --rel overrides R. Entries whose llama.cpp probability is
// below f32's smallest normal number (log p < -87.3, where f32 keeps fewer
// significant bits) are left out and counted; an entry llama.cpp puts there
// while lathe gives it log p > -80 is a failure.
//
// Greedy check: at step k, lathe's argmax must equal llama.cpp's token, or the
// lathe logit of its own choice may exceed that of llama.cpp's by at most the
// tolerance (a tie neither side can resolve at this precision).
import {readFileSync} from "node:fs";
import {parseArgs} from "./llamacpp.mjs";

const F32_MIN_NORMAL_LOG = Math.log(1.1754943508222875e-38);

function fail(msg) {
    console.error(`compare.mjs: ${msg}`);
    process.exit(2);
}

// A little-endian float32 2-D .npy file as {rows, cols, data}.
function readNpy(path) {
    const buf = readFileSync(path);
    if (buf.length < 10 || buf[0] !== 0x93 || buf.toString("latin1", 1, 6) !== "NUMPY") fail(`${path}: not a .npy file`);
    const major = buf[6];
    const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const header = buf.toString("latin1", start, start + hlen);
    if (!/'descr':\s*'<f4'/.test(header)) fail(`${path}: expected float32 ('<f4'), header ${header.trim()}`);
    if (/'fortran_order':\s*True/.test(header)) fail(`${path}: Fortran order is not supported`);
    const m = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(header);
    if (!m) fail(`${path}: expected a 2-D shape, header ${header.trim()}`);
    const rows = Number(m[1]), cols = Number(m[2]);
    const off = start + hlen;
    if (buf.length - off !== rows * cols * 4) fail(`${path}: ${buf.length - off} data bytes for shape (${rows}, ${cols})`);
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + rows * cols * 4));
    return {rows, cols, data};
}

function logSoftmax(row) {
    let max = -Infinity;
    for (const x of row) max = Math.max(max, x);
    let sum = 0;
    for (const x of row) sum += Math.exp(x - max);
    const lse = max + Math.log(sum);
    return Array.from(row, x => x - lse);
}

const ROUNDING_RMS = {f16: 2 ** -11 / Math.sqrt(3), bf16: 2 ** -8 / Math.sqrt(3), q8_0: 2.5 / 254 / Math.sqrt(3)};

const args = parseArgs(process.argv.slice(2));
if (!args.lathe || !args.llama || !args.type || !args.layers)
    fail("usage: compare.mjs --lathe LOGITS.npy --llama OUT.json --type f32|f16|bf16|q8_0 --layers L [--rel R] [--label NAME]");
const layers = Number(args.layers);
if (!(Number.isInteger(layers) && layers > 0)) fail(`--layers: '${args.layers}' is not a positive integer`);
if (args.type !== "f32" && !(args.type in ROUNDING_RMS)) fail(`--type: '${args.type}' is not f32, f16, bf16 or q8_0`);
const rel = args.rel !== undefined ? Number(args.rel)
          : args.type === "f32" ? 1e-4 : 4 * ROUNDING_RMS[args.type] * Math.sqrt(2 * (4 * layers + 1));
if (!(rel > 0)) fail(`--rel: '${args.rel}' is not a positive number`);
const label = args.label ?? args.llama;
const lathe = readNpy(args.lathe);
const peer = JSON.parse(readFileSync(args.llama, "utf8"));
const T = peer.ids.length, K = peer.greedy.length, V = peer.n_vocab;
if (lathe.cols !== V) fail(`${args.lathe}: ${lathe.cols} columns, llama.cpp's vocabulary has ${V}`);
if (lathe.rows !== T + Math.max(K - 1, 0)) fail(`${args.lathe}: ${lathe.rows} rows, expected T + K - 1 = ${T + K - 1}`);

// Pairs (lathe row index, llama.cpp log-prob row, what).
const pairs = [];
for (let t = 0; t < T; t++) pairs.push([t, peer.logprobs[t], `position ${t}`]);
for (let k = 0; k < K; k++) pairs.push([T - 1 + k, peer.greedy_logprobs[k], `greedy step ${k}`]);

let scale = 1;
for (const x of lathe.data) scale = Math.max(scale, Math.abs(x));
const tol = rel * scale;

let maxDiff = 0, where = "", skipped = 0, compared = 0;
const problems = [];
for (const [r, peerRow, what] of pairs) {
    const row = lathe.data.subarray(r * V, (r + 1) * V);
    const lp = logSoftmax(row);
    for (let v = 0; v < V; v++) {
        const q = peerRow[v];
        if (q === null || q < F32_MIN_NORMAL_LOG) {
            skipped++;
            if (lp[v] > -80) problems.push(`${what}, token ${v}: llama.cpp probability ${q === null ? 0 : Math.exp(q)} but lathe log p ${lp[v].toFixed(3)}`);
            continue;
        }
        compared++;
        const d = Math.abs(lp[v] - q);
        if (d > maxDiff || Number.isNaN(d)) maxDiff = d, where = `${what}, token ${v} (lathe ${lp[v].toFixed(6)}, llama.cpp ${q.toFixed(6)})`;
    }
}
if (!(maxDiff <= tol)) problems.push(`max |Δ log p| ${maxDiff.toExponential(3)} at ${where} exceeds ${tol.toExponential(3)}`);

let agree = 0, ties = 0, minMargin = Infinity;
for (let k = 0; k < K; k++) {
    const row = lathe.data.subarray((T - 1 + k) * V, (T + k) * V);
    let a = 0, b = -1;
    for (let v = 1; v < V; v++) if (row[v] > row[a]) a = v;
    for (let v = 0; v < V; v++) if (v !== a && (b < 0 || row[v] > row[b])) b = v;
    minMargin = Math.min(minMargin, row[a] - row[b]);
    const g = peer.greedy[k];
    if (a === g) agree++;
    else if (row[a] - row[g] <= tol) ties++;
    else problems.push(`greedy step ${k}: llama.cpp chose ${g}, lathe ${a} by a logit margin ${(row[a] - row[g]).toExponential(3)} > ${tol.toExponential(3)}`);
}

console.log(`${label}: ${T} positions + ${K} greedy steps, ${compared} log-probs compared (${skipped} below f32 normal range): ` +
            `max |Δ log p| ${maxDiff.toExponential(2)} (tolerance ${rel.toPrecision(2)} × scale ${scale.toFixed(2)} = ${tol.toExponential(2)}); ` +
            `greedy ${agree}/${K} agree, ${ties} ties within tolerance, smallest lathe top-2 margin ${K ? minMargin.toExponential(2) : "-"}`);
for (const p of problems.slice(0, 10)) console.log(`  FAIL: ${p}`);
if (problems.length > 10) console.log(`  ... and ${problems.length - 10} more`);
process.exit(problems.length ? 1 : 0);
