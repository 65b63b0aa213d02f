"""What a camera source hands the camera process, frame by frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Packet:
    """One encoded H.264 access unit (Annex B bytes), timestamped on the source clock."""

    data: bytes
    t: float  # presentation time in seconds on the source clock
    keyframe: bool


@dataclass(slots=True)
class Capture:
    """One captured frame: the lores luma plane for motion plus the packets encoded since the last.

    Packets and frames share one clock, but an encoder may lag, so `packets` are those that
    became ready, not necessarily this frame's own.
    """

    t: float  # capture time in seconds on the source clock
    lores: np.ndarray  # (lores_height, lores_width) uint8 luma
    packets: list[Packet] = field(default_factory=list)
    # The main stream as one I420 array of shape (height * 3 // 2, width), only while the
    # process asked for it (live view); None otherwise so nobody pays for it.
    yuv: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class SourceInfo:
    width: int
    height: int
    fps: float
    lores_width: int
    lores_height: int


class Source(Protocol):
    """A camera: picamera2, a looped video file, or a synthetic scene."""

    info: SourceInfo
    # Wall-clock seconds (Unix time) at source-clock zero: wall = t + epoch.
    epoch: float
    # Set by the camera process while someone watches; the source then fills Capture.yuv.
    want_main: bool
    # Why frames do not come now (a network source reconnecting), for the page; else None.
    problem: str | None

    def read(self, timeout: float) -> Capture:
        """The next frame; raises CameraStall when none arrives within timeout seconds."""
        ...

    def close(self) -> list[Packet]:
        """Stop capturing and let the camera go. Returns the packets the encoder still held:
        a frame-threaded encoder (a Pi 5's) trails its frames by a few, and they belong to
        the clip being recorded."""
        ...
