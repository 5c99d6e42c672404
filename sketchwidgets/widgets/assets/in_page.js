// The studio's in-page generator (anywidget front end). The page's own modules are inlined
// above this file when the widget is built (sketch.js, prepare.js, generator.js, import lines
// dropped), so `modelInput`, `loadRuntimeFromBytes` and `PageModel` are in scope here.
//
// initialize: the runtime and every model from the bytes the kernel sent with the widget (no
// fetch), then the parity check: each model on the kernel's fixed inputs, the largest grey-level
// difference from the kernel's outputs sent back (`parity_diffs`); within `tolerance` the model
// runs in the page, else in the kernel. render: finds its studio around it (the drawing canvas,
// the tiles' <img>s) and, at each stroke's end on the canvas, runs every in-page model on the
// drawing (the kernel's strokes and those drawn since) and paints its tile, without the kernel.
// Where the page may use WebGPU (the `webgpu` mode, see generator.js's webgpuAllowed), it then
// asks the kernel for the WebGPU runtime and moves each in-page model there that passes the same
// parity check on it and runs faster (`backends` tells the kernel which).

const NEXT_FRAME = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
const PATH_TEXT = { page: "in the page", kernel: "kernel" };
const engines = new WeakMap(); // model -> Promise<{ models, paths, order, runMs, backends }>

const asBytes = (view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
const slugOf = (name) => name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "model";

function sharedRuntime(model) {
  // one runtime per browser page, whichever studio comes first
  const key = "__sketchwidgetsInPageRuntime";
  if (!globalThis[key]) {
    const files = model.get("runtime");
    globalThis[key] = loadRuntimeFromBytes({ module: asBytes(files.module), glue: asBytes(files.glue), wasm: asBytes(files.wasm) });
  }
  return globalThis[key];
}

// The parity check's cases: the kernel's fixed inputs and its outputs for them.
function parityCases(reference) {
  const inputs = reference.inputs.map((input) => ({ input: asBytes(input), classIndex: reference.label }));
  const expected = reference.expected.map((outputs) => Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, asBytes(v)])));
  return [inputs, expected];
}

// one model at a time, the fastest first, the Contextual GAN's search start last (as the
// classroom page orders them), so each image comes as early as it can
function sortOrder(engine) {
  const searchLast = (entry) => (entry.kind === "search_start" ? 1 : 0);
  engine.order.sort((a, b) => searchLast(a) - searchLast(b) || engine.runMs[a.name] - engine.runMs[b.name]);
}

async function start(model) {
  const runtime = await sharedRuntime(model);
  const files = model.get("files");
  const bytesOf = (file) => asBytes(files[file]);
  const models = {}, diffs = {}, paths = {}, runMs = {}, backends = {};
  for (const entry of model.get("entries")) {
    try {
      models[entry.name] = await PageModel.load(runtime, bytesOf, entry);
      const { worst, ms } = await checkAgainst(models[entry.name], ...parityCases(model.get("parity")[entry.name]));
      [diffs[entry.name], runMs[entry.name]] = [worst, ms];
    } catch (error) {
      console.error(`sketchwidgets: ${entry.name} cannot run in the page`, error);
      diffs[entry.name] = null;
    }
    const diff = diffs[entry.name];
    paths[entry.name] = diff !== null && diff <= model.get("tolerance") ? "page" : "kernel";
    if (paths[entry.name] === "page") backends[entry.name] = "wasm";
  }
  model.set("parity_diffs", diffs);
  model.set("backends", { ...backends });
  model.save_changes(); // reaches the kernel when it is free; the page decides now
  const order = model.get("entries").filter((entry) => paths[entry.name] === "page");
  const engine = { models, paths, order, runMs, backends, bytesOf };
  sortOrder(engine);
  // settles with each model's check on WebGPU ({} when not tried), once the models are placed
  engine.webgpu = upgradeToWebgpu(model, engine).catch((error) => {
    console.warn("sketchwidgets: WebGPU not used", error);
    return {};
  });
  return engine;
}

// The kernel's answer to a request for files: { role: bytes }.
function askKernel(model, type) {
  return new Promise((resolve, reject) => {
    const listener = (message, buffers) => {
      if (message?.type !== type) return;
      model.off("msg:custom", listener);
      if (message.error) reject(new Error(message.error));
      else resolve(Object.fromEntries(message.roles.map((role, i) => [role, asBytes(buffers[i])])));
    };
    model.on("msg:custom", listener);
    model.send({ type });
  });
}

