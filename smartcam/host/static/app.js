// smartcam: the camera's page. Plain JavaScript, no framework, no build step, works offline.
// Polls /api/v1/health and /api/v1/status every 2 s and the event list every 5 s.
"use strict";

const API = "/api/v1/";
const POLL_MS = 2000;
const EVENTS_MS = 5000;
const $ = (id) => document.getElementById(id);

const page = {
  health: null,
  status: null,
  levels: [],
  threshold: 0.5,
  hostDown: false,
  events: new Map(), // event id -> its <li>
  next: null, // cursor of the next (older) page
  settings: null,
  mask: [], // polygons: arrays of [x, y] in percent
  drawing: [], // the polygon being drawn
};

// ---- small helpers -------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

async function api(path, options) {
  const response = await fetch(API + path, Object.assign({ cache: "no-store" }, options));
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = { error: `${response.status} ${response.statusText}` };
  }
  if (!response.ok) {
    const error = new Error((data && data.error) || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"]; // of 1024, as smartcam.conf counts sizes
  let i = 0;
  n = Number(n);
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n < 10 && i ? 1 : 0)} ${units[i]}`;
}

function duration(seconds) {
  seconds = Math.round(Number(seconds) || 0);
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${seconds % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} days`;
}

function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso || "");
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86400000);
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (date.toDateString() === today.toDateString()) return `Today ${time}`;
  if (date.toDateString() === yesterday.toDateString()) return `Yesterday ${time}`;
  return `${date.toLocaleDateString()} ${time}`;
}

function ago(unix) {
  if (!unix) return "never";
  const t = typeof unix === "number" ? unix * 1000 : Date.parse(unix);
  if (Number.isNaN(t)) return String(unix);
  return `${duration((Date.now() - t) / 1000)} ago`;
}

// ---- state at a glance ---------------------------------------------------------------------

function renderState() {
  const pill = $("state");
  const text = $("state-text");
  const h = page.health;
  const s = page.status || (h && h.camera_status);
  let kind = "unknown";
  let label = "Connecting…";
  if (page.hostDown) {
    kind = "bad"; label = "Camera page not answering";
  } else if (h && !h.camera_connected) {
    kind = "bad"; label = "Camera offline";
  } else if (s && s.state === "recording") {
    kind = "rec"; label = `Recording (${(s.clip && s.clip.cause) || "motion"})`;
  } else if (h && !h.ok) {
    kind = "warn"; label = "Needs attention";
  } else if (h && h.problems.length) {
    kind = "warn"; label = "Watching · see notes";
  } else if (h) {
    kind = "ok"; label = "Watching";
  }
  pill.className = `pill ${kind}`;
  text.textContent = label;
  $("rec-badge").hidden = !(s && s.state === "recording" && h && h.camera_connected);
  $("record").disabled = !(h && h.camera_connected) || page.hostDown;

  const overlay = $("live-overlay");
  if (page.hostDown) {
    overlay.hidden = false;
    overlay.textContent = "The camera's web service is not answering. Is it rebooting?";
  } else if (h && !h.camera_connected) {
    overlay.hidden = false;
    overlay.textContent = "The camera process is not answering. It restarts by itself; " +
      "if this lasts, check the camera's log.";
  } else if (live.failed) {
    overlay.hidden = false;
    overlay.textContent = "Waiting for a picture…";
  } else {
    overlay.hidden = true;
  }

  const motion = $("motion-text");
  if (!s || (h && !h.camera_connected)) {
    motion.textContent = "No data from the camera.";
  } else if (s.state === "recording") {
    const why = (s.clip && s.clip.cause) || "motion";
    motion.textContent = `Recording now because of ${why === "manual" ? "Record now" : why}` +
      (s.motion ? " — motion in view." : ".");
  } else if (s.motion) {
    motion.textContent = "Motion in view.";
  } else {
    motion.textContent = `Idle — no motion (${Number(s.score).toFixed(2)} % changed).`;
  }
}

function renderBanners() {
  const box = $("banners");
  box.textContent = "";
  if (page.hostDown) {
    box.append(el("div", { class: "banner error" },
      el("b", { text: "The camera's web service is not answering." }),
      "The page keeps trying. If the camera was just powered on, wait a minute."));
    return;
  }
  for (const problem of (page.health && page.health.problems) || []) {
    box.append(el("div", { class: `banner ${problem.level}`, text: problem.message }));
  }
}

