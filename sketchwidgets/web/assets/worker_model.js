// A page model that runs in a worker of its own (model_worker.js), with PageModel's generate().
//
//   const model = await WorkerModel.start(worker, { base, entry, webgpu });   // the page
//   const { image, edge } = await model.generate(input, classIndex);
//
// Several of them generate at once, each on its own thread; the page's thread stays free to
// draw the strokes and paint the images as they come.

export class WorkerModel {
  constructor(worker) {
    this.worker = worker;
    this.calls = new Map();
    this.nextId = 0;
    worker.onmessage = ({ data }) => this.settle(data);
    worker.onerror = (event) => this.failAll(new Error(event.message || "the model's worker failed"));
  }

  // `load`: model_worker.js's load message; resolves once the worker's model is loaded.
  static async start(worker, load) {
    const model = new WorkerModel(worker);
    model.backend = (await model.call({ load })).backend;
    return model;
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

  call(message) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message });
    });
  }

  // A copy of `input` travels to the worker; the outputs come back as PageModel's.
  generate(input, classIndex = 0) {
    return this.call({ generate: { input: input.slice(), classIndex } });
  }

  terminate() {
    this.worker.terminate();
    this.failAll(new Error("the model's worker was stopped"));
  }
}
