// Load onnxruntime-web and a page model, and generate: the part of the page a notebook widget
// can reuse (no DOM here). `base` is the URL of the page folder (runtime/ and models/ in it).
//
//   const runtime = await loadRuntime(base);                    // WebAssembly
//   const model = await PageModel.load(runtime, base, entry);   // entry: one of page.json's
//   const { image, edge } = await model.generate(input, classIndex);  // uint8 RGB, S*S*3
//
// A notebook widget, which has the runtime's and the models' bytes already, fetches nothing:
// `loadRuntimeFromBytes({ module, glue, wasm })` and `PageModel.load(runtime, bytesOf, entry)`
// with `bytesOf(file)` giving a model file's bytes.
//
// WebAssembly runs single-threaded, so the page needs no special headers. WebGPU is a second
// runtime (`loadRuntime(base, { webgpu: true })`), used for a model only once `checkAgainst`
// finds its outputs within the tolerance of the WebAssembly (or the kernel's) ones: the two
// runtimes do not always agree (docs/page.md).

export const TOLERANCE = 2; // grey levels: the most a model's outputs may differ from the reference's

export async function loadRuntime(base, { webgpu = false } = {}) {
  const ort = await import(new URL(webgpu ? "runtime/ort.webgpu.min.mjs" : "runtime/ort.wasm.min.mjs", base).href);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = new URL("runtime/", base).href;
  return { ort, backend: webgpu ? "webgpu" : "wasm" };
}

// A runtime from its three files' bytes: the WebAssembly build (ort.wasm.min.mjs, the glue
// module ort-wasm-simd-threaded.mjs and its .wasm) or, with backend "webgpu", the WebGPU build
// (ort.webgpu.min.mjs, ort-wasm-simd-threaded.asyncify.mjs and .wasm): object URLs for the two
// modules, the binary as is.
export async function loadRuntimeFromBytes({ module, glue, wasm }, backend = "wasm") {
  const url = (bytes) => URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
  const ort = await import(url(module));
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = { mjs: url(glue) };
  ort.env.wasm.wasmBinary = wasm;
  return { ort, backend };
}

// Whether the page may try WebGPU. mode "auto": only on a hardware adapter (a software one,
// such as SwiftShader, runs these models far slower than WebAssembly); "on": on any adapter,
// the software one too (for tests and comparisons); "off": never.
export async function webgpuAllowed(mode = "auto") {
  if (mode === "off" || !globalThis.navigator?.gpu) return false;
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return false;
    const software = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
    return mode === "on" || !software;
  } catch {
    return false;
  }
}

// The largest grey-level difference between two sets of outputs ({name: uint8 array}), over
// the names of `expected`; null when one is missing or of another size.
export function largestDifference(outputs, expected) {
  let worst = 0;
  for (const [name, want] of Object.entries(expected)) {
    const got = outputs[name];
    if (!got || got.length !== want.length) return null;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  return worst;
}

// `model` on each of `inputs` ([{ input, classIndex }]): the largest difference from
// `expected` (the reference's outputs, in the same order; null: not the same outputs) and the
// last run's time in ms (run after a first, untimed one, which sets the runtime up).
export async function checkAgainst(model, inputs, expected) {
  await model.generate(inputs[0].input, inputs[0].classIndex);
  let worst = 0, ms = 0;
  for (let i = 0; i < inputs.length; i++) {
    const started = performance.now();
    const outputs = await model.generate(inputs[i].input, inputs[i].classIndex);
    ms = performance.now() - started;
    const difference = largestDifference(outputs, expected[i]);
    worst = difference === null || worst === null ? null : Math.max(worst, difference);
  }
  return { worst, ms };
}

// Whether a model checked on WebGPU takes the place of its WebAssembly self (which ran in `ms0`):
// within the tolerance, and faster (or, with mode "on", whatever its speed).
export const takesOver = ({ worst, ms }, ms0, mode, tolerance = TOLERANCE) =>
  worst !== null && worst <= tolerance && (mode === "on" || ms < ms0);

async function session(runtime, bytes) {
  const providers = runtime.backend === "webgpu" ? ["webgpu", "wasm"] : ["wasm"];
  // the batch is always one here: fixing it lets the runtime plan every shape ahead
  const options = { executionProviders: providers, freeDimensionOverrides: { batch: 1 } };
  return runtime.ort.InferenceSession.create(bytes, options);
}

// float32 [-1, 1] (N=1, 3, S, W) -> uint8 RGB S*S*3 of the columns from `left` (as
// sketchwidgets.io.tensor_to_image: clamp, (x + 1) * 127.5, round).
function floatToRgb(data, size, width, left) {
  const out = new Uint8Array(size * size * 3);
  const plane = size * width;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = Math.min(1, Math.max(-1, data[c * plane + y * width + left + x]));
        out[(y * size + x) * 3 + c] = Math.round((v + 1) * 127.5);
      }
    }
  }
  return out;
}