function fact(dl, name, ...value) {
  dl.append(el("dt", { text: name }), el("dd", {}, ...value));
}

function yesNo(ok, yes, no) {
  return el("span", { class: ok ? "good" : "badtext", text: ok ? yes : no });
}

function renderHealth() {
  const h = page.health;
  const dl = $("health");
  dl.textContent = "";
  if (!h) return;
  const cam = h.camera_status;
  fact(dl, "Camera", h.camera_connected
    ? yesNo(true, `running${cam ? ` · ${duration(cam.uptime)}` : ""}`, "")
    : yesNo(false, "", "not answering"));
  if (cam) {
    fact(dl, "Pre-roll", `${Number(cam.preroll_seconds || 0).toFixed(1)} s in memory`);
  }
  const st = h.storage;
  if (st) {
    let nas;
    if (st.nas_mounted === false) nas = yesNo(false, "", "not mounted");
    else if (st.nas_writable === false) nas = yesNo(false, "", "mounted, not writable");
    else nas = yesNo(true, `ok · ${bytes(st.nas_free_bytes)} free`, "");
    fact(dl, "NAS", nas, el("div", { class: "muted small", text: st.nas_path || "" }));
    const waiting = Number(st.backlog_clips || 0);
    fact(dl, "Waiting", el("span", { class: waiting > 5 ? "warntext" : "",
      text: `${waiting} clip${waiting === 1 ? "" : "s"} (${bytes(st.backlog_bytes)})` }));
    const used = Number(st.spool_used_bytes || 0);
    const budget = Number(st.spool_budget_bytes || 0);
    const share = budget ? Math.min(100, (100 * used) / budget) : 0;
    const fill = el("span");
    fill.style.width = `${share.toFixed(1)}%`; // CSSOM, not a style attribute: the CSP forbids those
    const bar = el("div", { class: "bar" }, fill);
    fact(dl, "Spool", `${bytes(used)} of ${bytes(budget)}`, bar);
    const uploaded = Number(st.uploaded || 0);
    fact(dl, "Uploaded", uploaded ? `${uploaded} · last ${ago(st.last_upload)}` : "none yet");
    if (st.last_error) fact(dl, "Upload error", el("span", { class: "badtext", text: st.last_error }));
  } else {
    fact(dl, "Storage", el("span", { class: "badtext", text: "unknown" }));
  }
  if (h.cpu_temperature !== null && h.cpu_temperature !== undefined) {
    const hot = h.cpu_temperature >= 80;
    fact(dl, "CPU", el("span", { class: hot ? "badtext" : "", text: `${h.cpu_temperature.toFixed(1)} °C` }));
  }
  fact(dl, "Host up", duration(h.uptime));
  fact(dl, "Version", h.version);
}

// ---- motion level graph ----------------------------------------------------------------------

