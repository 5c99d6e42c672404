// A worker of the page's own (model_worker.js) holding some of the page's models; each of them
// is used through a proxy with PageModel's generate(). The worker runs its models one after
// another, while the page's thread runs the others.
//
//   const lane = WorkerLane.start(new URL("assets/model_worker.js", base));
//   const model = await lane.load({ base: String(base), entry });  // model.generate(input, classIndex)

export class WorkerLane {
  constructor(worker) {
    this.worker = worker;
    this.calls = new Map();
    this.nextId = 0;
    worker.onmessage = ({ data }) => this.settle(data);
    worker.onerror = (event) => this.failAll(new Error(event.message || "the page's worker failed"));
  }

  static start(url) {
    return new WorkerLane(new Worker(url, { type: "module", name: "sketchwidgets models" }));
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

  // A model loaded in the worker (`load`: model_worker.js's load message); resolves to its proxy.
  async load(load) {
    await this.call({ load });
    const name = load.entry.name;
    return { generate: (input, classIndex = 0) => this.call({ generate: { name, input: input.slice(), classIndex } }) };
  }

  terminate() {
    this.worker.terminate();
    this.failAll(new Error("the page's worker was stopped"));
  }
}

// The models that go to the worker: the slowest first, then each next slowest to whichever lane
// (the worker or the page's thread) has less work so far, by their run times `runMs`. An
// image made in the page's thread is painted as its run ends (the frame that was due waited for
// it); one from the worker waits for the page's next frame, so the worker takes the longest runs.
export function workerShare(entries, runMs) {
  const worker = [];
  let [workerMs, pageMs] = [0, 0];
  for (const entry of [...entries].sort((a, b) => runMs[b.name] - runMs[a.name])) {
    if (workerMs <= pageMs) [worker.push(entry), (workerMs += runMs[entry.name])];
    else pageMs += runMs[entry.name];
  }
  return worker;
}
