// The grid: one tile per camera with the master's copy of its picture (one request in flight
// per tile), its state, and the incidents of every camera below.
import { $, api, el, me, ago, when } from "./common.js";

const PICTURE_EVERY = 2000;
const tiles = new Map();
const armed = new Map();  // group -> its arming state
let admin = false;
let oldest = null;

function badge(text, kind) {
  return el("span", { class: `badge ${kind}`, text });
}

function tile(cam) {
  let t = tiles.get(cam.name);
  if (!t) {
    const img = el("img", { alt: `picture of ${cam.name}` });
    const node = el("article", { class: "tile", tabindex: "0", "data-camera": cam.name });
    const info = el("div", { class: "info" });
    node.append(el("div", { class: "frame" }, img), info);
    node.addEventListener("click", () => openLive(cam.name, cam.title));
    node.addEventListener("keydown", (e) => { if (e.key === "Enter") openLive(cam.name, cam.title); });
    t = { node, img, info, loading: false };
    tiles.set(cam.name, t);
    $("grid").append(node);
    refreshPicture(cam.name, t);
  }
  const badges = [
    cam.online ? badge("online", "ok") : badge("offline", "bad"),
    armed.has(cam.group) ? badge(armed.get(cam.group).armed ? "armed" : "disarmed",
      armed.get(cam.group).armed ? "ok" : "warn") : null,
    cam.recording ? badge("recording", "rec") : null,
    cam.silent ? badge("silent: no clip for long", "bad") : null,
    cam.clock_warning ? badge(`clock ${cam.clock_offset > 0 ? "+" : ""}${cam.clock_offset.toFixed(1)} s`, "warn") : null,
    cam.dropped_recent ? badge(`${cam.dropped_recent} dropped`, "bad") : null,
    cam.nas_mounted === false ? badge("NAS away", "warn") : null,
  ];
  t.info.replaceChildren(...[
    el("h3", { text: cam.title }),
    el("p", { class: "badges" }, ...badges),
    el("p", { class: "muted", text: `last clip ${ago(cam.last_clip_end)} · ${cam.clips} clips` +
      (cam.ingest_lag !== null && cam.ingest_lag !== undefined ? ` · on the NAS ${Math.round(cam.ingest_lag)} s after` : "") +
      (cam.temperature ? ` · ${Math.round(cam.temperature)} °C` : "") +
      (cam.version ? ` · v${cam.version}` : "") + (cam.group ? ` · group ${cam.group}` : "") }),
    cam.error ? el("p", { class: "error", text: cam.error }) : null,
  ].filter(Boolean));  // replaceChildren would show a null as the text "null"
}

// One request in flight per tile; the master serves its cached copy to every viewer.
function refreshPicture(name, t) {
  if (t.loading || document.hidden) return;
  t.loading = true;
  const next = new Image();
  next.onload = next.onerror = () => {
    t.loading = false;
    if (next.naturalWidth) t.img.src = next.src;
    t.node.classList.toggle("stale", !next.naturalWidth);
    setTimeout(() => refreshPicture(name, t), PICTURE_EVERY);
  };
  next.src = `/api/cameras/${encodeURIComponent(name)}/picture.jpg?t=${Date.now()}`;
}

async function refreshFleet() {
  try {
    const data = await api("GET", "/api/cameras");
    const index = data.index || {};
    $("fleet-error").textContent = [
      data.cameras.length ? "" :
        "No camera found yet: cameras are found by mDNS, their notes on the NAS, or [peers] static.",
      index.error ? `The clips on the NAS cannot be read (${index.error}): the incidents below are what was known.` : "",
      index.refused || "",
    ].filter(Boolean).join("\n");
    const select = $("f-camera");
    for (const cam of data.cameras) {
      tile(cam);
      if (![...select.options].some((o) => o.value === cam.name)) {
        select.append(el("option", { value: cam.name, text: cam.name }));
      }
    }
  } catch (err) {
    $("fleet-error").textContent = err.message;
  }
}

// A weekly schedule as a person writes it: "mon-fri 08:00-18:00; sat,sun 22:00-06:00"
// ("daily" for every day; a window may run past midnight; equal times: the whole day).
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function parseSchedule(text) {
  return text.split(";").map((part) => part.trim()).filter(Boolean).map((part) => {
    const m = part.match(/^([a-z,-]+)\s+(\d\d:\d\d)-(\d\d:\d\d)$/i);
    if (!m) throw new Error(`"${part}": write days and times, like mon-fri 08:00-18:00`);
    const days = [];
    for (const item of m[1].toLowerCase().split(",")) {
      const [a, b] = item === "daily" ? ["mon", "sun"] : item.split("-");
      const from = DAYS.indexOf(a);
      const to = DAYS.indexOf(b || a);
      if (from < 0 || to < from) throw new Error(`"${item}": days are ${DAYS.join(" ")}`);
      days.push(...DAYS.slice(from, to + 1));
    }
    return { days, from: m[2], to: m[3] };
  });
}

