// What the model sees: the drawing's strokes redrawn at the model's side, in its training
// sketches' line style. The Python normaliser (sketchwidgets/drawing/normaliser.py) finds the
// centre lines of a raster drawing and redraws them at the training width and grey; the page
// has the centre lines already (its strokes), so it redraws them directly: every pen stroke at
// `redraw.width` model pixels in `redraw.grey`, drawn at 4x and area-averaged (as the Python
// rasteriser anti-aliases). docs/page.md measures how far this is from the normaliser.
// Without `redraw` (a model without line statistics) the canvas is merely area-resized.

import { paintStroke } from "./sketch.js";

const SUPERSAMPLE = 4;

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
  const side = size * SUPERSAMPLE;
  const scale = side / canvasSide;
  const canvas = surface(side);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, side, side);
  const grey = redraw ? Math.round(redraw.grey) : 0;
  const colour = `rgb(${grey}, ${grey}, ${grey})`;
  for (const stroke of strokes) {
    const width = redraw ? redraw.width * SUPERSAMPLE : stroke.width * scale;
    paintStroke(ctx, stroke, scale, width, colour);
  }
  const grey8 = areaGrey(ctx.getImageData(0, 0, side, side).data, size, SUPERSAMPLE);
  if (redraw && !redraw.dark_on_light) for (let i = 0; i < grey8.length; i++) grey8[i] = 255 - grey8[i];
  return grey8;
}
