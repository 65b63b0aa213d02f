// One incident's clips from every camera, replayed on one clock: the master's incident page
// and the offline page inside an evidence export both run this file (the export inlines it,
// so it imports nothing). Each video plays at clock - offset (offset: its UTC start minus the
// incident's start, from the sidecars). Drift beyond 0.25 s is corrected by a seek, smaller
// drift by nudging playbackRate; the clock waits while a video that should play is loading.
// Names and causes come from the cameras: they are put in as text, never as HTML.
// byId() finds the controls replay() made (the clock's loop runs after they exist).

const SEEK_DRIFT = 0.25;
const NUDGE = 0.05;
const state = { clock: 0, span: 0, playing: false, last: null, clips: [] };
const byId = (id) => document.getElementById(id);

function node(tag, cls, text, ...children) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text) n.textContent = text;
  n.append(...children);
  return n;
}

const when = (seconds) => new Date(seconds * 1000).toLocaleString();

function lane(clip) {
  const bar = node("div", "bar");
  const pre = node("div", "pre");
  bar.title = `${clip.camera}: ${clip.cause}`;
  pre.title = "pre-roll (before the trigger)";
  bar.append(pre);
  // Positions through the CSSOM: the master's Content-Security-Policy forbids style attributes.
  bar.style.left = `${(100 * clip.offset) / state.span}%`;
  bar.style.width = `${(100 * clip.duration) / state.span}%`;
  pre.style.width = `${(100 * Math.min(clip.pre_record, clip.duration)) / clip.duration}%`;
  return node("div", "lane", "", node("span", "lane-name", clip.camera), node("div", "track", "", bar));
}

function tile(clip, origin) {
  const video = node("video", "");
  video.src = clip.video;
  video.preload = "auto";
  video.muted = true;
  video.playsInline = true;
  const note = node("p", "note");
  const role = clip.camera === origin ? "origin" : clip.cause === "peer" ? "woken by the group" : clip.cause;
  const head = node("h3", "", `${clip.camera} `, node("span", `badge ${clip.camera === origin ? "rec" : "ok"}`, role));
  const figure = node("figure", "clip", "", node("div", "frame", "", video, note), node("figcaption", "", "", head,
    node("span", "muted", `starts ${when(clip.start)} · ${clip.duration.toFixed(1)} s · ` +
      `pre-roll ${clip.pre_record.toFixed(1)} s${clip.interrupted ? " · interrupted" : ""}`)));
  figure.dataset.camera = clip.camera;
  return { ...clip, video, note, node: figure };
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
  byId("scrubber").value = String(state.clock);
  byId("clock").textContent = `${state.clock.toFixed(1)} s / ${state.span.toFixed(1)} s`;
  requestAnimationFrame(frame);
}

function setPlaying(on) {
  state.playing = on;
  state.last = null;
  byId("play").textContent = on ? "Pause" : "Play";
}

// For tests and the curious: where each video is against the shared clock.
window.smartcamSync = () => state.clips.map((c) => ({
  camera: c.camera, clock: state.clock, want: state.clock - c.offset,
  at: c.video.currentTime, paused: c.video.paused, ready: c.video.readyState,
}));
window.smartcamPlay = (on) => setPlaying(on);
window.smartcamSeek = (t) => { state.clock = Math.max(0, Math.min(state.span, t)); };

// Builds the player (title, summary, warnings, a tile per clip, the clock's controls) inside
// `root` for one incident (the JSON of GET /api/incidents/<id>) and starts its clock. Every
// page that replays an incident holds only the empty root: the markup lives here, once.
export function replay(data, root) {
  state.span = Math.max(0.1, data.end - data.start);
  const play = node("button", "", "Play");
  play.type = "button";
  play.id = "play";
  const clock = node("span", "clock", "0.0 s");
  clock.id = "clock";
  const scrubber = node("input", "");
  Object.assign(scrubber, { id: "scrubber", type: "range", min: "0", step: "0.05", value: "0",
    max: String(state.span) });
  scrubber.setAttribute("aria-label", "time in the incident");
  state.clips = data.clips.map((c) => tile(c, data.origin));
  root.replaceChildren(
    node("h2", "", `Incident ${data.incident}`),
    node("p", "muted", `${when(data.start)} · ${data.cameras.length} camera(s), ` +
      `started by ${data.origin} · ${state.span.toFixed(1)} s`),
    node("ul", "warnings", "", ...data.warnings.map((w) => node("li", "", w))),
    node("div", "videos", "", ...state.clips.map((c) => c.node)),
    node("div", "controls card", "", play, clock, node("div", "lanes", "", ...data.clips.map(lane)),
      scrubber),
  );
  scrubber.addEventListener("input", () => { state.clock = Number(scrubber.value); sync(); });
  play.addEventListener("click", () => setPlaying(!state.playing));
  requestAnimationFrame(frame);
}
