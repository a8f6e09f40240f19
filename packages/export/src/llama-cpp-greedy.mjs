#!/usr/bin/env node
/**
 * Greedy tokens from BOS with real llama.cpp (node-llama-cpp's prebuilt CPU binary, no download, no build).
 * Usage: node llama-cpp-greedy.mjs <count> <model.gguf>...   Prints one JSON object:
 *   { "llamaCpp": "<release>", "results": { "<path>": [tokens...] | { "error": "..." } } }
 * Run as a script file under Node (node-llama-cpp's binary self-test forks the calling script).
 */
import { getLlama } from "node-llama-cpp";

const [countArg, ...paths] = process.argv.slice(2);
const count = Number(countArg);
if (!Number.isInteger(count) || count < 1 || paths.length === 0) {
  console.error("usage: node llama-cpp-greedy.mjs <count> <model.gguf>...");
  process.exit(2);
}
const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: "error" });
const results = {};
for (const modelPath of paths) {
  try {
    const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
    const context = await model.createContext({ contextSize: Math.max(64, count + 8), batchSize: 64, threads: 1 });
    const sequence = context.getSequence();
    const bos = model.tokens.bos;
    const tokens = [bos];
    // temperature 0 = argmax; EOS is yielded and generation goes on, as our reference does.
    for await (const t of sequence.evaluate([bos], { temperature: 0, yieldEogToken: true })) {
      tokens.push(t);
      if (tokens.length > count) break;
    }
    results[modelPath] = tokens;
    await context.dispose();
    await model.dispose();
  } catch (err) {
    results[modelPath] = { error: String(err?.message ?? err) };
  }
}
console.log(JSON.stringify({ llamaCpp: llama.llamaCppRelease.release, results }));
await llama.dispose();
