// A worker of the page's: it runs some of the page's models and paints their tiles itself, on
// canvases the page handed over (OffscreenCanvas), so that their images reach the screen without
// waiting for the page's thread; the page runs two such workers side by side (page.js,
// shareWithWorkers). Messages, each answered { id, result } or { id, error }:
//   { id, load: { base, entry } }             a model from the page folder
//   { id, attach: { name, canvases } }        its tile's output canvases ({ output:
//                                             OffscreenCanvas }, transferred)
//   { id, placeholder: { name, text } }       a grey tile with a word on it
//   { id, generate: { name, input, classIndex, strokeEnd } }
//       PageModel.generate's arguments; with `strokeEnd` (ms since the epoch, as
//       performance.timeOrigin + performance.now()) the tile is painted and the answer says
//       when the frame that shows it was: { outputs, paintedAt }; without, { outputs } only.

import { afterPaint, loadRuntime, PageModel, paintPlaceholder, paintRgb } from "./generator.js";

let runtime = null;
const models = {};
const canvases = {};

const now = () => performance.timeOrigin + performance.now();

async function load({ base, entry }) {
  runtime ||= loadRuntime(base);
  models[entry.name] = await PageModel.load(await runtime, base, entry);
  return null;
}

async function generate({ name, input, classIndex, strokeEnd }) {
  const outputs = await models[name].generate(input, classIndex);
  if (strokeEnd === undefined) return { outputs };
  for (const [output, canvas] of Object.entries(canvases[name])) paintRgb(canvas, outputs[output]);
  await afterPaint(); // the worker's own next frame, as the page's thread reads its own
  return { outputs, paintedAt: now() };
}

async function answer(message) {
  if (message.load) return load(message.load);
  if (message.attach) {
    canvases[message.attach.name] = message.attach.canvases;
    return null;
  }
  if (message.placeholder) {
    const { name, text } = message.placeholder;
    for (const canvas of Object.values(canvases[name])) paintPlaceholder(canvas, text);
    return null;
  }
  return generate(message.generate);
}

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ id: data.id, result: await answer(data) }); // copied: a few KB
  } catch (error) {
    self.postMessage({ id: data.id, error: String((error && error.stack) || error) });
  }
};
