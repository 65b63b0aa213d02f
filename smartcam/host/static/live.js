// The live view. H.264 (mse.js: the camera's own packets, nothing re-encoded) where the browser
// can play it, else MJPEG: an <img> on /live.mjpg. A viewer holds a host slot and keeps the
// camera sending, so the view is open only while the tab is visible and the camera connected.
import { api } from "./api.js";
import { camera } from "./camera.js";
import { $ } from "./dom.js";
import { MediaSourceKind, playMse } from "./mse.js";

const RETRY_MS = 3000; // after a stream breaks (camera restarting, viewer slots full)

export const live = {
  failed: false, // the last stream broke: the overlay says the page waits for a picture
  started: false,
  retry: null,
  // "mse" until H.264 fails to start on this page (no MSE, no H.264, no WebSocket through a
  // proxy), then "mjpeg" for good; a stream that played and broke is tried again as it was.
  mode: MediaSourceKind ? "mse" : "mjpeg",
  stopMse: null,
  start() {
    this.started = true;
    this.failed = false;
    if (this.mode === "mse") this.startMse().catch((err) => this.fallBack(String(err)));
    else this.show("mjpeg");
  },
  async startMse() {
    const where = await api("live");
    if (!this.started || this.mode !== "mse") return;
    const ws = where.websocket;
    const host = ws.port ? `${location.hostname}:${ws.port}` : location.host;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${host}${ws.path}`;
    this.show("mse");
    this.stopMse = playMse($("live-video"), url, {
      onPlaying: () => { this.failed = false; this.onChange(); },
      onEnd: (reason, played) => {
        this.stopMse = null;
        if (!this.started) return;
        if (!played) this.fallBack(reason);
        else this.broke();
      },
    });
  },
  fallBack(reason) {
    console.info(`live view: MJPEG, because H.264 did not start: ${reason}`);
    this.mode = "mjpeg";
    if (this.started) this.show("mjpeg");
  },
  show(mode) {
    $("live-frame").dataset.live = mode;
    $("live-video").hidden = mode !== "mse";
    $("live").hidden = mode !== "mjpeg";
    // a new URL each time: the browser must not reuse the stream that just ended
    if (mode === "mjpeg") $("live").src = `/live.mjpg?t=${Date.now()}`;
  },
  stop() {
    this.started = false;
    if (this.stopMse) this.stopMse();
    $("live").removeAttribute("src"); // closes the stream, freeing the host's viewer slot
  },
  broke() {
    this.failed = true;
    this.started = false;
    this.onChange();
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.ensure(), RETRY_MS);
  },
  ensure() {
    const connected = camera.health && camera.health.camera_connected;
    if (!this.started && !document.hidden && connected) this.start();
  },
  element() {
    return this.mode === "mse" ? $("live-video") : $("live");
  },
  onChange() {},
};

// onChange: redraw what depends on live.failed (the state overlay);
// onVisible: refresh at once when the tab comes back instead of waiting for the next poll.
export function setupLive({ onChange, onVisible }) {
  live.onChange = onChange;
  const img = $("live");
  img.addEventListener("error", () => { if (live.mode === "mjpeg" && live.started) live.broke(); });
  img.addEventListener("load", () => { live.failed = false; onChange(); });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) live.stop(); else { live.ensure(); onVisible(); }
  });
}
