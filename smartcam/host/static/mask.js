// The mask editor: polygons drawn on a snapshot, areas the motion detector ignores. The mask
// is the settings form's `mask` text ("x,y x,y x,y; ..." in percent of the frame), so drawing
// and typing edit the same value and Save settings saves it like any other field.
import { $, canvasContext, fitFrame } from "./dom.js";

const CLOSE_PX = 14; // a tap this near the first point closes the shape (a fingertip's reach)
const MASK_FILL = "rgba(220, 38, 38, 0.35)"; // red: what the detector will not see
const MASK_EDGE = "#dc2626";
const DRAWING = "#facc15"; // yellow: the shape being drawn, not part of the mask yet

let mask = []; // polygons: arrays of [x, y] in percent
let drawing = []; // the polygon being drawn

function parseMask(text) {
  const polygons = [];
  for (const part of text.split(";")) {
    const points = part.trim().replace(/\s*,\s*/g, ",").split(/\s+/).filter(Boolean)
      .map((p) => p.split(",").map(Number))
      .filter((p) => p.length === 2 && p.every((n) => Number.isFinite(n)));
    if (points.length >= 3) polygons.push(points); // fewer points enclose nothing
  }
  return polygons;
}

function formatMask(polygons) {
  const num = (n) => String(Math.round(n * 10) / 10); // a tenth of a percent is plenty
  return polygons.map((poly) => poly.map(([x, y]) => `${num(x)},${num(y)}`).join(" ")).join("; ");
}

function maskInput() {
  return document.querySelector('#settings input[data-key="mask"]');
}

// A drawn change goes into the form's text field, marked changed like a typed one.
function setMask(polygons) {
  mask = polygons;
  const input = maskInput();
  if (input) {
    input.value = formatMask(polygons);
    input.classList.toggle("changed", input.value !== input.dataset.original);
  }
  drawMask();
}

function tracePath(ctx, points, px) {
  ctx.beginPath();
  points.forEach((p, i) => (i ? ctx.lineTo(...px(p)) : ctx.moveTo(...px(p))));
}

export function drawMask() {
  const area = canvasContext($("mask-canvas"));
  if (!area) return;
  const { ctx, width: w, height: h } = area;
  ctx.clearRect(0, 0, w, h);
  const px = ([x, y]) => [(x / 100) * w, (y / 100) * h];
  for (const poly of mask) {
    tracePath(ctx, poly, px);
    ctx.closePath();
    ctx.fillStyle = MASK_FILL;
    ctx.fill();
    ctx.strokeStyle = MASK_EDGE;
    ctx.lineWidth = 2;
    ctx.stroke();
  }
  if (!drawing.length) return;
  tracePath(ctx, drawing, px);
  ctx.strokeStyle = DRAWING;
  ctx.lineWidth = 2;
  ctx.stroke();
  for (const p of drawing) {
    const [x, y] = px(p);
    ctx.beginPath();
    ctx.arc(x, y, 5, 0, 2 * Math.PI);
    ctx.fillStyle = DRAWING;
    ctx.fill();
  }
}

// The settings form's mask text was typed in: show it; a shape being drawn stays.
export function showMaskText(text) {
  mask = parseMask(text);
  drawMask();
}

// The settings were (re)loaded or saved: show the host's mask and drop any unfinished shape.
export function resetMask(text) {
  mask = parseMask(text);
  drawing = [];
  drawMask();
}

function finishShape() {
  if (drawing.length >= 3) setMask([...mask, drawing]);
  drawing = [];
  drawMask();
}

// A tap adds a point (in percent of the picture, so it fits any frame size), or closes the
// shape when it lands on the first point.
function tap(canvas, e) {
  const box = canvas.getBoundingClientRect();
  const x = Math.max(0, Math.min(100, ((e.clientX - box.left) / box.width) * 100));
  const y = Math.max(0, Math.min(100, ((e.clientY - box.top) / box.height) * 100));
  const first = drawing[0];
  if (first && drawing.length >= 3) {
    const dx = ((first[0] - x) / 100) * box.width;
    const dy = ((first[1] - y) / 100) * box.height;
    if (Math.hypot(dx, dy) < CLOSE_PX) { finishShape(); return; }
  }
  drawing.push([x, y]);
  drawMask();
}

// A fresh picture to draw on (the URL changes so no cache serves an old one).
export function loadSnapshot() {
  $("mask-image").src = `/snapshot.jpg?t=${Date.now()}`;
}

export function setupMask() {
  const canvas = $("mask-canvas");
  // pointerdown, not click: one handler for mouse, pen and touch, without the tap delay
  canvas.addEventListener("pointerdown", (e) => tap(canvas, e));
  $("mask-finish").addEventListener("click", finishShape);
  $("mask-undo").addEventListener("click", () => { drawing.pop(); drawMask(); });
  $("mask-delete").addEventListener("click", () => setMask(mask.slice(0, -1)));
  $("mask-clear").addEventListener("click", () => { drawing = []; setMask([]); });
  $("mask-snapshot").addEventListener("click", loadSnapshot);
  $("mask-image").addEventListener("load", () => {
    fitFrame($("mask-image"));
    drawMask();
  });
}