function formatSchedule(windows) {
  return windows.map((w) => `${w.days.join(",")} ${w.from}-${w.to}`).join("; ");
}

// Per group: armed or not (disarmed silences notifications; the cameras record all the same),
// and for an admin the choice of armed, disarmed or the group's weekly schedule.
async function refreshArming() {
  const data = await api("GET", "/api/arming");
  $("arming").replaceChildren(...data.groups.map((g) => {
    armed.set(g.group, g);
    const label = el("span", {}, `group ${g.group}: `,
      badge(g.armed ? "armed" : "disarmed", g.armed ? "ok" : "warn"),
      g.mode === "schedule" ? " (on its schedule)" : "");
    if (!admin) return label;
    const choose = el("select", { "aria-label": `arming of group ${g.group}` },
      ...["armed", "disarmed"].concat(g.schedule.length ? ["schedule"] : [])
        .map((m) => el("option", { value: m, text: m })));
    choose.value = g.mode;
    choose.addEventListener("change", () => api("PUT", `/api/arming/${encodeURIComponent(g.group)}`,
      { mode: choose.value, schedule: g.schedule }).then(refreshArming)
      .catch((err) => { $("fleet-error").textContent = err.message; }));
    const record = el("button", { type: "button", text: "Record this group now" });
    record.addEventListener("click", () => api("POST", `/api/groups/${encodeURIComponent(g.group)}/record`,
      { seconds: 30 }).then((done) => {
      $("fleet-error").textContent = Object.entries(done.cameras).map(([c, a]) => `${c}: ${a}`).join(", ");
    }).catch((err) => { $("fleet-error").textContent = err.message; }));
    const plan = el("input", { size: "28", "aria-label": `weekly schedule of group ${g.group}`,
      placeholder: "mon-fri 08:00-18:00; sat 22:00-06:00" });
    plan.value = formatSchedule(g.schedule);
    const keep = el("button", { type: "button", text: "Arm on this schedule" });
    keep.addEventListener("click", () => {
      let schedule;
      try {
        schedule = parseSchedule(plan.value);
      } catch (err) {
        $("fleet-error").textContent = err.message;
        return;
      }
      api("PUT", `/api/arming/${encodeURIComponent(g.group)}`, { mode: "schedule", schedule })
        .then(refreshArming).catch((err) => { $("fleet-error").textContent = err.message; });
    });
    return el("span", {}, el("label", {}, label, choose), " ", record, " ", plan, keep);
  }));
}

function openLive(name, title) {
  $("live-title").textContent = `${title} – live`;
  $("live-img").src = `/api/cameras/${encodeURIComponent(name)}/live.mjpg`;
  $("live").showModal();
}

$("live-close").addEventListener("click", () => $("live").close());
$("live").addEventListener("close", () => { $("live-img").removeAttribute("src"); });

async function loadIncidents(more) {
  const params = new URLSearchParams({ limit: "30" });
  for (const [key, id] of [["camera", "f-camera"], ["cause", "f-cause"], ["day", "f-day"]]) {
    if ($(id).value) params.set(key, $(id).value);
  }
  if (more && oldest) params.set("before", String(oldest));
  const data = await api("GET", `/api/incidents?${params}`);
  const list = $("timeline");
  if (!more) list.replaceChildren();
  for (const inc of data.incidents) {
    const link = el("a", { href: `/incident/${inc.incident}` },
      el("strong", { text: when(inc.start) }),
      ` · ${inc.cameras.join(", ")} · ${inc.causes.join(", ")} · ${inc.clips} clip(s), ` +
      `${Math.round(inc.end - inc.start)} s`);
    list.append(el("li", {}, link, inc.clock_unsynced ? badge("clock not set", "warn") : null));
    oldest = inc.start;
  }
  $("more").hidden = data.incidents.length < 30;
}

$("filters").addEventListener("change", () => loadIncidents(false));
$("more").addEventListener("click", () => loadIncidents(true));
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) for (const [name, t] of tiles) refreshPicture(name, t);
});

me().then((user) => {
  admin = user.role === "admin";
  refreshArming().catch(() => {});
  setInterval(() => refreshArming().catch(() => {}), 30000);
  refreshFleet();
  loadIncidents(false);
  setInterval(refreshFleet, 5000);
  setInterval(() => loadIncidents(false), 30000);
});
