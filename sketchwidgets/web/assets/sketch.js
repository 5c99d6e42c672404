// The drawing: a stroke list with undo (the page's Sketch), drawn on a canvas as the
// SketchCanvas draws it (black pen, round caps and joins), fed by pointer events (mouse, touch,
// pen). Points are in the canvas's CSS pixels.

export class Strokes {
  constructor() {
    this.strokes = [];
    this.history = []; // earlier stroke lists: undo reverts one stroke or one clear
    this.current = null;
  }

  begin(x, y, width) {
    this.current = { points: [[x, y]], width, tool: "pen" };
  }

  extend(x, y) {
    const last = this.current.points[this.current.points.length - 1];
    if (last[0] !== x || last[1] !== y) this.current.points.push([x, y]);
  }

  end() {
    if (!this.current) return false;
    this.history.push(this.strokes);
    this.strokes = [...this.strokes, this.current];
    this.current = null;
    return true;
  }

  set(strokes) {
    this.history.push(this.strokes);
    this.strokes = strokes.map((s) => ({ points: s.points, width: s.width, tool: s.tool || "pen" }));
  }

  clear() {
    if (this.strokes.length) this.set([]);
  }

  undo() {
    if (!this.history.length) return false;
    this.strokes = this.history.pop();
    return true;
  }

  get isEmpty() {
    return !this.strokes.some((s) => s.tool === "pen" && s.points.length);
  }
}

// One stroke on a 2D context, scaled by `scale`, at `width` (already scaled) in `colour`.
export function paintStroke(ctx, stroke, scale, width, colour) {
  const points = stroke.points;
  if (!points.length) return;
  ctx.save();
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.lineWidth = width;
  ctx.strokeStyle = ctx.fillStyle = stroke.tool === "eraser" ? "#ffffff" : colour;
  ctx.beginPath();
  ctx.arc(points[0][0] * scale, points[0][1] * scale, width / 2, 0, 2 * Math.PI);
  ctx.fill();
  if (points.length > 1) {
    ctx.beginPath();
    ctx.moveTo(points[0][0] * scale, points[0][1] * scale);
    for (const [x, y] of points.slice(1)) ctx.lineTo(x * scale, y * scale);
    ctx.stroke();
  }
  ctx.restore();
}

// The canvas the user draws on: pointer events call the stroke twins, `onStrokeEnd` follows.
export class DrawingCanvas {
  constructor(canvas, { penWidth, onStrokeEnd }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.penWidth = penWidth;
    this.onStrokeEnd = onStrokeEnd;
    this.strokes = new Strokes();
    this.redraw();
    this.listen();
  }

  point(event) {
    const c = this.canvas;
    const box = c.getBoundingClientRect(); // the border box: the drawing starts inside the border
    const scale = c.width / c.clientWidth; // CSS px -> canvas px (equal on this page)
    return [(event.clientX - box.left - c.clientLeft) * scale, (event.clientY - box.top - c.clientTop) * scale];
  }

  listen() {
    const c = this.canvas;
    c.style.touchAction = "none"; // a finger draws instead of scrolling the page
    c.addEventListener("pointerdown", (e) => {
      c.setPointerCapture(e.pointerId);
      this.begin(...this.point(e));
    });
    c.addEventListener("pointermove", (e) => {
      if (this.strokes.current) this.extend(...this.point(e));
    });
    for (const type of ["pointerup", "pointercancel"]) {
      c.addEventListener(type, () => this.end());
    }
  }

  begin(x, y) {
    this.strokes.begin(x, y, this.penWidth);
    paintStroke(this.ctx, this.strokes.current, 1, this.penWidth, "#000000");
  }

  extend(x, y) {
    const points = this.strokes.current.points;
    const [x0, y0] = points[points.length - 1];
    this.strokes.extend(x, y);
    this.ctx.save();
    this.ctx.lineCap = this.ctx.lineJoin = "round";
    this.ctx.lineWidth = this.penWidth;
    this.ctx.strokeStyle = "#000000";
    this.ctx.beginPath();
    this.ctx.moveTo(x0, y0);
    this.ctx.lineTo(x, y);
    this.ctx.stroke();
    this.ctx.restore();
  }

  end() {
    if (this.strokes.end()) this.onStrokeEnd(performance.now());
  }

  // Programmatic twins of the gestures.
  drawStroke(points) {
    if (!points.length) return;
    this.begin(...points[0]);
    for (const p of points.slice(1)) this.extend(...p);
    this.end();
  }

  redraw() {
    const { ctx, canvas } = this;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const scale = 1;
    for (const s of this.strokes.strokes) paintStroke(ctx, s, scale, s.width * scale, "#000000");
  }
}