function drawLevels() {
  const canvas = $("levels");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const style = getComputedStyle(document.documentElement);
  const muted = style.getPropertyValue("--muted").trim() || "#888";
  const line = style.getPropertyValue("--line").trim() || "#ddd";
  const accent = style.getPropertyValue("--accent").trim() || "#2563eb";
  const rec = style.getPropertyValue("--rec").trim() || "#dc2626";
  const now = (page.health && page.health.time) || Date.now() / 1000;
  // the last 10 minutes, or since the first level when the camera has run for less
  const oldest = page.levels.length ? page.levels[0][0] : now;
  const span = Math.min(600, Math.max(60, now - oldest));
  const left = 30;
  const bottom = height - 16;
  const threshold = Number(page.threshold) || 0;
  const peak = Math.max(0, ...page.levels.map((p) => p[1]));
  const top = Math.max(threshold * 2, peak * 1.15, 1);
  const x = (t) => left + ((t - (now - span)) / span) * (width - left - 4);
  const y = (v) => bottom - (Math.min(v, top) / top) * (bottom - 6);

  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = muted;
  ctx.strokeStyle = line;
  ctx.lineWidth = 1;
  for (const v of [0, top / 2, top]) {
    ctx.beginPath(); ctx.moveTo(left, y(v)); ctx.lineTo(width, y(v)); ctx.stroke();
    ctx.fillText(v < 10 ? v.toFixed(1) : v.toFixed(0), 2, y(v) + 4);
  }
  ctx.fillText(span >= 120 ? `${Math.round(span / 60)} min ago` : `${Math.round(span)} s ago`,
    left, height - 3);
  ctx.textAlign = "right";
  ctx.fillText("now", width - 2, height - 3);
  ctx.textAlign = "left";

  const points = page.levels.filter((p) => p[0] >= now - span);
  if (points.length) {
    ctx.beginPath();
    ctx.moveTo(x(points[0][0]), bottom);
    for (const [t, v] of points) ctx.lineTo(x(t), y(v));
    ctx.lineTo(x(points[points.length - 1][0]), bottom);
    ctx.closePath();
    ctx.globalAlpha = 0.25;
    ctx.fillStyle = accent;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.beginPath();
    points.forEach(([t, v], i) => (i ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
    ctx.strokeStyle = accent;
    ctx.lineWidth = 1.5;
    ctx.stroke();
    ctx.fillStyle = rec;
    for (const [t, v] of points) if (v >= threshold && threshold > 0) ctx.fillRect(x(t) - 1, y(v) - 1, 3, 3);
  } else {
    ctx.fillStyle = muted;
    ctx.fillText("no motion data yet", left + 8, bottom - 8);
  }
  if (threshold > 0) {
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = "#f59e0b";
    ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(left, y(threshold)); ctx.lineTo(width, y(threshold)); ctx.stroke();
    ctx.setLineDash([]);
  }
}

// ---- polling ---------------------------------------------------------------------------------

async function poll() {
  try {
    page.health = await api("health");
    page.hostDown = false;
    document.title = `${page.health.title} · smartcam`;
    $("title").textContent = page.health.title;
    $("subtitle").textContent = `group ${page.health.group}`;
    $("footer-version").textContent = `smartcam ${page.health.version}`;
    if (page.health.camera_connected) {
      try {
        const data = await api("status");
        page.status = data.status;
        page.levels = data.levels;
        page.threshold = data.threshold;
      } catch (err) {
        page.status = null;
      }
    } else {
      page.status = null;
    }
    live.ensure();
    fitFrame($("live"));
  } catch (err) {
    page.hostDown = true;
  }
  renderState();
  renderBanners();
  renderHealth();
  drawLevels();
}

function every(ms, fn) {
  const tick = async () => {
    if (!document.hidden) {
      try { await fn(); } catch (err) { console.warn(err); }
    }
    setTimeout(tick, ms);
  };
  tick();
}

// ---- live view -------------------------------------------------------------------------------

const live = {
  failed: false,
  started: false,
  retry: null,
  start() {
    const img = $("live");
    this.started = true;
    this.failed = false;
    img.src = `/live.mjpg?t=${Date.now()}`;
  },
  stop() {
    this.started = false;
    $("live").removeAttribute("src");
  },
  ensure() {
    if (!this.started && !document.hidden && page.health && page.health.camera_connected) this.start();
  },
};

function setupLive() {
  const img = $("live");
  img.addEventListener("error", () => {
    live.failed = true;
    live.started = false;
    renderState();
    clearTimeout(live.retry);
    live.retry = setTimeout(() => live.ensure(), 3000);
  });
  img.addEventListener("load", () => { live.failed = false; renderState(); });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) live.stop(); else { live.ensure(); poll(); }
  });
}

// ---- record now ------------------------------------------------------------------------------

async function recordNow() {
  const button = $("record");
  const note = $("record-note");
  button.disabled = true;
  note.className = "note";
  note.textContent = "Starting…";
  try {
    const data = await api("record", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
    });
    note.className = "note ok";
    note.textContent = `Recording (event ${data.event}). It appears under Recent events when finished.`;
    setTimeout(refreshEvents, 1500);
    setTimeout(() => { if (note.textContent.includes(data.event)) note.textContent = ""; }, 60000);
  } catch (err) {
    note.className = "note bad";
    note.textContent = `Could not record: ${err.message}`;
  } finally {
    setTimeout(() => { button.disabled = false; }, 1000);
    poll();
  }
}

