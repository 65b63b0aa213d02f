// smartcam: the camera's page. Plain JavaScript modules, no framework, no build step, works
// offline: each file under static/ is served as it is. This one wires the cards together and
// starts the polling: /api/v1/health and /api/v1/status every 2 s, the event list every 5 s.
import { every } from "./api.js";
import { loadEvents, refreshEvents, setupEvents } from "./events.js";
import { drawLevels } from "./levels.js";
import { setupLive } from "./live.js";
import { drawMask, loadSnapshot, setupMask } from "./mask.js";
import { setupRecord } from "./record.js";
import { setupSettings, startSettings } from "./settings.js";
import { poll, renderState } from "./status.js";

const POLL_MS = 2000;
const EVENTS_MS = 5000;

function start() {
  setupLive({ onChange: renderState, onVisible: poll });
  setupMask();
  // canvases are drawn at their pixel size, so a new size means drawing them again
  window.addEventListener("resize", () => { drawMask(); drawLevels(); });
  setupRecord();
  setupEvents();
  setupSettings();
  every(POLL_MS, poll);
  // the refresh only adds to a list, so it starts once the first page is there
  loadEvents().catch(console.warn).finally(() => every(EVENTS_MS, refreshEvents));
  startSettings();
  loadSnapshot();
}

// Start once the document is parsed, whatever way this module is loaded (as a plain module
// script it already runs after parsing, just before DOMContentLoaded).
document.addEventListener("DOMContentLoaded", start);
