// The incident page: who is logged in, the incident's data, then the shared player.
import { $, api, el, me } from "./common.js";
import { replay } from "./replay.js";

async function main() {
  await me();
  const id = location.pathname.split("/").pop();
  try {
    const data = await api("GET", `/api/incidents/${encodeURIComponent(id)}`);
    $("export").href = `/api/incidents/${encodeURIComponent(id)}/export.zip`;
    $("export").hidden = false;
    $("share-form").hidden = false;
    $("share-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const body = { seconds: Number($("share-hours").value) * 3600 };
      if ($("share-pin").value) body.pin = $("share-pin").value;
      api("POST", `/api/incidents/${encodeURIComponent(id)}/shares`, body).then((made) => {
        const url = new URL(made.link, location.href).href;
        $("share-link").replaceChildren(el("a", { href: url, text: url }));
      }).catch((err) => { $("error").textContent = err.message; });
    });
    replay(data, $("player"));
  } catch (err) {
    $("error").textContent = err.message;
  }
}

main();