// ---- events ----------------------------------------------------------------------------------

function eventQuery(cursor) {
  const params = new URLSearchParams({ limit: "24" });
  if ($("filter-day").value) params.set("day", $("filter-day").value);
  if ($("filter-cause").value) params.set("cause", $("filter-cause").value);
  if (cursor) params.set("cursor", cursor);
  return `events?${params}`;
}

function eventItem(ev) {
  const li = el("li", { class: "event", tabindex: "0", "data-event": ev.event });
  const thumb = el("div", { class: "thumb" },
    el("img", { src: ev.urls.thumbnail, alt: `Clip ${ev.event}`, loading: "lazy" }),
    el("div", { class: "play", text: "▶" }));
  const tags = el("div", {},
    el("span", { class: `tag ${ev.cause}`, text: ev.cause || "?" }),
    ev.stored === "spool" ? el("span", { class: "tag spool", text: "waiting for upload" }) : null,
    ev.interrupted ? el("span", { class: "tag", text: "interrupted" }) : null);
  const details = [duration(ev.duration)];
  if (ev.motion_peak) details.push(`peak ${Number(ev.motion_peak).toFixed(1)} %`);
  if (ev.part > 1) details.push(`part ${ev.part}`);
  li.append(thumb, el("div", { class: "meta" },
    el("div", { class: "when", text: when(ev.start) }),
    el("div", { class: "muted", text: details.join(" · ") }), tags));
  li.addEventListener("click", () => play(ev, li));
  li.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") play(ev, li); });
  li.dataset.stored = ev.stored;
  return li;
}

