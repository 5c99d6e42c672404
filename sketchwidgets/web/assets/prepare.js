// What the model sees: the drawing at the model's side, prepared as SketchModel.prepare does.
// The Python normaliser (sketchwidgets/drawing/normaliser.py) leaves a drawing whose lines
// already look like the training sketches' as it is, merely area-resized; the page's one pen
// (4 px, black) draws such lines for every shipped model, which the page builder checks
// (page_models.pen_in_style), so the page area-resizes: its strokes drawn at the canvas's
// resolution, area-averaged down (`redraw` null). For a model whose training lines the pen
// does not match, the builder gives `redraw`: the normaliser would find the drawing's centre
// lines and redraw them at the training width and grey; the page has the centre lines already
// (its strokes) and redraws them with that pen at 4x the model's side, area-averaged.

import { paintStroke } from "./sketch.js";

const SUPERSAMPLE = 4;
// The Python rasteriser's (OpenCV's) anti-aliased lines come out about 12% wider than a browser
// canvas's of the same width: the width that brings the page's input closest to model_input's
// on the example sketches (docs/page.md).
const RASTER_WIDTH = 1.12;

function surface(side) {
  if (typeof OffscreenCanvas !== "undefined") return new OffscreenCanvas(side, side);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = side;
  return canvas;
}

// Area-average a side*factor square RGBA image down to side x side grey (uint8).
function areaGrey(rgba, side, factor) {
  const out = new Uint8Array(side * side);
  const big = side * factor;
  const count = factor * factor;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let sum = 0;
      for (let dy = 0; dy < factor; dy++) {
        let i = ((y * factor + dy) * big + x * factor) * 4;
        for (let dx = 0; dx < factor; dx++, i += 4) sum += rgba[i]; // red = grey here
      }
      out[y * side + x] = Math.round(sum / count);
    }
  }
  return out;
}

// uint8 size*size, dark ink on white (flipped for a model trained on light lines).
export function modelInput(strokes, canvasSide, size, redraw) {
  const side = size * (redraw ? SUPERSAMPLE : Math.max(1, Math.round(canvasSide / size)));
  const scale = side / canvasSide;
  const canvas = surface(side);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, side, side);
  const grey = redraw ? Math.round(redraw.grey) : 0;
  const colour = `rgb(${grey}, ${grey}, ${grey})`;
  for (const stroke of strokes) {
    const width = redraw ? redraw.width * SUPERSAMPLE : stroke.width * scale * RASTER_WIDTH;
    paintStroke(ctx, stroke, scale, width, colour);
  }
  const grey8 = areaGrey(ctx.getImageData(0, 0, side, side).data, size, side / size);
  if (redraw && !redraw.dark_on_light) for (let i = 0; i < grey8.length; i++) grey8[i] = 255 - grey8[i];
  return grey8;
}
