// What the page last heard from the host about the camera. The poll (status.js) fills it in;
// the state pill, the health card, the motion graph and the live view read it.
import { api } from "./api.js";

export const camera = {
  health: null, // GET /api/v1/health; null until the first answer
  status: null, // the camera's status (GET /api/v1/status); null while the camera is away
  levels: [], // [unix time, % of the frame changed], the highest of each second
  threshold: 0.5, // min_area: the motion graph's dashed line
  hostDown: false, // the last health request failed: the web service itself is not answering
};

// Throws when the host does not answer; the caller marks it down (it knows what to show).
export async function fetchHealth() {
  camera.health = await api("health");
  camera.hostDown = false;
}

// The status and motion levels come from the camera process through the host, so they are
// only asked for while health says the camera is connected. The levels are kept when the
// camera goes away: the graph still shows what happened before.
export async function fetchStatus() {
  if (!camera.health.camera_connected) {
    camera.status = null;
    return;
  }
  try {
    const data = await api("status");
    camera.status = data.status;
    camera.levels = data.levels;
    camera.threshold = data.threshold;
  } catch (err) {
    camera.status = null;
  }
}
