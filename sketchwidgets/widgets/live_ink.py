"""LiveInk: a transparent <canvas> over a SketchCanvas that draws the live stroke in the browser.

Kernel-drawn ink waits for a full round trip (pointer event -> comm -> Python -> canvas
commands -> browser). The overlay strokes each segment in the page as the pointer event arrives
(mouse, touch and pen: pointer events, with pressure), and sends the points to the kernel in
batches, at most one message per animation frame. The kernel stays the source of truth: its
handlers call the SketchCanvas gesture twins, which draw the stroke on the ipycanvas layers
underneath; once the kernel has handled a stroke's release it answers ``{"type": "drawn"}`` and
the overlay drops its preview of that stroke. The eraser previews as white.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anywidget
from traitlets import CFloat, Int, Unicode

PointHandler = Callable[[float, float], Any]

_ESM = r"""
function render({ model, el }) {
  const w = model.get("width"), h = model.get("height");
  const canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = h;
  canvas.className = model.get("canvas_class");
  Object.assign(canvas.style, {width: w + "px", height: h + "px", display: "block",
    touchAction: "none", userSelect: "none", cursor: "crosshair"});
  el.appendChild(canvas);
  const ctx = canvas.getContext("2d");
  let strokes = [], current = null, queue = [], scheduled = false, nextId = 1;
  const at = (e) => { const r = canvas.getBoundingClientRect();
    return [w * (e.clientX - r.left) / r.width, h * (e.clientY - r.top) / r.height]; };
  const pen = (s) => { ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.lineWidth = s.width;
    ctx.strokeStyle = ctx.fillStyle = s.tool === "eraser" ? "white" : "black"; };
  const dot = (s, p) => { pen(s); ctx.beginPath();
    ctx.arc(p[0], p[1], s.width / 2, 0, 2 * Math.PI); ctx.fill(); };
  const line = (s, a, b) => { pen(s); ctx.beginPath(); ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]); ctx.stroke(); };
  const paint = () => { ctx.clearRect(0, 0, w, h);
    for (const s of strokes) { dot(s, s.points[0]);
      for (let i = 1; i < s.points.length; i++) line(s, s.points[i - 1], s.points[i]); } };
  const flush = () => { scheduled = false;
    if (queue.length) { model.send({type: "events", events: queue}); queue = []; } };
  const send = (event) => { queue.push(event);
    if (!scheduled) { scheduled = true; requestAnimationFrame(flush); } };
  canvas.addEventListener("pointerdown", (e) => {
    if (current || (e.pointerType === "mouse" && e.button !== 0)) return;
    canvas.setPointerCapture(e.pointerId);
    const p = at(e);
    current = {id: nextId++, pointer: e.pointerId, width: model.get("pen_width"),
               tool: model.get("tool"), points: [p]};
    strokes.push(current);
    dot(current, p);
    send(["down", p[0], p[1], e.pressure]);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!current || e.pointerId !== current.pointer) return;
    const p = at(e), pts = current.points;
    line(current, pts[pts.length - 1], p);
    pts.push(p);
    send(["move", p[0], p[1], e.pressure]);
  });
  const finish = (e) => {
    if (!current || e.pointerId !== current.pointer) return;
    send(["up", current.id]);
    current = null;
    flush();
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  model.on("msg:custom", (msg) => {
    if (msg.type !== "drawn") return;
    // The kernel's canvas commands for these strokes came first: let them paint, then drop.
    const drop = () => { strokes = strokes.filter((s) => s === current || s.id > msg.id);
                         paint(); };
    requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(drop, 30)));
  });
}
export default { render };
"""


class LiveInk(anywidget.AnyWidget):
    """Transparent overlay drawing the live stroke client-side; forwards the points to Python."""

    _esm = Unicode(_ESM).tag(sync=True)
    width = Int(256, help="Canvas width in CSS pixels.").tag(sync=True)
    height = Int(256, help="Canvas height in CSS pixels.").tag(sync=True)
    pen_width = CFloat(4.0, help="Preview brush width in canvas pixels.").tag(sync=True)
    tool = Unicode("pen", help="'pen' (black) or 'eraser' (white preview).").tag(sync=True)
    canvas_class = Unicode("", help="DOM class of the overlay <canvas>.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handlers: tuple[PointHandler, PointHandler, PointHandler] | None = None
        self.on_msg(self._on_message)

    def on_stroke(self, down: PointHandler, move: PointHandler, up: PointHandler) -> None:
        """Call ``down(x, y)``, ``move(x, y)``, ``up(x, y)`` for the browser's pointer events."""
        self._handlers = (down, move, up)

    def handle_events(self, events: Sequence[Sequence[Any]]) -> None:
        """Dispatch a batch of ``["down"|"move", x, y, pressure]`` / ``["up", id]`` events."""
        if self._handlers is None:
            return
        down, move, up = self._handlers
        for event in events:
            kind = event[0]
            if kind == "down":
                down(float(event[1]), float(event[2]))
            elif kind == "move":
                move(float(event[1]), float(event[2]))
            elif kind == "up":
                up(0.0, 0.0)
                self.send({"type": "drawn", "id": int(event[1])})

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("type") == "events":
            self.handle_events(content.get("events", []))
