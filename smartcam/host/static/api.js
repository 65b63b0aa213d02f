// How the page talks to the host: JSON requests to /api/v1/ and the polling loop around them.

const API = "/api/v1/";

// One API request. Never from the browser's cache: every answer is the camera's state now.
// Rejects with the API's own error text (its 4xx/503 bodies are JSON {"error": ...}), so the
// page can show the person what the host said.
export async function api(path, options) {
  const response = await fetch(API + path, Object.assign({ cache: "no-store" }, options));
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    // nginx's own error pages (a 502 while the host restarts) are HTML, not JSON
    data = { error: `${response.status} ${response.statusText}` };
  }
  if (!response.ok) {
    const error = new Error((data && data.error) || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// Run fn now and then `ms` after each run ends (never two at once on a slow camera). A hidden
// tab skips its turns, so a phone in a pocket does not keep the camera busy.
export function every(ms, fn) {
  const tick = async () => {
    if (!document.hidden) {
      try { await fn(); } catch (err) { console.warn(err); }
    }
    setTimeout(tick, ms);
  };
  tick();
}
