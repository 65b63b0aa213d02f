"""live.jpg for the web page: written at a set rate, and only while someone watches.

Watching is a lease: the host renews it while it has viewers, so a host that dies does not
leave the camera encoding JPEGs for nobody.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import simplejpeg

from smartcam.files import write_atomic

LEASE_SECONDS = 10.0


class LiveView:
    def __init__(self, path: Path, fps: float):
        self.path = Path(path)
        self.interval = 1.0 / fps
        self._slack = 0.0  # set by the camera from its own frame interval
        self._until = 0.0  # source-clock time when the lease runs out
        self._last = -1e18

    def frame_interval(self, seconds: float) -> None:
        self._slack = seconds / 2

    def watch(self, now: float, seconds: float = LEASE_SECONDS) -> None:
        self._until = now + max(0.0, seconds)

    def stop(self) -> None:
        self._until = 0.0

    def active(self, now: float) -> bool:
        return now < self._until

    def due(self, now: float) -> bool:
        # Half a frame of slack: frame times jitter, and a strict >= would skip to the next.
        return self.active(now) and now - self._last >= self.interval - self._slack

    def write(self, yuv: np.ndarray, now: float) -> None:
        """Encode one I420 frame (height * 3 // 2, width) to live.jpg, atomically."""
        height, width = yuv.shape[0] * 2 // 3, yuv.shape[1]
        chroma = yuv[height:].reshape(2, height // 2, width // 2)
        jpeg = simplejpeg.encode_jpeg_yuv_planes(
            np.ascontiguousarray(yuv[:height]), chroma[0], chroma[1], quality=75
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, jpeg, 0o644)
        self._last = now
