// The page's side of tile_worker.js: calls to the worker as promises.
//
//   const worker = TileWorker.start(new URL("assets/tile_worker.js", base));
//   await worker.load(base, entry);                                  // the model, then its tile:
//   await worker.attach(entry.name, { image: canvas.transferControlToOffscreen() });
//   const { outputs, paintedAt } = await worker.generate(name, input, classIndex, strokeEnd);
//   const model = worker.model(name);   // PageModel's generate(), nothing painted

export class TileWorker {
  constructor(worker) {
    this.worker = worker;
    this.calls = new Map();
    this.nextId = 0;
    worker.onmessage = ({ data }) => this.settle(data);
    worker.onerror = (event) => this.failAll(new Error(event.message || "the page's worker failed"));
  }

  static start(url) {
    return new TileWorker(new Worker(url, { type: "module", name: "sketchwidgets tiles" }));
  }

  settle({ id, result, error }) {
    const call = this.calls.get(id);
    this.calls.delete(id);
    if (error) call.reject(new Error(error));
    else call.resolve(result);
  }

  failAll(error) {
    for (const call of this.calls.values()) call.reject(error);
    this.calls.clear();
  }

  call(message, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }

  load(base, entry) {
    return this.call({ load: { base, entry } });
  }

  attach(name, canvases) {
    return this.call({ attach: { name, canvases } }, Object.values(canvases));
  }

  placeholder(name, text) {
    return this.call({ placeholder: { name, text } });
  }

  generate(name, input, classIndex, strokeEnd) {
    return this.call({ generate: { name, input: input.slice(), classIndex, strokeEnd } });
  }

  model(name) {
    return { generate: async (input, classIndex = 0) => (await this.generate(name, input, classIndex)).outputs };
  }

  terminate() {
    this.worker.terminate();
    this.failAll(new Error("the page's worker was stopped"));
  }
}
