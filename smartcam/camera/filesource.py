"""A recorded video played as a camera: decoded with PyAV, looped, paced at its own frame rate.

Frames are scaled to the configured main and lores sizes and re-encoded with libx264, so the
rest of the camera sees exactly what a Pi would hand it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import av
import numpy as np

from smartcam.camera.encoder import H264Encoder
from smartcam.camera.frames import Capture, Packet, SourceInfo
from smartcam.camera.pacing import Pacer
from smartcam.errors import SourceError


class FileSource:
    def __init__(self, path: Path, info: SourceInfo, bitrate: int, pace: bool = True):
        self.path = Path(path)
        self.want_main = False
        self.problem: str | None = None
        self._container = self._open()
        rate = self._container.streams.video[0].average_rate
        # Played at the video's own frame rate, so the scene moves as it was filmed.
        self.info = replace(info, fps=float(rate)) if rate else info
        info = self.info
        self._frames = self._container.decode(video=0)
        self._encoder = H264Encoder(info.width, info.height, info.fps, bitrate)
        self._pacer = Pacer(info.fps, pace)

    def _open(self) -> av.container.InputContainer:
        if not self.path.is_file():
            raise SourceError(f"source file:{self.path}: no such file")
        try:
            container = av.open(str(self.path))
        except av.FFmpegError as err:
            problem = f"source file:{self.path}: not a video FFmpeg can read ({err})"
            raise SourceError(problem) from err
        if not container.streams.video:
            container.close()
            raise SourceError(f"source file:{self.path}: has no video stream")
        return container

    def _next_frame(self) -> av.VideoFrame:
        for _ in range(2):  # at the end, start over once
            try:
                return next(self._frames)
            except (StopIteration, av.FFmpegError):
                self._container.seek(0)
                self._frames = self._container.decode(video=0)
        raise SourceError(f"source file:{self.path}: no frame could be decoded")

    @property
    def epoch(self) -> float:
        return self._pacer.epoch

    def read(self, timeout: float = 0.0) -> Capture:
        frame = self._next_frame()
        t = self._pacer.next()
        info = self.info
        yuv = frame.to_ndarray(format="yuv420p", width=info.width, height=info.height)
        lores = frame.to_ndarray(format="gray", width=info.lores_width, height=info.lores_height)
        packets = self._encoder.encode(np.ascontiguousarray(yuv), t)
        return Capture(t, lores, packets, yuv if self.want_main else None)

    def close(self) -> list[Packet]:
        self._container.close()
        return self._encoder.flush()
