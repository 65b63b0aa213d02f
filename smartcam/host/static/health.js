// The health card: camera, NAS, upload backlog, spool, temperature, as facts a person can act
// on (red for what needs fixing).
import { camera } from "./camera.js";
import { $, el } from "./dom.js";
import { ago, bytes, duration } from "./format.js";

const HOT_C = 80; // the same line as health.py's "CPU is hot" warning: a Pi throttles there

function fact(dl, name, ...value) {
  dl.append(el("dt", { text: name }), el("dd", {}, ...value));
}

function yesNo(ok, yes, no) {
  return el("span", { class: ok ? "good" : "badtext", text: ok ? yes : no });
}

function cameraFacts(dl, h) {
  const cam = h.camera_status;
  fact(dl, "Camera", h.camera_connected
    ? yesNo(true, `running${cam ? ` · ${duration(cam.uptime)}` : ""}`, "")
    : yesNo(false, "", "not answering"));
  if (cam) {
    fact(dl, "Pre-roll", `${Number(cam.preroll_seconds || 0).toFixed(1)} s in memory`);
  }
}

function nasFact(dl, st) {
  let nas;
  if (st.nas_mounted === false) nas = yesNo(false, "", "not mounted");
  else if (st.nas_writable === false) nas = yesNo(false, "", "mounted, not writable");
  else nas = yesNo(true, `ok · ${bytes(st.nas_free_bytes)} free`, "");
  fact(dl, "NAS", nas, el("div", { class: "muted small", text: st.nas_path || "" }));
}

// The spool holds clips until the NAS has them; its bar shows how close it is to dropping one.
function spoolFacts(dl, st) {
  const waiting = Number(st.backlog_clips || 0);
  fact(dl, "Waiting", el("span", { class: waiting > 5 ? "warntext" : "",
    text: `${waiting} clip${waiting === 1 ? "" : "s"} (${bytes(st.backlog_bytes)})` }));
  const used = Number(st.spool_used_bytes || 0);
  const budget = Number(st.spool_budget_bytes || 0);
  const share = budget ? Math.min(100, (100 * used) / budget) : 0;
  const fill = el("span");
  fill.style.width = `${share.toFixed(1)}%`; // CSSOM, not a style attribute: the CSP forbids those
  fact(dl, "Spool", `${bytes(used)} of ${bytes(budget)}`, el("div", { class: "bar" }, fill));
}

function uploadFacts(dl, st) {
  const uploaded = Number(st.uploaded || 0);
  fact(dl, "Uploaded", uploaded ? `${uploaded} · last ${ago(st.last_upload)}` : "none yet");
  if (st.last_error) {
    fact(dl, "Upload error", el("span", { class: "badtext", text: st.last_error }));
  }
}

export function renderHealth() {
  const h = camera.health;
  const dl = $("health");
  dl.textContent = "";
  if (!h) return;
  cameraFacts(dl, h);
  const st = h.storage;
  if (st) {
    nasFact(dl, st);
    spoolFacts(dl, st);
    uploadFacts(dl, st);
  } else {
    fact(dl, "Storage", el("span", { class: "badtext", text: "unknown" }));
  }
  if (h.cpu_temperature !== null && h.cpu_temperature !== undefined) {
    const hot = h.cpu_temperature >= HOT_C;
    const text = `${h.cpu_temperature.toFixed(1)} °C`;
    fact(dl, "CPU", el("span", { class: hot ? "badtext" : "", text }));
  }
  if (h.arming) {  // what the master said: disarmed silences its notifications, not recording
    fact(dl, "Group", yesNo(h.arming.armed, "armed", "disarmed (no notifications; still recording)"),
      el("div", { class: "muted small", text: `set by ${h.arming.by}, ${ago(new Date(h.arming.at * 1000).toISOString())}` }));
  }
  fact(dl, "Host up", duration(h.uptime));
  fact(dl, "Version", h.version);
}
