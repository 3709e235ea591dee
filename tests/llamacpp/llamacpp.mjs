// llamacpp.mjs: loads llama.cpp — the prebuilt CPU libraries shipped in the npm
// package node-llama-cpp (pinned in tests/llamacpp/package-lock.json, installed
// by scripts/fetch-test-data.sh into cache/llamacpp/) — for lathe's GGUF parity
// test and its inference benchmark. Nothing is built or downloaded here: a
// missing package is an error naming the fetch script.
//
// LATHE_LLAMACPP overrides the npm project directory (the folder holding
// node_modules/node-llama-cpp).
import {existsSync} from "node:fs";
import {dirname, join, resolve} from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const projectDir = process.env.LATHE_LLAMACPP || join(root, "cache", "llamacpp");
const entry = join(projectDir, "node_modules", "node-llama-cpp", "dist", "index.js");

// The node-llama-cpp module, or an Error saying how to install it.
export async function importNodeLlamaCpp() {
    if (!existsSync(entry))
        throw new Error(`node-llama-cpp is not installed at ${projectDir} (run scripts/fetch-test-data.sh)`);
    return import(pathToFileURL(entry).href);
}

// llama.cpp on the CPU from the prebuilt binary only: gpu false, build never.
// With `logger` (level, message), messages down to the info level go to it
// (the benchmark reads llama.cpp's own timings from them); otherwise only
// errors are printed.
export async function getCpuLlama({logger} = {}) {
    const nlc = await importNodeLlamaCpp();
    const llama = await nlc.getLlama({
        gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
        progressLogs: false, logLevel: logger ? nlc.LlamaLogLevel.info : nlc.LlamaLogLevel.error,
        ...(logger ? {logger} : {}),
    });
    return {nlc, llama};
}

// Loads a GGUF fully into memory (no mmap: the file may be replaced while it
// is in use, and timings should not include page faults) and creates a
// one-sequence context without flash attention. kvType "F32" stores the cached
// keys and values in f32 (for parity: llama.cpp's default "F16" rounds every
// cached key and value); "F16" is llama.cpp's (and llama-bench's) default.
// performanceTracking turns on llama.cpp's own timers (context.printTimings()).
export async function loadModelAndContext(llama, modelPath, {contextSize, batchSize, threads, kvType = "F32", performanceTracking = false}) {
    const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: false});
    const context = await model.createContext({
        contextSize, batchSize, threads, sequences: 1, flashAttention: false, performanceTracking,
        experimentalKvCacheKeyType: kvType, experimentalKvCacheValueType: kvType,
    });
    return {model, context};
}

// Parses --name value pairs (and bare flags) into an object; positional
// arguments go to `_`.
export function parseArgs(argv, flags = []) {
    const out = {_: []};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith("--")) { out._.push(a); continue; }
        const name = a.slice(2);
        if (flags.includes(name)) { out[name] = true; continue; }
        if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
        out[name] = argv[++i];
    }
    return out;
}

// A non-negative integer option, or the default.
export function intArg(args, name, fallback) {
    if (args[name] === undefined) return fallback;
    const v = Number(args[name]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${name}: '${args[name]}' is not a non-negative integer`);
    return v;
}
