// The Record now button: asks the camera for a clip (cause "manual") and says what happened.
import { api } from "./api.js";
import { $ } from "./dom.js";
import { refreshEvents } from "./events.js";
import { poll } from "./status.js";

const NOTE_MS = 60000; // the "Recording (event …)" note goes away after this
const REENABLE_MS = 1000; // the button stays disabled this long: no double presses

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
    note.textContent =
      `Recording (event ${data.event}). It appears under Recent events when finished.`;
    setTimeout(refreshEvents, 1500);
    // only clear our own note: a later press may have replaced it
    setTimeout(() => {
      if (note.textContent.includes(data.event)) note.textContent = "";
    }, NOTE_MS);
  } catch (err) {
    note.className = "note bad";
    note.textContent = `Could not record: ${err.message}`;
  } finally {
    setTimeout(() => { button.disabled = false; }, REENABLE_MS);
    poll(); // the pill turns to "Recording (manual)" now, not at the next tick
  }
}

export function setupRecord() {
  $("record").addEventListener("click", recordNow);
}
