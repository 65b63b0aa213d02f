// The motion graph: the changed area (% of the frame, the highest of each second) over the last
// 10 minutes, with min_area as a dashed line, so a person can see how close ordinary scenes
// come to starting a recording when they tune the settings below.
import { camera } from "./camera.js";
import { $, canvasContext } from "./dom.js";

const WINDOW_S = 600; // the host keeps 10 minutes of levels
const LEFT = 30; // room for the y axis labels
const THRESHOLD_COLOR = "#f59e0b"; // amber in both themes

// The theme's colours (style.css switches them for dark mode), with light-theme fallbacks.
function colors() {
  const style = getComputedStyle(document.documentElement);
  const pick = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return {
    muted: pick("--muted", "#888"),
    line: pick("--line", "#ddd"),
    accent: pick("--accent", "#2563eb"),
    rec: pick("--rec", "#dc2626"),
  };
}

// Time and level to canvas pixels. The time axis covers the last 10 minutes, or only since the
// first level while the camera has run for less; the level axis keeps min_area in view.
function scale(now, width, height) {
  const oldest = camera.levels.length ? camera.levels[0][0] : now;
  const span = Math.min(WINDOW_S, Math.max(60, now - oldest));
  const bottom = height - 16;
  const threshold = Number(camera.threshold) || 0;
  const peak = Math.max(0, ...camera.levels.map((p) => p[1]));
  const top = Math.max(threshold * 2, peak * 1.15, 1);
  return {
    now, span, bottom, top, threshold,
    x: (t) => LEFT + ((t - (now - span)) / span) * (width - LEFT - 4),
    y: (v) => bottom - (Math.min(v, top) / top) * (bottom - 6),
  };
}

function drawAxes(ctx, s, c, width, height) {
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = c.muted;
  ctx.strokeStyle = c.line;
  ctx.lineWidth = 1;
  for (const v of [0, s.top / 2, s.top]) {
    ctx.beginPath(); ctx.moveTo(LEFT, s.y(v)); ctx.lineTo(width, s.y(v)); ctx.stroke();
    ctx.fillText(v < 10 ? v.toFixed(1) : v.toFixed(0), 2, s.y(v) + 4);
  }
  ctx.fillText(s.span >= 120 ? `${Math.round(s.span / 60)} min ago` : `${Math.round(s.span)} s ago`,
    LEFT, height - 3);
  ctx.textAlign = "right";
  ctx.fillText("now", width - 2, height - 3);
  ctx.textAlign = "left";
}

// A filled area under the line; seconds at or over min_area get a red dot.
function drawCurve(ctx, points, s, c) {
  ctx.beginPath();
  ctx.moveTo(s.x(points[0][0]), s.bottom);
  for (const [t, v] of points) ctx.lineTo(s.x(t), s.y(v));
  ctx.lineTo(s.x(points[points.length - 1][0]), s.bottom);
  ctx.closePath();
  ctx.globalAlpha = 0.25;
  ctx.fillStyle = c.accent;
  ctx.fill();
  ctx.globalAlpha = 1;
  ctx.beginPath();
  points.forEach(([t, v], i) => (i ? ctx.lineTo(s.x(t), s.y(v)) : ctx.moveTo(s.x(t), s.y(v))));
  ctx.strokeStyle = c.accent;
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.fillStyle = c.rec;
  for (const [t, v] of points) {
    if (v >= s.threshold && s.threshold > 0) ctx.fillRect(s.x(t) - 1, s.y(v) - 1, 3, 3);
  }
}

function drawThreshold(ctx, s, width) {
  ctx.setLineDash([5, 4]);
  ctx.strokeStyle = THRESHOLD_COLOR;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.moveTo(LEFT, s.y(s.threshold));
  ctx.lineTo(width, s.y(s.threshold));
  ctx.stroke();
  ctx.setLineDash([]);
}

export function drawLevels() {
  const area = canvasContext($("levels"));
  if (!area) return;
  const { ctx, width, height } = area;
  const c = colors();
  // the host's clock, not the browser's: the levels carry the host's timestamps
  const now = (camera.health && camera.health.time) || Date.now() / 1000;
  const s = scale(now, width, height);
  ctx.clearRect(0, 0, width, height);
  drawAxes(ctx, s, c, width, height);
  const points = camera.levels.filter((p) => p[0] >= now - s.span);
  if (points.length) {
    drawCurve(ctx, points, s, c);
  } else {
    ctx.fillStyle = c.muted;
    ctx.fillText("no motion data yet", LEFT + 8, s.bottom - 8);
  }
  if (s.threshold > 0) drawThreshold(ctx, s, width);
}