function play(ev, li) {
  const video = $("video");
  for (const item of document.querySelectorAll(".event.playing")) item.classList.remove("playing");
  li.classList.add("playing");
  $("player").hidden = false;
  $("player-info").textContent = `${when(ev.start)} · ${ev.cause} · ${duration(ev.duration)}`;
  $("player-download").href = ev.urls.clip;
  $("player-download").setAttribute("download", ev.video || `${ev.event}.mp4`);
  video.src = ev.urls.clip;
  video.muted = true;
  video.play().catch(() => {});
  $("player").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

function showEvents(list, append) {
  const ul = $("events");
  if (!append) {
    ul.textContent = "";
    page.events.clear();
  }
  for (const ev of list) {
    if (page.events.has(ev.event)) continue;
    const li = eventItem(ev);
    page.events.set(ev.event, li);
    ul.append(li);
  }
  $("events-empty").hidden = page.events.size > 0;
}

async function loadEvents() {
  const data = await api(eventQuery(null));
  showEvents(data.events, false);
  page.next = data.next;
  $("more").hidden = !page.next;
}

async function refreshEvents() {
  // New clips go on top; clips already shown keep their place (and "waiting" turns into NAS).
  const data = await api(eventQuery(null));
  const ul = $("events");
  const fresh = [];
  for (const ev of data.events) {
    const old = page.events.get(ev.event);
    if (!old) {
      fresh.push(ev);
    } else if (old.dataset.stored !== ev.stored) {
      const li = eventItem(ev);
      if (old.classList.contains("playing")) li.classList.add("playing");
      old.replaceWith(li);
      page.events.set(ev.event, li);
    }
  }
  for (const ev of fresh.reverse()) {
    const li = eventItem(ev);
    page.events.set(ev.event, li);
    ul.prepend(li);
  }
  if (page.events.size === 0) page.next = data.next;
  $("more").hidden = !page.next;
  $("events-empty").hidden = page.events.size > 0;
}

async function loadMore() {
  if (!page.next) return;
  const data = await api(eventQuery(page.next));
  showEvents(data.events, true);
  page.next = data.next;
  $("more").hidden = !page.next;
}

// ---- settings --------------------------------------------------------------------------------

const CLIP_KEYS = ["pre_record", "post_record", "max_clip"];

function fieldFor(section, key, info, value) {
  const id = `set-${section}-${key}`;
  const wrap = el("div", { class: "field" });
  const label = el("label", { for: id, text: key.replace(/_/g, " ") });
  let input;
  if (info.type === "boolean") {
    input = el("input", { id, type: "checkbox", "data-section": section, "data-key": key });
    input.checked = Boolean(value);
    label.prepend(input, " ");
    wrap.append(label);
  } else {
    const numeric = info.type === "number" || info.type === "integer";
    input = el("input", {
      id, type: numeric ? "number" : "text", "data-section": section, "data-key": key,
      title: `expected ${info.allowed}`,
    });
    if (numeric) input.step = info.type === "integer" ? "1" : "any";
    input.value = value === null || value === undefined ? "" : String(value);
    wrap.append(label, input);
  }
  input.dataset.original = info.type === "boolean" ? String(Boolean(value)) : input.value;
  input.addEventListener("input", () => markChanged(input));
  input.addEventListener("change", () => markChanged(input));
  const fallback = info.default === "" ? "none" : info.default;
  wrap.append(el("p", { class: "help", text: `${info.help} (default: ${fallback})` }));
  return wrap;
}

function inputValue(input) {
  return input.type === "checkbox" ? String(input.checked) : input.value;
}

function markChanged(input) {
  input.classList.toggle("changed", inputValue(input) !== input.dataset.original);
  if (input.dataset.key === "mask") {
    page.mask = parseMask(input.value);
    drawMask();
  }
}

function renderSettings(data) {
  page.settings = data;
  $("settings-file").textContent = data.file || "(no smartcam.conf: running on defaults)";
  const motion = $("motion-fields");
  const camera = $("camera-fields");
  const mask = $("mask-field");
  for (const box of [motion, camera, mask]) {
    for (const node of [...box.querySelectorAll(".field")]) node.remove();
  }
  for (const [key, info] of Object.entries(data.schema.motion)) {
    // the mask's text sits under its drawing
    (key === "mask" ? mask : motion).append(fieldFor("motion", key, info, data.values.motion[key]));
  }
  for (const key of CLIP_KEYS) {
    if (data.schema.camera[key]) {
      camera.append(fieldFor("camera", key, data.schema.camera[key], data.values.camera[key]));
    }
  }
  page.mask = parseMask(String(data.values.motion.mask || ""));
  page.drawing = [];
  drawMask();
}

async function loadSettings() {
  renderSettings(await api("settings"));
}

async function saveSettings(event) {
  event.preventDefault();
  const note = $("settings-note");
  const errorBox = $("settings-error");
  const changes = {};
  for (const input of document.querySelectorAll("#settings input[data-key]")) {
    const value = inputValue(input);
    if (value === input.dataset.original) continue;
    const section = input.dataset.section;
    changes[section] = changes[section] || {};
    changes[section][input.dataset.key] = input.type === "checkbox" ? input.checked : value;
  }
  errorBox.hidden = true;
  if (!Object.keys(changes).length) {
    note.className = "note";
    note.textContent = "Nothing changed.";
    return;
  }
  note.className = "note";
  note.textContent = "Saving…";
  try {
    const data = await api("settings", {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(changes),
    });
    renderSettings(data);
    note.className = "note ok";
    note.textContent = data.message;
  } catch (err) {
    note.className = "note bad";
    note.textContent = "Not saved.";
    errorBox.textContent = err.message;
    errorBox.hidden = false;
  }
}

// ---- mask editor -----------------------------------------------------------------------------

function parseMask(text) {
  const polygons = [];
  for (const part of text.split(";")) {
    const points = part.trim().replace(/\s*,\s*/g, ",").split(/\s+/).filter(Boolean)
      .map((p) => p.split(",").map(Number))
      .filter((p) => p.length === 2 && p.every((n) => Number.isFinite(n)));
    if (points.length >= 3) polygons.push(points);
  }
  return polygons;
}

function formatMask(polygons) {
  const num = (n) => String(Math.round(n * 10) / 10);
  return polygons.map((poly) => poly.map(([x, y]) => `${num(x)},${num(y)}`).join(" ")).join("; ");
}

function maskInput() {
  return document.querySelector('#settings input[data-key="mask"]');
}

function setMask(polygons) {
  page.mask = polygons;
  const input = maskInput();
  if (input) {
    input.value = formatMask(polygons);
    input.classList.toggle("changed", input.value !== input.dataset.original);
  }
  drawMask();
}

function drawMask() {
  const canvas = $("mask-canvas");
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (!w || !h) return;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, w, h);
  const px = ([x, y]) => [(x / 100) * w, (y / 100) * h];
  for (const poly of page.mask) {
    ctx.beginPath();
    poly.forEach((p, i) => (i ? ctx.lineTo(...px(p)) : ctx.moveTo(...px(p))));
    ctx.closePath();
    ctx.fillStyle = "rgba(220, 38, 38, 0.35)";
    ctx.fill();
    ctx.strokeStyle = "#dc2626";
    ctx.lineWidth = 2;
    ctx.stroke();
  }
  if (page.drawing.length) {
    ctx.beginPath();
    page.drawing.forEach((p, i) => (i ? ctx.lineTo(...px(p)) : ctx.moveTo(...px(p))));
    ctx.strokeStyle = "#facc15";
    ctx.lineWidth = 2;
    ctx.stroke();
    for (const p of page.drawing) {
      const [x, y] = px(p);
      ctx.beginPath();
      ctx.arc(x, y, 5, 0, 2 * Math.PI);
      ctx.fillStyle = "#facc15";
      ctx.fill();
    }
  }
}

