// The classroom page: the drawing canvas, one tile per model, the examples and the class
// picker, wired as the notebook's SketchStudio is. Every stroke's end regenerates every tile;
// the models run in two workers that paint their own tiles (shareWithWorkers).
// window.sketchwidgets holds the hooks for tests and scripts (see the bottom of this file).

import { afterPaint, checkAgainst, loadRuntime, nextTask, PageModel, paintPlaceholder, paintRgb, takesOver, webgpuAllowed } from "./generator.js";
import { TileWorker } from "./tile_worker_client.js";
import { modelInput } from "./prepare.js";
import { DrawingCanvas } from "./sketch.js";

const EMPTY_STATUS = "draw on the canvas, or load an example";
const base = new URL("../", import.meta.url); // the page folder (this file is in assets/)
const $ = (id) => document.getElementById(id);
const api = (window.sketchwidgets = { ready: false, lastLatencyMs: {}, generation: 0, backends: {}, webgpuCheck: {}, workers: [] });
// ?webgpu=auto (the default: a hardware adapter only), on (any adapter) or off
const WEBGPU_MODE = new URLSearchParams(location.search).get("webgpu") || "auto";
const CHECK_EXAMPLES = 2; // the example sketches a WebGPU model is checked on
// ?workers=0: every model in the page's thread; 1 or 2 (the default): that many workers
const WORKERS = Math.min(2, Math.max(0, Number(new URLSearchParams(location.search).get("workers") ?? 2) || 0));

const state = { manifest: null, models: {}, tiles: {}, inputs: {}, outputs: {}, pending: null, running: null, workerOf: {} };

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function pixels(side) {
  return element("canvas", { width: side, height: side });
}

// ----- tiles ------------------------------------------------------------------------------

function buildTile(entry) {
  const S = entry.image_size;
  const seen = pixels(S);
  seen.classList.add("model-input");
  const outputs = {};
  const several = entry.outputs.length > 1;
  const parts = [element("div", { class: "seen" }, [seen, element("div", { class: "label", text: "sees" })])];
  for (const name of entry.outputs) {
    outputs[name] = pixels(S);
    outputs[name].dataset.output = name;
    const label = several ? [element("div", { class: "label", text: name })] : [];
    parts.push(element("div", { class: "output" }, [outputs[name], ...label]));
  }
  const caption = element("div", { class: "caption", text: entry.name });
  const children = [element("div", { class: "outputs" }, parts), caption];
  if (entry.note) children.push(element("div", { class: "note", text: entry.note }));
  const node = element("div", { class: "tile", "data-model": entry.name }, children);
  $("tiles").append(node);
  return { node, seen, outputs, caption };
}

function paintGrey(canvas, grey) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(canvas.width, canvas.height);
  for (let i = 0; i < grey.length; i++) {
    image.data.set([grey[i], grey[i], grey[i], 255], i * 4);
  }
  ctx.putImageData(image, 0, 0);
}


// ----- generation --------------------------------------------------------------------------

function classIndex(entry) {
  return entry.needs_label ? entry.classes.indexOf($("class").value) : 0;
}

function showEmpty() {
  for (const entry of state.order) {
    const tile = state.tiles[entry.name];
    placeholder(entry, "no sketch");
    tile.seen.getContext("2d").clearRect(0, 0, tile.seen.width, tile.seen.height);
    tile.caption.textContent = entry.name;
    delete state.inputs[entry.name];
    delete state.outputs[entry.name];
  }
  api.lastLatencyMs = {};
}

// What a model sees of `strokes`; models of the same size and pen share one preparation per
// generation (`prepared`).
function preparedFor(entry, strokes, prepared) {
  const key = JSON.stringify([entry.image_size, entry.redraw]);
  if (!prepared.has(key)) prepared.set(key, modelInput(strokes, state.manifest.canvas, entry.image_size, entry.redraw));
  return prepared.get(key);
}

// A grey tile with a word on it, painted where its canvases are (the page's thread or the worker).
function placeholder(entry, text) {
  if (entry.name in state.workerOf) state.workerOf[entry.name].placeholder(entry.name, text);
  else for (const canvas of Object.values(state.tiles[entry.name].outputs)) paintPlaceholder(canvas, text);
}

