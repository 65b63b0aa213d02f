// One incident's clips from every camera, replayed on one clock. Each video plays at
// clock - offset (offset: its UTC start minus the incident's start, from the sidecars). Drift
// beyond 0.25 s is corrected by a seek, smaller drift by nudging playbackRate; the clock waits
// while a video that should be playing is still loading.
import { $, api, el, me, when } from "./common.js";

const SEEK_DRIFT = 0.25;
const NUDGE = 0.05;
const state = { clock: 0, span: 0, playing: false, last: null, clips: [] };

function lane(clip) {
  const bar = el("div", { class: "bar", title: `${clip.camera}: ${clip.cause}` });
  const pre = el("div", { class: "pre", title: "pre-roll (before the trigger)" });
  const row = el("div", { class: "lane" }, el("span", { class: "lane-name", text: clip.camera }),
    el("div", { class: "track" }, bar));
  bar.append(pre);
  // Positions through the CSSOM: the Content-Security-Policy forbids style attributes.
  bar.style.left = `${(100 * clip.offset) / state.span}%`;
  bar.style.width = `${(100 * clip.duration) / state.span}%`;
  pre.style.width = `${(100 * Math.min(clip.pre_record, clip.duration)) / clip.duration}%`;
  return row;
}

function tile(clip, origin) {
  const video = el("video", { src: clip.video, preload: "auto", playsinline: "" });
  video.muted = true;
  const note = el("p", { class: "note" });
  const head = el("h3", {}, clip.camera, " ",
    el("span", { class: `badge ${clip.camera === origin ? "rec" : "ok"}`,
      text: clip.camera === origin ? "origin" : clip.cause === "peer" ? "woken by the group" : clip.cause }));
  const node = el("figure", { class: "clip", "data-camera": clip.camera },
    el("div", { class: "frame" }, video, note), el("figcaption", {}, head,
      el("span", { class: "muted", text: `starts ${when(clip.start)} · ${clip.duration.toFixed(1)} s · ` +
        `pre-roll ${clip.pre_record.toFixed(1)} s${clip.interrupted ? " · interrupted" : ""}` })));
  return { ...clip, video, note, node };
}

function sync() {
  for (const c of state.clips) {
    const want = state.clock - c.offset;
    const inside = want >= 0 && want <= c.duration;
    c.node.classList.toggle("outside", !inside);
    c.note.textContent = want < 0 ? "not recording yet" : want > c.duration ? "ended" : "";
    if (!inside) {
      if (!c.video.paused) c.video.pause();
      continue;
    }
    const drift = c.video.currentTime - want;
    if (Math.abs(drift) > SEEK_DRIFT || !state.playing) {
      if (Math.abs(drift) > 0.04) c.video.currentTime = want;
      c.video.playbackRate = 1;
    } else {
      c.video.playbackRate = 1 - Math.max(-NUDGE, Math.min(NUDGE, drift));
    }
    if (state.playing && c.video.paused) c.video.play().catch(() => {});
    if (!state.playing && !c.video.paused) c.video.pause();
  }
}

function stalled() {
  return state.clips.some((c) => {
    const want = state.clock - c.offset;
    return want >= 0 && want <= c.duration && c.video.readyState < 3;
  });
}

function frame(now) {
  if (state.playing) {
    if (state.last !== null && !stalled()) state.clock += (now - state.last) / 1000;
    state.last = now;
    if (state.clock >= state.span) {
      state.clock = state.span;
      setPlaying(false);
    }
  }
  sync();
  $("scrubber").value = String(state.clock);
  $("clock").textContent = `${state.clock.toFixed(1)} s / ${state.span.toFixed(1)} s`;
  requestAnimationFrame(frame);
}

function setPlaying(on) {
  state.playing = on;
  state.last = null;
  $("play").textContent = on ? "Pause" : "Play";
}

// For tests and the curious: where each video is against the shared clock.
window.smartcamSync = () => state.clips.map((c) => ({
  camera: c.camera, clock: state.clock, want: state.clock - c.offset,
  at: c.video.currentTime, paused: c.video.paused, ready: c.video.readyState,
}));
window.smartcamPlay = (on) => setPlaying(on);
window.smartcamSeek = (t) => { state.clock = Math.max(0, Math.min(state.span, t)); };

async function main() {
  await me();
  const id = location.pathname.split("/").pop();
  let data;
  try {
    data = await api("GET", `/api/incidents/${encodeURIComponent(id)}`);
  } catch (err) {
    $("error").textContent = err.message;
    return;
  }
  state.span = Math.max(0.1, data.end - data.start);
  $("title").textContent = `Incident ${data.incident}`;
  $("summary").textContent = `${when(data.start)} · ${data.cameras.length} camera(s), ` +
    `started by ${data.origin} · ${state.span.toFixed(1)} s`;
  $("warnings").replaceChildren(...data.warnings.map((w) => el("li", { text: w })));
  state.clips = data.clips.map((c) => tile(c, data.origin));
  $("videos").replaceChildren(...state.clips.map((c) => c.node));
  $("lanes").replaceChildren(...data.clips.map(lane));
  const scrubber = $("scrubber");
  scrubber.max = String(state.span);
  scrubber.addEventListener("input", () => { state.clock = Number(scrubber.value); sync(); });
  $("play").addEventListener("click", () => setPlaying(!state.playing));
  requestAnimationFrame(frame);
}

main();
