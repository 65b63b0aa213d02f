// Recent events: the clip list (filtered by day and cause, paged with "Show older", new clips
// added on top every few seconds) and the player that opens above it.
import { api } from "./api.js";
import { $, el } from "./dom.js";
import { ago, duration, when } from "./format.js";

const PAGE_SIZE = "24";
const shown = new Map(); // event id -> its <li>, so a refresh touches only what changed
let next = null; // cursor of the next (older) page; null when there is none

function eventQuery(cursor) {
  const params = new URLSearchParams({ limit: PAGE_SIZE });
  if ($("filter-day").value) params.set("day", $("filter-day").value);
  if ($("filter-cause").value) params.set("cause", $("filter-cause").value);
  if (cursor) params.set("cursor", cursor);
  return `events?${params}`;
}

function tags(ev) {
  return el("div", {},
    el("span", { class: `tag ${ev.cause}`, text: ev.cause || "?" }),
    ev.stored === "spool" ? el("span", { class: "tag spool", text: "waiting for upload" }) : null,
    ev.interrupted ? el("span", { class: "tag", text: "interrupted" }) : null);
}

// One clip: its thumbnail, when, how long, how much motion. Click or Enter plays it.
function eventItem(ev) {
  const li = el("li", { class: "event", tabindex: "0", "data-event": ev.event });
  const thumb = el("div", { class: "thumb" },
    el("img", { src: ev.urls.thumbnail, alt: `Clip ${ev.event}`, loading: "lazy" }),
    el("div", { class: "play", text: "▶" }));
  const details = [duration(ev.duration)];
  if (ev.motion_peak) details.push(`peak ${Number(ev.motion_peak).toFixed(1)} %`);
  if (ev.part > 1) details.push(`part ${ev.part}`);
  li.append(thumb, el("div", { class: "meta" },
    el("div", { class: "when", text: when(ev.start) }),
    el("div", { class: "muted", text: details.join(" · ") }), tags(ev)));
  li.addEventListener("click", () => play(ev, li));
  li.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") play(ev, li); });
  li.dataset.stored = ev.stored; // a refresh redraws the item when the clip reaches the NAS
  return li;
}

function unmarkPlaying() {
  for (const item of document.querySelectorAll(".event.playing")) item.classList.remove("playing");
}

function play(ev, li) {
  const video = $("video");
  unmarkPlaying();
  li.classList.add("playing");
  $("player").hidden = false;
  $("player-info").textContent = `${when(ev.start)} · ${ev.cause} · ${duration(ev.duration)}`;
  $("player-download").href = ev.urls.clip;
  $("player-download").setAttribute("download", ev.video || `${ev.event}.mp4`);
  video.src = ev.urls.clip;
  video.muted = true; // so no autoplay policy refuses play()
  video.play().catch(() => {});
  $("player").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

// Unloading the source (not only pausing) stops the browser's range requests for the clip.
function closePlayer() {
  const video = $("video");
  video.pause();
  video.removeAttribute("src");
  video.load();
  $("player").hidden = true;
  unmarkPlaying();
}

// The host answers from its last look at the clips; a NAS that hangs makes that look old.
const STALE_SECONDS = 30;

function showAsOf(listedAt) {
  const age = listedAt ? (Date.now() - Date.parse(listedAt)) / 1000 : 0;
  const note = $("events-stale");
  note.hidden = age < STALE_SECONDS;
  note.textContent = note.hidden ? "" :
    `The NAS is not answering: its clips are listed as of ${ago(listedAt)}.`;
}

function showListEnds() {
  $("more").hidden = !next;
  $("events-empty").hidden = shown.size > 0;
}

function showEvents(list, append) {
  const ul = $("events");
  if (!append) {
    ul.textContent = "";
    shown.clear();
  }
  for (const ev of list) {
    if (shown.has(ev.event)) continue; // never twice, whatever order pages and refreshes come in
    const li = eventItem(ev);
    shown.set(ev.event, li);
    ul.append(li);
  }
  $("events-empty").hidden = shown.size > 0;
}

// The first page again, from scratch (at start and when a filter changes).
export async function loadEvents() {
  const data = await api(eventQuery(null));
  showAsOf(data.listed_at);
  showEvents(data.events, false);
  next = data.next;
  $("more").hidden = !next;
}

// New clips go on top; clips already shown keep their place, so the list does not jump under
// a person's finger, and "waiting for upload" turns into a NAS clip where it is.
export async function refreshEvents() {
  const data = await api(eventQuery(null));
  showAsOf(data.listed_at);
  const fresh = [];
  for (const ev of data.events) {
    const old = shown.get(ev.event);
    if (!old) {
      fresh.push(ev);
    } else if (old.dataset.stored !== ev.stored) {
      const li = eventItem(ev);
      if (old.classList.contains("playing")) li.classList.add("playing");
      old.replaceWith(li);
      shown.set(ev.event, li);
    }
  }
  for (const ev of fresh.reverse()) {
    const li = eventItem(ev);
    shown.set(ev.event, li);
    $("events").prepend(li);
  }
  if (shown.size === 0) next = data.next;
  showListEnds();
}

async function loadMore() {
  if (!next) return;
  const data = await api(eventQuery(next));
  showEvents(data.events, true);
  next = data.next;
  $("more").hidden = !next;
}

export function setupEvents() {
  $("more").addEventListener("click", () => loadMore().catch(console.warn));
  $("player-close").addEventListener("click", closePlayer);
  for (const id of ["filter-day", "filter-cause"]) {
    $(id).addEventListener("change", () => loadEvents().catch(console.warn));
  }
}
