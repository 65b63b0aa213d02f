// A share link's page: only this incident, nothing else of the system; a PIN first if the
// link has one. Not common.js: there is no session here and no login page to go to.
import { replay } from "./replay.js";

const base = location.pathname.replace(/\/$/, "");
const byId = (id) => document.getElementById(id);

async function load() {
  const r = await fetch(`${base}/incident.json`, { credentials: "same-origin" });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) {
    byId("pin-form").hidden = false;
    return;
  }
  if (!r.ok) {
    byId("error").textContent = data.error || `${r.status}`;
    return;
  }
  byId("pin-form").hidden = true;
  byId("incident").hidden = false;
  byId("expires").textContent = `This link works until ${new Date(data.expires * 1000).toLocaleString()}.`;
  replay(data, document.getElementById("player"));
}

byId("pin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await fetch(`${base}/pin`, {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ pin: byId("pin").value }),
  });
  const data = await r.json().catch(() => ({}));
  byId("error").textContent = r.ok ? "" : data.error || `${r.status}`;
  if (r.ok) load();
});

load();
