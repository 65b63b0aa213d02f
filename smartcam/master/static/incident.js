// The incident page: who is logged in, the incident's data, then the shared player.
import { $, api, me } from "./common.js";
import { replay } from "./replay.js";

async function main() {
  await me();
  const id = location.pathname.split("/").pop();
  try {
    const data = await api("GET", `/api/incidents/${encodeURIComponent(id)}`);
    $("export").href = `/api/incidents/${encodeURIComponent(id)}/export.zip`;
    $("export").hidden = false;
    replay(data);
  } catch (err) {
    $("error").textContent = err.message;
  }
}

main();