// A model in the worker: its run and its paint happen there; { painted } settles once the frame
// that shows its image is painted, with the page's latency and outputs set.
function generateInWorker(entry, input, label, strokeEnd) {
  const tile = state.tiles[entry.name];
  const sent = performance.timeOrigin + strokeEnd;
  const painted = state.workerOf[entry.name].generate(entry.name, input, label, sent).then(({ outputs, paintedAt }) => {
    state.outputs[entry.name] = outputs;
    const latency = paintedAt - sent;
    api.lastLatencyMs[entry.name] = latency;
    tile.caption.textContent = `${entry.name}: ${Math.round(latency)} ms`;
  }, (error) => showFailure(entry, error));
  return { painted };
}

async function generateTile(entry, strokes, strokeEnd, prepared) {
  const tile = state.tiles[entry.name];
  const input = preparedFor(entry, strokes, prepared);
  state.inputs[entry.name] = input;
  paintGrey(tile.seen, input);
  const label = classIndex(entry);
  if (label < 0) {
    placeholder(entry, "unknown class");
    tile.caption.textContent = `${entry.name}: unknown class`;
    return;
  }
  if (entry.name in state.workerOf) return generateInWorker(entry, input, label, strokeEnd);
  const outputs = await state.models[entry.name].generate(input, label);
  for (const [name, canvas] of Object.entries(tile.outputs)) paintRgb(canvas, outputs[name]);
  state.outputs[entry.name] = outputs;
  // timed when the frame that shows the image is painted; the next model need not wait for it
  const painted = afterPaint().then(() => {
    const latency = performance.now() - strokeEnd;
    api.lastLatencyMs[entry.name] = latency;
    tile.caption.textContent = `${entry.name}: ${Math.round(latency)} ms`;
  });
  await nextTask(); // lets a due frame show this image before the next model runs
  return { painted }; // wrapped: an async function returning a promise would wait for it
}

// One failing model must not hide the others: its tile says so, the console says why.
function showFailure(entry, error) {
  console.error(`model ${entry.name} failed`, error);
  const tile = state.tiles[entry.name];
  placeholder(entry, "error");
  tile.caption.textContent = `${entry.name}: error (see the console)`;
  delete state.outputs[entry.name];
  delete api.lastLatencyMs[entry.name];
}

// Resolves to { painted }, a promise that settles once the tile's image is painted.
async function generateOrSayWhy(entry, strokes, strokeEnd, prepared) {
  try {
    return (await generateTile(entry, strokes, strokeEnd, prepared)) ?? {};
  } catch (error) {
    showFailure(entry, error);
    return {};
  }
}

async function regenerate(strokeEnd) {
  const strokes = state.canvas.strokes;
  if (strokes.isEmpty) showEmpty();
  else {
    const painted = [];
    const prepared = new Map();
    for (const entry of state.order) painted.push((await generateOrSayWhy(entry, strokes.strokes, strokeEnd, prepared)).painted);
    await Promise.all(painted);
  }
  api.generation += 1;
  const count = strokes.strokes.length;
  $("status").textContent = count ? `${count} stroke${count === 1 ? "" : "s"} drawn; ${state.runtimeLine}` : EMPTY_STATUS;
}

// Regenerate for the latest change; a change during a generation is taken up right after it.
function requestGeneration(strokeEnd = performance.now()) {
  state.pending = strokeEnd;
  if (!state.running) {
    state.running = (async () => {
      while (state.pending !== null) {
        const started = state.pending;
        state.pending = null;
        await regenerate(started);
      }
      state.running = null;
    })();
  }
  return state.running;
}

// ----- controls ----------------------------------------------------------------------------

function fillSelect(select, names) {
  for (const name of names) select.append(element("option", { value: name, text: name }));
}

function loadExample(name) {
  const example = state.examples.find((e) => e.class === name);
  if (!example) throw new Error(`no example of ${name}`);
  $("example").value = name;
  if ([...$("class").options].some((o) => o.value === name)) $("class").value = name;
  state.canvas.strokes.set(example.sketch.strokes);
  state.canvas.redraw();
  return requestGeneration();
}

function buildControls() {
  const manifest = state.manifest;
  fillSelect($("example"), state.examples.map((e) => e.class));
  const classes = [...new Set(manifest.models.filter((m) => m.needs_label).flatMap((m) => m.classes))];
  fillSelect($("class"), classes);
  $("class-label").hidden = !classes.length;
  $("class").addEventListener("change", () => requestGeneration());
  $("load-example").addEventListener("click", () => loadExample($("example").value));
  $("undo").addEventListener("click", () => state.canvas.strokes.undo() && (state.canvas.redraw(), requestGeneration()));
  $("clear").addEventListener("click", () => {
    state.canvas.strokes.clear();
    state.canvas.redraw();
    requestGeneration();
  });
}