function finishShape() {
  if (page.drawing.length >= 3) setMask([...page.mask, page.drawing]);
  page.drawing = [];
  drawMask();
}

function setupMask() {
  const canvas = $("mask-canvas");
  canvas.addEventListener("pointerdown", (e) => {
    const box = canvas.getBoundingClientRect();
    const x = Math.max(0, Math.min(100, ((e.clientX - box.left) / box.width) * 100));
    const y = Math.max(0, Math.min(100, ((e.clientY - box.top) / box.height) * 100));
    const first = page.drawing[0];
    if (first && page.drawing.length >= 3) {
      const dx = ((first[0] - x) / 100) * box.width;
      const dy = ((first[1] - y) / 100) * box.height;
      if (Math.hypot(dx, dy) < 14) { finishShape(); return; }
    }
    page.drawing.push([x, y]);
    drawMask();
  });
  $("mask-finish").addEventListener("click", finishShape);
  $("mask-undo").addEventListener("click", () => { page.drawing.pop(); drawMask(); });
  $("mask-delete").addEventListener("click", () => setMask(page.mask.slice(0, -1)));
  $("mask-clear").addEventListener("click", () => { page.drawing = []; setMask([]); });
  $("mask-snapshot").addEventListener("click", loadSnapshot);
  $("mask-image").addEventListener("load", () => {
    fitFrame($("mask-image"));
    drawMask();
  });
  window.addEventListener("resize", () => { drawMask(); drawLevels(); });
}

function fitFrame(img) {
  // the frame takes the picture's own shape (16:9, 4:3 ...), so percent points map exactly
  if (img.naturalWidth && img.naturalHeight) {
    img.parentElement.style.aspectRatio = `${img.naturalWidth} / ${img.naturalHeight}`;
  }
}

function loadSnapshot() {
  $("mask-image").src = `/snapshot.jpg?t=${Date.now()}`;
}

// ---- start -----------------------------------------------------------------------------------

function start() {
  setupLive();
  setupMask();
  $("record").addEventListener("click", recordNow);
  $("more").addEventListener("click", () => loadMore().catch(console.warn));
  $("player-close").addEventListener("click", () => {
    const video = $("video");
    video.pause();
    video.removeAttribute("src");
    video.load();
    $("player").hidden = true;
    for (const item of document.querySelectorAll(".event.playing")) item.classList.remove("playing");
  });
  for (const id of ["filter-day", "filter-cause"]) {
    $(id).addEventListener("change", () => loadEvents().catch(console.warn));
  }
  $("settings").addEventListener("submit", saveSettings);
  $("settings-reset").addEventListener("click", () => loadSettings().catch(console.warn));
  every(POLL_MS, poll);
  loadEvents().catch(console.warn).finally(() => every(EVENTS_MS, refreshEvents));
  loadSettings().catch((err) => {
    $("settings-error").textContent = `Cannot load the settings: ${err.message}`;
    $("settings-error").hidden = false;
  });
  loadSnapshot();
}

document.addEventListener("DOMContentLoaded", start);
