// The live view: an <img> on /live.mjpg (MJPEG). Each open stream holds one of the host's
// viewer slots and keeps the camera writing live pictures, so it is open only while the tab
// is visible and the camera is connected.
import { camera } from "./camera.js";
import { $ } from "./dom.js";

const RETRY_MS = 3000; // after a stream breaks (camera restarting, viewer slots full)

export const live = {
  failed: false, // the last stream broke: the overlay says the page waits for a picture
  started: false,
  retry: null,
  start() {
    this.started = true;
    this.failed = false;
    // a new URL each time: the browser must not reuse the stream that just ended
    $("live").src = `/live.mjpg?t=${Date.now()}`;
  },
  stop() {
    this.started = false;
    $("live").removeAttribute("src"); // closes the stream, freeing the host's viewer slot
  },
  ensure() {
    const connected = camera.health && camera.health.camera_connected;
    if (!this.started && !document.hidden && connected) this.start();
  },
};

// onChange: redraw what depends on live.failed (the state overlay);
// onVisible: refresh at once when the tab comes back instead of waiting for the next poll.
export function setupLive({ onChange, onVisible }) {
  const img = $("live");
  img.addEventListener("error", () => {
    live.failed = true;
    live.started = false;
    onChange();
    clearTimeout(live.retry);
    live.retry = setTimeout(() => live.ensure(), RETRY_MS);
  });
  img.addEventListener("load", () => { live.failed = false; onChange(); });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) live.stop(); else { live.ensure(); onVisible(); }
  });
}
