// Times llama.cpp (node-llama-cpp's prebuilt CPU build) decoding a GGUF file at batch 1:
// greedy (temperature 0) continuation of a fixed prompt, tokens/s of the decode steps only.
// Usage: node bench-llamacpp.mjs MODEL.gguf [--tokens 64] [--threads 2] [--prompt-ids 1,2,3]
// Prints one JSON line: {"model", "tokens", "prefill_seconds", "decode_seconds", "tokens_per_second"}.
// Run from a folder where `npm i -E node-llama-cpp@3.21.1` was done (NODE_PATH or cwd).
import {getLlama} from "node-llama-cpp";

const args = process.argv.slice(2);
const modelPath = args[0];
const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
};
const nTokens = parseInt(opt("--tokens", "64"), 10);
const threads = parseInt(opt("--threads", "2"), 10);
const promptIds = opt("--prompt-ids", "1,2,3,4,5,6,7,8").split(",").map((s) => parseInt(s, 10));
if (!modelPath) {
    console.error("usage: node bench-llamacpp.mjs MODEL.gguf [--tokens N] [--threads T] [--prompt-ids 1,2,3]");
    process.exit(2);
}

const llama = await getLlama({gpu: false, build: "never"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: promptIds.length + nTokens + 16, threads, batchSize: 512});
const sequence = context.getSequence();

let n = 0;
const t0 = performance.now();
let tFirst = 0;
for await (const token of sequence.evaluate(promptIds, {temperature: 0})) {
    n += 1;
    if (n === 1) tFirst = performance.now();
    if (n >= nTokens + 1) break;
}
const tEnd = performance.now();
const decodeSeconds = (tEnd - tFirst) / 1000;
console.log(JSON.stringify({
    model: modelPath,
    tokens: n - 1,
    prefill_seconds: (tFirst - t0) / 1000,
    decode_seconds: decodeSeconds,
    tokens_per_second: (n - 1) / decodeSeconds,
}));
await context.dispose();
await model.dispose();
await llama.dispose();