// Load a model and run it twice on a blank input (the first run sets the runtime up); the
// second run's time in ms.
async function loadAndTime(runtime, entry) {
  const model = (state.models[entry.name] = await PageModel.load(runtime, base, entry));
  const blank = new Uint8Array(entry.image_size ** 2).fill(255);
  await model.generate(blank);
  const start = performance.now();
  await model.generate(blank);
  return performance.now() - start;
}

// The first example sketches as the model sees them, each with its class where the model has it.
function checkInputs(entry) {
  return state.examples.slice(0, CHECK_EXAMPLES).map((example) => ({
    input: modelInput(example.sketch.strokes, state.manifest.canvas, entry.image_size, entry.redraw),
    classIndex: Math.max(0, entry.classes.indexOf(example.class)),
  }));
}

// The model on WebGPU replaces its WebAssembly self when their images agree within 2 grey
// levels on the example sketches, and it is faster (mode "on": whatever its speed).
async function tryWebgpu(gpuRuntime, entry, runMs) {
  const inputs = checkInputs(entry);
  const expected = [];
  for (const { input, classIndex } of inputs) expected.push(await state.models[entry.name].generate(input, classIndex));
  const candidate = await PageModel.load(gpuRuntime, base, entry);
  const check = await checkAgainst(candidate, inputs, expected);
  api.webgpuCheck[entry.name] = { largestDifference: check.worst, ms: check.ms, wasmMs: runMs[entry.name] };
  if (!takesOver(check, runMs[entry.name], WEBGPU_MODE)) return;
  state.models[entry.name] = candidate;
  runMs[entry.name] = check.ms;
  api.backends[entry.name] = "webgpu";
}

async function webgpuRuntime() {
  if (!(await webgpuAllowed(WEBGPU_MODE))) return null;
  try {
    return await loadRuntime(base, { webgpu: true });
  } catch (error) {
    console.warn("WebGPU runtime did not load; WebAssembly only", error);
    return null;
  }
}

function runtimeLine() {
  const onGpu = state.order.filter((entry) => api.backends[entry.name] === "webgpu").map((entry) => entry.name);
  const workers = api.workers.length;
  const version = `onnxruntime-web ${state.manifest.runtime.version}`;
  const wasm = workers ? `WebAssembly in ${workers === 1 ? "a worker" : `${workers} workers`}` : "WebAssembly";
  if (!onGpu.length) return `${version}, ${wasm}`;
  if (onGpu.length === state.order.length) return `${version}, WebGPU`;
  return `${version}, WebGPU for ${onGpu.join(", ")}, ${wasm} for the others`;
}

async function loadModels() {
  const runtime = await loadRuntime(base);
  const gpuRuntime = await webgpuRuntime();
  const runMs = {};
  for (const entry of state.manifest.models) {
    try {
      runMs[entry.name] = await loadAndTime(runtime, entry);
      api.backends[entry.name] = "wasm";
      if (gpuRuntime) await tryWebgpu(gpuRuntime, entry, runMs).catch((error) => console.warn(`${entry.name}: not on WebGPU`, error));
      state.tiles[entry.name].node.dataset.backend = api.backends[entry.name];
    } catch (error) {
      showFailure(entry, error); // the others still run
    }
  }
  return runMs;
}

// The models on WebAssembly run in two workers (tile_worker.js), shared by their run times
// (each next slowest to the worker with less work so far), and each worker paints its models'
// tiles itself on canvases handed over to it: the page's thread only draws the strokes, so two
// models run at once and each image reaches the screen as its run ends. Without workers or
// OffscreenCanvas, or with ?workers=0, every model runs in the page's thread, one at a time.
function workerLanes(runMs) {
  const onWasm = state.order.filter((entry) => api.backends[entry.name] === "wasm");
  const lanes = Array.from({ length: WORKERS }, () => []);
  const work = lanes.map(() => 0);
  for (const entry of [...onWasm].sort((a, b) => runMs[b.name] - runMs[a.name])) {
    const lane = work.indexOf(Math.min(...work));
    lanes[lane].push(entry);
    work[lane] += runMs[entry.name];
  }
  return lanes.filter((lane) => lane.length);
}

