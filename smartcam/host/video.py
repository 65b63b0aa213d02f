"""Live H.264 for every viewer from one camera stream: the camera's own packets, never re-encoded.

While anyone watches, one thread reads the camera's video stream (camera/feed.py) and turns each
packet into an fMP4 fragment once (fmp4.py); every viewer gets the same bytes. A new viewer
starts with the init segment and the fragments of the current GOP, so its first picture is the
newest keyframe's. A viewer that cannot keep up (a slow link) is not waited for: its backlog
is dropped and it goes on from the next keyframe. When the camera restarts, the stream ends for
every viewer (its clock and parameters may change) and the page opens a new one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from pathlib import Path

from smartcam.camera.feed import VideoFeed
from smartcam.camera.frames import Packet
from smartcam.host import fmp4

log = logging.getLogger(__name__)
LINGER_SECONDS = 10.0  # the camera stream stays open this long after the last viewer left
BACKLOG_SECONDS = 2.0  # a viewer further behind than this skips to the next keyframe
RETRY_SECONDS = 1.0

Message = str | bytes  # a text message (the stream's description) or fMP4 bytes


class Viewer:
    """One viewer's queue: take() the next message to send, None once the stream has ended."""

    def __init__(self, limit: int):
        self._queue: deque[tuple[Message | None, bool]] = deque()  # (message, droppable)
        self._ready = threading.Condition()
        self.limit = limit  # fragments; past it the backlog is dropped
        self._skipping = False
        self.skipped = 0  # fragments dropped because this viewer fell behind

    def put(self, message: Message | None) -> None:
        """The stream's description, its init segment, its end (None): never dropped."""
        self._put(message, False)

    def put_fragment(self, fragment: bytes, keyframe: bool) -> None:
        with self._ready:
            if self._skipping and not keyframe:
                self.skipped += 1
                return
            self._skipping = False
            if sum(droppable for _, droppable in self._queue) >= self.limit:
                kept = deque(item for item in self._queue if not item[1])
                self.skipped += len(self._queue) - len(kept)
                self._queue = kept
                if not keyframe:  # a decoder can go on only from a keyframe
                    self._skipping = True
                    self.skipped += 1
                    return
        self._put(fragment, True)

    def _put(self, message: Message | None, droppable: bool) -> None:
        with self._ready:
            self._queue.append((message, droppable))
            self._ready.notify()

    def take(self, timeout: float) -> Message | None:
        """The next message; TimeoutError when none comes within timeout seconds."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._queue, timeout):
                raise TimeoutError("no video within the timeout")
            return self._queue.popleft()[0]


class VideoHub:
    def __init__(self, control_socket: Path, linger: float = LINGER_SECONDS):
        self.path = Path(control_socket)
        self.linger = linger
        self._lock = threading.Lock()
        self._viewers: set[Viewer] = set()
        self._start: list[Message] = []  # description and init segment
        self._gop: list[bytes] = []  # the current GOP's fragments, for a viewer who joins now
        self._thread: threading.Thread | None = None
        self._left_at = 0.0  # when the last viewer left
        self._limit = round(BACKLOG_SECONDS * 30)  # fragments a viewer may lag, once fps is known
        self.streams = 0  # camera streams opened, for tests and the bench
        self._feed: VideoFeed | None = None
        self._closed = False

    def close(self) -> None:
        """End every viewer's stream and the camera's; the hub's thread exits."""
        with self._lock:
            self._closed = True
            feed, thread = self._feed, self._thread
        if feed is not None:
            feed.close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    def join(self) -> Viewer:
        with self._lock:
            viewer = Viewer(self._limit)
            self._viewers.add(viewer)
            for message in self._start:
                viewer.put(message)
            for n, fragment in enumerate(self._gop):
                viewer.put_fragment(fragment, keyframe=n == 0)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="video", daemon=True)
                self._thread.start()
            return viewer

    def leave(self, viewer: Viewer) -> None:
        with self._lock:
            self._viewers.discard(viewer)
            if not self._viewers:
                self._left_at = time.monotonic()

    def _idle(self) -> bool:
        return self._closed or (
            not self._viewers and time.monotonic() - self._left_at > self.linger)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._idle():
                    self._thread = None
                    return
            try:
                with VideoFeed(self.path) as feed:
                    with self._lock:
                        self._feed = feed
                    self.streams += 1
                    self._relay(feed)
            except (OSError, ValueError, EOFError) as err:
                log.info("live video: the camera stream ended (%s)", err)
            self._end_stream()
            if not self._closed:
                time.sleep(RETRY_SECONDS)

    def _relay(self, feed: VideoFeed) -> None:
        width, height, fps = int(feed.info["width"]), int(feed.info["height"]), feed.info["fps"]
        duration = round(fmp4.TIMESCALE / fps)
        self._limit = round(BACKLOG_SECONDS * fps)
        origin: float | None = None
        for sequence, packet in enumerate(feed, 1):
            if origin is None:
                if not packet.keyframe:
                    continue
                origin = packet.t
                self._open(packet, width, height)
            ticks = round((packet.t - origin) * fmp4.TIMESCALE)
            data = fmp4.fragment(sequence, ticks, duration, packet.keyframe,
                                 fmp4.sample(packet.data))
            with self._lock:
                if self._idle():
                    return
                if packet.keyframe:
                    self._gop = []  # a new GOP: new viewers start here
                self._gop.append(data)
                for viewer in self._viewers:
                    viewer.put_fragment(data, packet.keyframe)

    def _open(self, keyframe: Packet, width: int, height: int) -> None:
        sps, pps = fmp4.parameter_sets(keyframe.data)
        description = json.dumps({"mime": f'video/mp4; codecs="{fmp4.codec(sps)}"',
                                  "width": width, "height": height})
        with self._lock:
            self._start = [description, fmp4.init_segment(sps, pps, width, height)]
            self._gop = []
            for viewer in self._viewers:
                viewer.limit = self._limit
                for message in self._start:
                    viewer.put(message)

    def _end_stream(self) -> None:
        with self._lock:
            self._feed = None
            self._start, self._gop = [], []
            for viewer in self._viewers:
                viewer.put(None)
            self._viewers.clear()
            self._left_at = time.monotonic()
