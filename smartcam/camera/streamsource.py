"""An H.264 stream from elsewhere as a camera: an RTSP IP camera, or another smartcam's RTSP out.

Its packets go into the ring untouched (nothing is re-encoded); frames are decoded only for what
needs pictures: the low-resolution luma for motion, and the main picture while someone watches
MJPEG. Through FFmpeg (PyAV) over TCP, with a timeout on every read: a camera that goes away,
restarts or stops sending is reconnected with a growing pause, its trouble told in `problem`
(the page shows it), until stall_timeout passes without a frame; then read() raises
CameraStall and the process exits 75 for systemd to start again.

Timestamps are the stream's own, laid onto this machine's monotonic clock at connect, and laid
again when they jump more than a couple of seconds from it (a sender's clock that was reset).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from fractions import Fraction
from typing import Any

import av

from smartcam.camera.annexb import AccessUnits
from smartcam.camera.frames import Capture, Packet, SourceInfo
from smartcam.config.values import without_password
from smartcam.errors import CameraStall, SourceError

log = logging.getLogger(__name__)
READ_SECONDS = 5.0  # a read waits at most this long for the sender (FFmpeg's own timeout)
RETRY_FIRST, RETRY_MOST = 0.5, 8.0  # seconds between reconnects, doubling
DRIFT_SECONDS = 2.0  # further from our clock than this, the stream's timestamps are laid again


class StreamSource:
    def __init__(self, url: str, info: SourceInfo):
        self.url = url
        self.shown = without_password(url)  # for logs and the page
        self.want_main = False
        self.problem: str | None = None  # why no frames come now, while reconnecting
        self._wanted = info  # lores size from the config; the rest comes from the stream
        self._container: Any = None
        self._packets: Any = None
        self._units = AccessUnits()
        self._offset: float | None = None  # monotonic seconds minus stream seconds
        self._pending: list[Packet] = []  # packets read since the last frame
        self._frames: deque[tuple[float, Any]] = deque()
        try:  # the first connection must work: a wrong URL is a config mistake
            self._connect()
        except (av.FFmpegError, SourceError) as err:
            raise SourceError(f"source {self.shown}: cannot open it ({self._why(err)})"
                              ) from err
        self.info = self._info()

    # -- the connection --------------------------------------------------------------------

    def _connect(self, wait: float = READ_SECONDS) -> None:
        """Open the stream, waiting at most `wait` seconds for the sender to answer."""
        options = {"rtsp_transport": "tcp", "timeout": str(int(READ_SECONDS * 1_000_000))}
        container = av.open(self.url, options=options, timeout=(wait, READ_SECONDS))
        streams = container.streams.video
        if not streams or streams[0].codec_context.name != "h264":
            container.close()
            what = streams[0].codec_context.name if streams else "no video"
            raise SourceError(f"it sends {what}; smartcam records H.264 as it comes (set the "
                              "camera's encoder to H.264)")
        stream = streams[0]
        stream.codec_context.thread_type = "AUTO"  # decoding is for motion only: threads are fine
        if stream.codec_context.extradata:
            self._units.take(stream.codec_context.extradata)  # SPS and PPS from the SDP
        self._container, self._stream = container, stream
        self._packets = container.demux(stream)
        self._offset = None

    def _info(self) -> SourceInfo:
        context, stream = self._stream.codec_context, self._stream
        rate = stream.average_rate or stream.guessed_rate or Fraction(self._wanted.fps)
        width, height = context.width, context.height
        if width < self._wanted.lores_width or height < self._wanted.lores_height:
            raise SourceError(f"source {self.shown}: {width}x{height} is smaller than "
                              f"[camera] lores {self._wanted.lores_width}x"
                              f"{self._wanted.lores_height}")
        return SourceInfo(width, height, float(rate), self._wanted.lores_width,
                          self._wanted.lores_height)

    def _why(self, err: Exception) -> str:
        """An error's text without the password (FFmpeg's name the URL)."""
        if isinstance(err, av.ExitError):  # PyAV's timeout interrupted FFmpeg
            return f"no answer within {READ_SECONDS:g} s"
        return str(err).replace(self.url, self.shown)

    def _drop(self, why: str) -> None:
        if self.problem is None:
            log.warning("source %s: %s; reconnecting", self.shown, why)
        self.problem = f"reconnecting to {self.shown} ({why})"
        if self._container is not None:
            self._container.close()
        self._container = self._packets = None
        self._pending.clear()  # a picture cut off mid-way is no picture

    @property
    def epoch(self) -> float:
        return time.time() - time.monotonic()

    # -- frames ------------------------------------------------------------------------------

    def read(self, timeout: float) -> Capture:
        deadline = time.monotonic() + timeout
        pause = RETRY_FIRST
        while True:
            if self._frames:
                t, frame = self._frames.popleft()
                packets, self._pending = self._pending, []
                return self._capture(t, frame, packets)
            try:
                if self._container is None:  # within the time left, or the guard ends us
                    self._connect(max(0.5, min(READ_SECONDS, deadline - time.monotonic())))
                    log.info("source %s: connected again", self.shown)
                self._next_packet()
                continue
            except (av.FFmpegError, OSError, SourceError) as err:
                self._drop(self._why(err))
            except StopIteration:
                self._drop("the stream ended")
            left = deadline - time.monotonic()
            if left <= 0:
                raise CameraStall(f"no frame in {timeout:g} s: {self.problem}")
            time.sleep(min(pause, left))
            pause = min(pause * 2, RETRY_MOST)

    def _next_packet(self) -> None:
        packet = next(self._packets)
        if packet.size == 0 or (packet.pts is None and packet.dts is None):
            return
        t = self._time(float((packet.pts if packet.pts is not None else packet.dts)
                             * packet.time_base))
        unit = self._units.take(bytes(packet))
        if unit is not None:
            data, keyframe = unit
            self._pending.append(Packet(data, t, keyframe))
        try:
            for frame in packet.decode():
                self._frames.append((self._time(float(frame.time)) if frame.time is not None
                                     else t, frame))
        except av.InvalidDataError:
            pass  # a damaged picture: the packet is recorded as it came, motion skips it

    def _time(self, stream_seconds: float) -> float:
        now = time.monotonic()
        if self._offset is None or abs(stream_seconds + self._offset - now) > DRIFT_SECONDS:
            self._offset = now - stream_seconds
        return stream_seconds + self._offset

    def _capture(self, t: float, frame: Any, packets: list[Packet]) -> Capture:
        self.problem = None
        info = self.info
        lores = frame.to_ndarray(format="gray", width=info.lores_width, height=info.lores_height)
        yuv = (frame.to_ndarray(format="yuv420p", width=info.width, height=info.height)
               if self.want_main else None)
        return Capture(t, lores, packets, yuv)

    def close(self) -> list[Packet]:
        """Packets read after the last decoded frame still belong to the clip being written."""
        if self._container is not None:
            self._container.close()
        tail, self._pending = self._pending, []
        return tail