// Each lane's models loaded in a worker of its own; none moves unless every one loads.
async function startWorkers(lanes) {
  const workers = [];
  try {
    for (const lane of lanes) {
      workers.push(TileWorker.start(new URL("assets/tile_worker.js", base)));
      for (const entry of lane) await workers.at(-1).load(String(base), entry);
    }
    return workers;
  } catch (error) {
    console.warn("no workers: every model runs in the page's thread", error);
    for (const worker of workers) worker.terminate();
    return [];
  }
}

async function shareWithWorkers(runMs) {
  if (!WORKERS || typeof OffscreenCanvas === "undefined") return;
  const lanes = workerLanes(runMs);
  const workers = await startWorkers(lanes);
  for (const [i, worker] of workers.entries()) {
    for (const entry of lanes[i]) {
      const outputs = Object.entries(state.tiles[entry.name].outputs);
      await worker.attach(entry.name, Object.fromEntries(outputs.map(([name, canvas]) => [name, canvas.transferControlToOffscreen()])));
      state.workerOf[entry.name] = worker;
      state.models[entry.name] = worker.model(entry.name);
    }
  }
  // the workers' models first: their runs start at once, then the page's own run
  const inWorker = (entry) => entry.name in state.workerOf;
  state.order = [...state.order.filter(inWorker), ...state.order.filter((entry) => !inWorker(entry))];
  api.workers = lanes.slice(0, workers.length).map((lane) => state.order.filter((entry) => lane.includes(entry)).map((entry) => entry.name));
}

async function main() {
  state.manifest = await (await fetch(new URL("page.json", base))).json();
  state.examples = await (await fetch(new URL("examples.json", base))).json();
  buildControls();
  state.order = [...state.manifest.models];
  for (const entry of state.manifest.models) state.tiles[entry.name] = buildTile(entry);
  state.canvas = new DrawingCanvas($("sketch"), {
    penWidth: state.manifest.pen_width,
    onStrokeEnd: (time) => requestGeneration(time),
  });
  const runMs = await loadModels();
  // one model runs at a time: the fastest first, so each image comes as early as it can, and
  // the Contextual GAN's search start last (as the studio orders it)
  const searchLast = (entry) => (entry.kind === "search_start" ? 1 : 0);
  state.order = state.order.filter((entry) => entry.name in runMs);
  state.order.sort((a, b) => searchLast(a) - searchLast(b) || runMs[a.name] - runMs[b.name]);
  await shareWithWorkers(runMs);
  api.order = state.order.map((entry) => entry.name);
  api.runMs = runMs;
  api.backend = Object.values(api.backends).includes("webgpu") ? "webgpu" : "wasm";
  state.runtimeLine = runtimeLine();
  showEmpty();
  $("status").textContent = `${EMPTY_STATUS}; ${state.runtimeLine}`;
  api.ready = true;
}

// ----- hooks for tests and scripts ---------------------------------------------------------

const entryOf = (name) => {
  const entry = state.manifest.models.find((m) => m.name === name);
  if (!entry) throw new Error(`no model ${name} on this page`);
  return entry;
};

Object.assign(api, {
  // One stroke through [[x, y], ...] in the canvas's CSS px; resolves once every tile is painted.
  drawStroke: (points) => {
    state.canvas.drawStroke(points);
    return state.running || Promise.resolve();
  },
  loadExample,
  undo: () => (state.canvas.strokes.undo(), state.canvas.redraw(), requestGeneration()),
  clear: () => (state.canvas.strokes.clear(), state.canvas.redraw(), requestGeneration()),
  selectClass: (name) => (($("class").value = name), requestGeneration()),
  idle: () => state.running || Promise.resolve(),
  strokes: () => structuredClone(state.canvas.strokes.strokes),
  // What model `name` saw last, and what it made (plain arrays).
  modelInput: (name) => Array.from(state.inputs[name] || []),
  outputs: (name) => Object.fromEntries(Object.entries(state.outputs[name] || {}).map(([k, v]) => [k, Array.from(v)])),
  // The page's preparation of `strokes` (a Sketch's) for model `name`.
  prepare: (name, strokes) => Array.from(modelInput(strokes, state.manifest.canvas, entryOf(name).image_size, entryOf(name).redraw)),
  // Model `name` on a given input (uint8 S*S as an array) and class (index or name).
  generateFrom: async (name, input, label = 0) => {
    const entry = entryOf(name);
    const index = typeof label === "string" ? entry.classes.indexOf(label) : label;
    const outputs = await state.models[name].generate(Uint8Array.from(input), index);
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, Array.from(v)]));
  },
});

main().catch((error) => {
  api.error = String(error);
  $("status").textContent = `the page could not start: ${error}`;
});
