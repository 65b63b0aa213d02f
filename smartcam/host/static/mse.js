// The H.264 live player: the camera's own packets as fragmented MP4 over a WebSocket, appended
// to a Media Source Extensions buffer behind a <video>. (go2rtc's player works the same way.)
// ManagedMediaSource where that is what the browser has (Safari 17, iOS 17.1), else MediaSource.
// Live, not smooth: playback aims LIVE_EDGE_S behind the newest frame, runs a little fast while
// further behind, and jumps to the newest frame after a stall; the buffer behind is trimmed.
const LIVE_EDGE_S = 0.15;
const JUMP_S = 1.0; // further behind than this (a stall, a hidden tab): jump to the edge
const KEEP_S = 6; // seconds kept behind the playback position
const START_MS = 6000; // no picture by then: this browser or path cannot play it

export const MediaSourceKind = window.ManagedMediaSource || window.MediaSource;

// Plays `url` in `video`; calls onPlaying once frames show, onEnd(reason, played) once the
// stream is over for whatever reason. Returns a stop() function.
export function playMse(video, url, { onPlaying, onEnd }) {
  const source = new MediaSourceKind();
  const queue = [];
  let socket = null;
  let buffer = null;
  let played = false;
  let ended = false;
  const end = (reason) => {
    if (ended) return;
    ended = true;
    clearTimeout(startTimer);
    if (socket) socket.close();
    video.removeAttribute("src");
    video.srcObject = null;
    video.load();
    onEnd(reason, played);
  };
  const startTimer = setTimeout(() => end("no picture within the time allowed"), START_MS);

  const append = () => {
    if (!buffer || buffer.updating || ended) return;
    const ranges = buffer.buffered;
    const t = video.currentTime;
    if (ranges.length && t - ranges.start(0) > KEEP_S * 2) {
      buffer.remove(0, t - KEEP_S);
      return; // updateend comes back here
    }
    if (!queue.length) return;
    // everything waiting in one append: fewer round trips through the media pipeline
    const chunk = queue.length === 1 ? queue.pop() : concat(queue.splice(0));
    try {
      buffer.appendBuffer(chunk);
    } catch (err) {
      end(`the browser refused the video (${err.name})`);
    }
  };
  const followEdge = () => {
    const ranges = buffer.buffered;
    if (!ranges.length) return;
    const edge = ranges.end(ranges.length - 1);
    const behind = edge - video.currentTime;
    if (behind > JUMP_S || video.currentTime < ranges.start(0)) {
      video.currentTime = Math.max(ranges.start(0), edge - LIVE_EDGE_S);
    }
    video.playbackRate = behind > LIVE_EDGE_S * 2 ? 1.1 : 1.0;
    if (video.paused) video.play().catch(() => {}); // muted: autoplay is allowed
  };

  video.disableRemotePlayback = true; // Safari opens a ManagedMediaSource only then
  if (window.ManagedMediaSource && MediaSourceKind === window.ManagedMediaSource) {
    video.srcObject = source;
  } else {
    video.src = URL.createObjectURL(source);
  }
  source.addEventListener("sourceopen", () => {
    if (video.src) URL.revokeObjectURL(video.src);
    socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") {
        const stream = JSON.parse(event.data);
        if (!MediaSourceKind.isTypeSupported(stream.mime)) {
          end(`this browser cannot play ${stream.mime}`);
          return;
        }
        buffer = source.addSourceBuffer(stream.mime);
        buffer.mode = "segments";
        buffer.addEventListener("updateend", () => { followEdge(); append(); });
        return;
      }
      queue.push(event.data);
      append();
    });
    socket.addEventListener("close", (event) => end(event.reason || "the stream ended"));
  }, { once: true });
  video.addEventListener("playing", () => {
    if (played || ended) return;
    played = true;
    clearTimeout(startTimer);
    onPlaying();
  });
  return () => end("stopped");
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(new Uint8Array(part), at);
    at += part.byteLength;
  }
  return out;
}
