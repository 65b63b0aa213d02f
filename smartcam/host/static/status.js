// The camera's state at a glance (the pill, the live view's overlay, the motion sentence, the
// banners, the title) and the poll that keeps it and the other status cards current.
import { camera, fetchHealth, fetchStatus } from "./camera.js";
import { $, el, fitFrame } from "./dom.js";
import { renderHealth } from "./health.js";
import { drawLevels } from "./levels.js";
import { live } from "./live.js";

const cause = (s) => (s.clip && s.clip.cause) || "motion"; // why the open clip is recording

// The pill's colour (a class in style.css) and words, the worst news first.
function pillState(h, s) {
  if (camera.hostDown) return ["bad", "Camera page not answering"];
  if (h && !h.camera_connected) return ["bad", "Camera offline"];
  if (s && s.state === "recording") return ["rec", `Recording (${cause(s)})`];
  if (h && !h.ok) return ["warn", "Needs attention"];
  if (h && h.problems.length) return ["warn", "Watching · see notes"];
  if (h) return ["ok", "Watching"];
  return ["unknown", "Connecting…"];
}

// Over the live picture: why there is none (a stale last frame would look like a working camera).
function overlayText(h) {
  if (camera.hostDown) return "The camera's web service is not answering. Is it rebooting?";
  if (h && !h.camera_connected) {
    return "The camera process is not answering. It restarts by itself; " +
      "if this lasts, check the camera's log.";
  }
  if (live.failed) return "Waiting for a picture…";
  return null;
}

function motionText(h, s) {
  if (!s || (h && !h.camera_connected)) return "No data from the camera.";
  if (s.state === "recording") {
    const why = cause(s);
    return `Recording now because of ${why === "manual" ? "Record now" : why}` +
      (s.motion ? " — motion in view." : ".");
  }
  if (s.motion) return "Motion in view.";
  return `Idle — no motion (${Number(s.score).toFixed(2)} % changed).`;
}

export function renderState() {
  const h = camera.health;
  // before the first status answer, health carries the camera's status too
  const s = camera.status || (h && h.camera_status);
  const [kind, label] = pillState(h, s);
  $("state").className = `pill ${kind}`;
  $("state-text").textContent = label;
  $("rec-badge").hidden = !(s && s.state === "recording" && h && h.camera_connected);
  $("record").disabled = !(h && h.camera_connected) || camera.hostDown;
  const overlay = $("live-overlay");
  const why = overlayText(h);
  overlay.hidden = why === null;
  if (why !== null) overlay.textContent = why;
  $("motion-text").textContent = motionText(h, s);
}

// The health check's problems, each in words a person can act on.
function renderBanners() {
  const box = $("banners");
  box.textContent = "";
  if (camera.hostDown) {
    box.append(el("div", { class: "banner error" },
      el("b", { text: "The camera's web service is not answering." }),
      "The page keeps trying. If the camera was just powered on, wait a minute."));
    return;
  }
  for (const problem of (camera.health && camera.health.problems) || []) {
    box.append(el("div", { class: `banner ${problem.level}`, text: problem.message }));
  }
}

// The camera's own name, so a person with several tabs open knows which camera this is.
function renderTitle() {
  const h = camera.health;
  document.title = `${h.title} · smartcam`;
  $("title").textContent = h.title;
  $("subtitle").textContent = `group ${h.group}`;
  $("footer-version").textContent = `smartcam ${h.version}`;
}

// Every 2 s (app.js), and at once after Record now and when the tab comes back.
export async function poll() {
  try {
    await fetchHealth();
    renderTitle();
    await fetchStatus();
    live.ensure();
    fitFrame(live.element());
  } catch (err) {
    camera.hostDown = true;
  }
  renderState();
  renderBanners();
  renderHealth();
  drawLevels();
}