// The right half (3 x size x size) of a (3 x size x 2 size) joint image, planes in order.
function rightHalf(data, size) {
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      const from = c * size * 2 * size + y * 2 * size + size;
      out.set(data.subarray(from, from + size), c * size * size + y * size);
    }
  }
  return out;
}

export class PageModel {
  constructor(runtime, entry, sessions) {
    this.runtime = runtime;
    this.entry = entry;
    this.sessions = sessions;
    this.size = entry.image_size;
  }

  // `source`: the page folder's URL (the files in its models/), or a function from a file's name
  // to its bytes (a Uint8Array).
  static async load(runtime, source, entry) {
    const fetched = async (file) => new Uint8Array(await (await fetch(new URL(`models/${file}`, source).href)).arrayBuffer());
    const bytesOf = typeof source === "function" ? async (file) => source(file) : fetched;
    const files = entry.kind === "search_start" ? { encoder: entry.encoder, generator: entry.generator } : { graph: entry.file };
    if (entry.refiner) files.refiner = entry.refiner;
    const sessions = {};
    for (const [role, file] of Object.entries(files)) sessions[role] = await session(runtime, await bytesOf(file));
    return new PageModel(runtime, entry, sessions);
  }

  // `input`: uint8 S*S, the model's input (prepare.js); `classIndex` for a class-conditional one.
  async generate(input, classIndex = 0) {
    return this.entry.kind === "search_start" ? this.searchStart(input) : this.oneShot(input, classIndex);
  }

  async oneShot(input, classIndex) {
    const { Tensor } = this.runtime.ort;
    const S = this.size;
    const feeds = { sketch: new Tensor("uint8", input.slice(), [1, S, S]) }; // a copy: run() may move it
    if (this.entry.needs_label) feeds.label = new Tensor("int64", BigInt64Array.from([BigInt(classIndex)]), [1]);
    for (const [name, draw] of Object.entries(this.entry.draws)) {
      feeds[name] = new Tensor("float32", Float32Array.from(draw.data), draw.shape);
    }
    const results = await this.sessions.graph.run(feeds);
    const outputs = {};
    for (const name of this.entry.outputs) outputs[name] = results[name].data;
    return outputs;
  }

  // The Contextual GAN's start: G(E(sketch)), the photo half of the joint image, passed with
  // the sketch through the refiner when the model has one.
  async searchStart(input) {
    const { Tensor } = this.runtime.ort;
    const S = this.size;
    const known = new Float32Array(3 * S * S);
    for (let i = 0; i < S * S; i++) known[i] = known[i + S * S] = known[i + 2 * S * S] = input[i] / 127.5 - 1;
    const { z } = await this.sessions.encoder.run({ known: new Tensor("float32", known, [1, 3, S, S]) });
    const { joint } = await this.sessions.generator.run({ z });
    if (!this.sessions.refiner) return { image: floatToRgb(joint.data, S, 2 * S, S) };
    const photoHalf = new Tensor("float32", rightHalf(joint.data, S), [1, 3, S, S]);
    const { photo } = await this.sessions.refiner.run({ photo_half: photoHalf, known: new Tensor("float32", known, [1, 3, S, S]) });
    return { image: floatToRgb(photo.data, S, S, 0) };
  }
}

// A task, not a microtask: the browser may paint a frame that is due before it runs.
export const nextTask = () =>
  new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });

// Settles once the next frame is painted: a task queued from an animation frame runs after it.
export const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => nextTask().then(resolve)));

// A grey square with a word on it (a tile with no image).
export function paintPlaceholder(canvas, text) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "rgb(238, 238, 238)";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "rgb(90, 90, 90)";
  ctx.font = `${Math.round(canvas.width / 7)}px sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, canvas.width / 2, canvas.height / 2);
}

// RGB bytes (canvas.height x canvas.width x 3) painted on the canvas, opaque.
export function paintRgb(canvas, rgb) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(canvas.width, canvas.height);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    image.data[j] = rgb[i];
    image.data[j + 1] = rgb[i + 1];
    image.data[j + 2] = rgb[i + 2];
    image.data[j + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}
