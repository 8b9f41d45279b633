// llama.cpp's greedy continuation of token ids (node-llama-cpp's prebuilt CPU build), for
// checking that a GGUF export computes what the studio computes.
// Usage: node llamacpp-greedy.mjs MODEL.gguf --prompt-ids 1,2,3 [--tokens 32] [--threads 2]
// Prints one JSON line: {"model", "prompt_ids", "ids"} (ids: the generated tokens only; the
// prompt is evaluated as given, no BOS added). Run from a folder where
// `npm i -E node-llama-cpp@3.21.1` was done.
import {getLlama} from "node-llama-cpp";

const args = process.argv.slice(2);
const modelPath = args[0];
const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
};
const nTokens = parseInt(opt("--tokens", "32"), 10);
const threads = parseInt(opt("--threads", "2"), 10);
const promptIds = opt("--prompt-ids", "").split(",").filter((s) => s.length > 0).map((s) => parseInt(s, 10));
if (!modelPath || promptIds.length === 0) {
    console.error("usage: node llamacpp-greedy.mjs MODEL.gguf --prompt-ids 1,2,3 [--tokens N] [--threads T]");
    process.exit(2);
}

const llama = await getLlama({gpu: false, build: "never"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: promptIds.length + nTokens + 16, threads, batchSize: 512});
const sequence = context.getSequence();

const ids = [];
for await (const token of sequence.evaluate(promptIds, {temperature: 0})) {
    ids.push(token);
    if (ids.length >= nTokens) break;
}
console.log(JSON.stringify({model: modelPath, prompt_ids: promptIds, ids}));
await context.dispose();
await model.dispose();
await llama.dispose();