// The WebGPU runtime's files (29 MB) are asked of the kernel only where the page may use them;
// the kernel answers when it is free, and the models run on WebAssembly meanwhile. A model
// moves to WebGPU when it passes the parity check there too and runs faster (mode "on":
// whatever its speed).
async function upgradeToWebgpu(model, engine) {
  const mode = model.get("webgpu");
  const checks = {};
  if (!engine.order.length || !(await webgpuAllowed(mode))) return checks;
  const runtime = await loadRuntimeFromBytes(await askKernel(model, "webgpu_runtime"), "webgpu");
  for (const entry of [...engine.order]) {
    try {
      const candidate = await PageModel.load(runtime, engine.bytesOf, entry);
      const check = await checkAgainst(candidate, ...parityCases(model.get("parity")[entry.name]));
      checks[entry.name] = { largestDifference: check.worst, ms: check.ms, wasmMs: engine.runMs[entry.name] };
      if (!takesOver(check, engine.runMs[entry.name], mode, model.get("tolerance"))) continue;
      engine.models[entry.name] = candidate;
      engine.runMs[entry.name] = check.ms;
      engine.backends[entry.name] = "webgpu";
    } catch (error) {
      console.warn(`sketchwidgets: ${entry.name} stays on WebAssembly`, error);
    }
  }
  sortOrder(engine);
  model.set("backends", { ...engine.backends });
  model.save_changes();
  return checks;
}

function initialize({ model }) {
  const engine = start(model);
  engine.catch((error) => console.error("sketchwidgets: no in-page generation", error));
  engines.set(model, engine);
}

// RGB bytes -> a PNG data URL (what an <img> shows).
function rgbUrl(rgb, side) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = side;
  paintRgb(canvas, rgb); // generator.js, inlined before this file
  return canvas.toDataURL("image/png");
}

class StudioInPage {
  constructor(model, el, engine) {
    Object.assign(this, { model, el, engine, pending: [], ended: 0, base: 0, latency: {} });
    this.queued = null; // the stroke end waiting for the running generation
    this.running = null;
  }

  // The studio around this widget, once the page has put it in place.
  async attach() {
    while (!this.el.isConnected || !this.el.closest(".sketchwidgets-studio")?.querySelector("canvas.sketchwidgets-canvas")) {
      await NEXT_FRAME();
    }
    this.root = this.el.closest(".sketchwidgets-studio");
    this.canvas = this.root.querySelector("canvas.sketchwidgets-canvas");
    if (!document.getElementById("sketch")) this.canvas.id = "sketch"; // the first studio's
    this.base = this.model.get("sketch").ended || 0;
    this.listen();
    this.model.on("change:sketch", () => this.kernelChanged());
    this.model.on("change:class_name", () => this.request());
    this.model.on("change:backends", () => this.showPaths());
  }

  listen() {
    const c = this.canvas;
    const at = (e) => {
      const r = c.getBoundingClientRect();
      return [(c.width * (e.clientX - r.left)) / r.width, (c.height * (e.clientY - r.top)) / r.height];
    };
    c.addEventListener("pointerdown", (e) => {
      if (this.current || (e.pointerType === "mouse" && e.button !== 0)) return;
      const state = this.model.get("sketch");
      this.current = { pointer: e.pointerId, stroke: { points: [at(e)], width: state.pen_width || 4, tool: state.tool || "pen" } };
    });
    c.addEventListener("pointermove", (e) => {
      if (this.current && e.pointerId === this.current.pointer) this.current.stroke.points.push(at(e));
    });
    const finish = (e) => {
      if (!this.current || e.pointerId !== this.current.pointer) return;
      this.strokeEnded(this.current.stroke);
      this.current = null;
    };
    c.addEventListener("pointerup", finish);
    c.addEventListener("pointercancel", finish);
  }

  strokeEnded(stroke) {
    this.ended += 1;
    this.pending.push({ ordinal: this.base + this.ended, stroke });
    return this.request(performance.now());
  }

  // The drawing: the kernel's strokes, then those ended here that the kernel has not had yet.
  strokes() {
    const state = this.model.get("sketch");
    this.pending = this.pending.filter((p) => p.ordinal > (state.ended || 0));
    return [...(state.strokes || []), ...this.pending.map((p) => p.stroke)];
  }

  kernelChanged() {
    if (this.model.get("sketch").edit) this.request(); // an undo, clear or example: redraw here too
  }

  request(strokeEnd = performance.now()) {
    this.queued = strokeEnd;
    if (!this.running) {
      this.running = (async () => {
        while (this.queued !== null) {
          const started = this.queued;
          this.queued = null;
          await this.generateAll(started);
        }
        this.running = null;
      })();
    }
    return this.running;
  }

  async generateAll(strokeEnd) {
    const { models, order } = await this.engine;
    const strokes = this.strokes();
    if (!strokes.some((s) => s.tool === "pen" && s.points.length)) return;
    const painted = [];
    const prepared = new Map(); // models of the same size and pen share one preparation
    for (const entry of order.filter((e) => this.seedAllows(e))) {
      try {
        painted.push((await this.generateOne(entry, models[entry.name], strokes, strokeEnd, prepared))?.painted);
      } catch (error) {
        console.error(`sketchwidgets: ${entry.name} failed in the page`, error);
      }
    }
    await Promise.all(painted);
  }

