// One page model in a worker of its own, so that the page's models run side by side (one
// WebAssembly thread each) and the page's own thread only draws. The page talks to it through
// WorkerModel (worker_model.js). Messages:
//   { id, load: { base, entry, webgpu } }          the page: runtime and model from its folder
//   { id, load: { runtime, files, entry } }        a notebook widget: the runtime's three files'
//                                                  bytes and the model files' bytes by name
//   { id, generate: { input, classIndex } }        PageModel.generate's arguments
// Each answer is { id, result } or { id, error }.

import { loadRuntime, loadRuntimeFromBytes, PageModel } from "./generator.js";

let model = null;

async function load({ base, entry, webgpu, runtime, files }) {
  if (runtime) {
    const loaded = await loadRuntimeFromBytes(runtime);
    model = await PageModel.load(loaded, (file) => files[file], entry);
    return { backend: loaded.backend };
  }
  const loaded = await loadRuntime(base, { webgpu });
  model = await PageModel.load(loaded, base, entry);
  return { backend: loaded.backend };
}

async function answer(message) {
  if (message.load) return load(message.load);
  const { input, classIndex } = message.generate;
  return model.generate(input, classIndex);
}

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ id: data.id, result: await answer(data) }); // copied: a few KB
  } catch (error) {
    self.postMessage({ id: data.id, error: String((error && error.stack) || error) });
  }
};
