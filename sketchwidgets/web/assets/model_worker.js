// The page's second lane: models that run in a worker, beside the ones in the page's own
// thread, so that two models run at once on a machine with two cores. The page talks to it
// through WorkerLane (worker_lane.js). Messages, each answered { id, result } or { id, error }:
//   { id, load: { base, entry } }             a model from the page folder (WebAssembly)
//   { id, load: { runtime, files, entry } }   a notebook widget's: the runtime's three files'
//                                             bytes, and the model's files' bytes by name
//   { id, generate: { name, input, classIndex } }   PageModel.generate's arguments

import { loadRuntime, loadRuntimeFromBytes, PageModel } from "./generator.js";

let runtime = null;
const models = {};

async function load({ base, runtime: bytes, files, entry }) {
  runtime ||= base ? loadRuntime(base) : loadRuntimeFromBytes(bytes);
  const source = base || ((file) => files[file]);
  models[entry.name] = await PageModel.load(await runtime, source, entry);
  return null;
}

async function answer(message) {
  if (message.load) return load(message.load);
  const { name, input, classIndex } = message.generate;
  return models[name].generate(input, classIndex);
}

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ id: data.id, result: await answer(data) }); // copied: a few KB
  } catch (error) {
    self.postMessage({ id: data.id, error: String((error && error.stack) || error) });
  }
};