  // The page holds the draws of seed 0: another seed (a re-roll) is the kernel's.
  seedAllows(entry) {
    return !this.model.get("seeds")[entry.name];
  }

  // Resolves to { painted }, a promise that settles once the tile's image is painted.
  async generateOne(entry, pageModel, strokes, strokeEnd, prepared) {
    const label = entry.needs_label ? entry.classes.indexOf(this.model.get("class_name")) : 0;
    if (label < 0) return; // the tile says the model does not know the class (the kernel's)
    const key = JSON.stringify([entry.image_size, entry.redraw]);
    if (!prepared.has(key)) prepared.set(key, modelInput(strokes, this.model.get("canvas_side"), entry.image_size, entry.redraw));
    const input = prepared.get(key);
    const outputs = await pageModel.generate(input, label);
    const shown = [];
    for (const [output, rgb] of Object.entries(outputs)) {
      const img = this.image(entry.name, output);
      if (!img) continue;
      img.src = rgbUrl(rgb, entry.image_size);
      shown.push(img.decode().catch(() => undefined));
    }
    await Promise.all(shown);
    // timed when the frame that shows the image is painted; the next model need not wait for it
    const painted = afterPaint().then(() => {
      this.latency[entry.name] = performance.now() - strokeEnd;
      if (window.sketchwidgets.owner === this) window.sketchwidgets.lastLatencyMs[entry.name] = this.latency[entry.name];
      this.showInput(entry, input); // after the image: "what the model sees" is not on the clock
    });
    await nextTask(); // lets a due frame show this image before the next model runs
    return { painted }; // wrapped: an async function returning a promise would wait for it
  }

  showInput(entry, grey) {
    const img = this.root.querySelector(`img.sketchwidgets-model-input.sketchwidgets-model-${slugOf(entry.name)}`);
    if (!img) return;
    const rgb = new Uint8Array(grey.length * 3);
    for (let i = 0; i < grey.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey[i];
    img.src = rgbUrl(rgb, entry.image_size);
  }

  image(name, output) {
    const img = this.root.querySelector(`img.sketchwidgets-model-${slugOf(name)}.sketchwidgets-output-${output}`);
    if (img && output === "image") img.dataset.model = name;
    return img;
  }

  // Each tile says which path it takes, now (the kernel's label follows when it is free).
  async showPaths() {
    const { paths, backends } = await this.engine;
    for (const entry of this.model.get("entries")) {
      this.image(entry.name, "image");
      const label = this.root.querySelector(`.sketchwidgets-path.sketchwidgets-model-${slugOf(entry.name)}`);
      const search = entry.kind === "search_start" && paths[entry.name] === "page";
      if (label) label.textContent = search ? "in the page, then the kernel's search" : PATH_TEXT[paths[entry.name]];
    }
    const count = Object.values(paths).filter((p) => p === "page").length;
    this.el.textContent = `${count} of ${Object.keys(paths).length} models in the page (onnxruntime-web, ${runtimeText(backends)})`;
  }
}

function runtimeText(backends) {
  const onGpu = Object.keys(backends).filter((name) => backends[name] === "webgpu");
  if (!onGpu.length) return "WebAssembly";
  if (onGpu.length === Object.keys(backends).length) return "WebGPU";
  return `WebGPU for ${onGpu.join(", ")}, WebAssembly for the others`;
}

// The hooks for tests and scripts: the first studio on the page answers them.
function hooks(view) {
  const api = (window.sketchwidgets = window.sketchwidgets || { lastLatencyMs: {} });
  if (api.owner) return;
  Object.assign(api, {
    owner: view,
    lastLatencyMs: api.lastLatencyMs || {},
    // One stroke through [[x, y], ...] in the canvas's CSS px: painted here at once, and sent
    // to the kernel (which draws its ink when it is free). Resolves once every tile is painted.
    drawStroke: (points) => {
      const state = view.model.get("sketch");
      view.model.send({ type: "stroke", points });
      return view.strokeEnded({ points: points.map((p) => [p[0], p[1]]), width: state.pen_width || 4, tool: "pen" });
    },
    idle: () => view.running || Promise.resolve(),
    paths: async () => (await view.engine).paths,
    backends: async () => ({ ...(await view.engine).backends }),
    // each in-page model's check on WebGPU, once done ({} where the page does not try it)
    webgpu: async () => (await view.engine).webgpu,
    ready: view.engine.then(() => true),
  });
}

// The widget's element is put in the studio after render returns: attach once it is there.
function render({ model, el }) {
  el.classList.add("sketchwidgets-in-page");
  el.textContent = "loading the models into the page...";
  if (!engines.has(model)) engines.set(model, start(model));
  const view = new StudioInPage(model, el, engines.get(model));
  view
    .attach()
    .then(() => (hooks(view), view.showPaths()))
    .catch((error) => (el.textContent = `in-page generation failed: ${error}`));
}

export default { initialize, render };
