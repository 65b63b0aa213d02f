"""The backstop for a camera that stops without saying so.

A stall normally ends in read(): no frame within stall_timeout raises CameraStall and the
process exits 75 for systemd to restart it. But picamera2 can wedge inside its own event loop
while holding its lock (picamera2 issue #1392: a Pi 4 codec that stops returning buffers),
and then read() and close() block forever. This thread watches the frame loop and, when
nothing has moved for stall_timeout (plus a grace that lets the normal path go first), logs
why and ends the process at once with EX_TEMPFAIL: a wedged thread cannot be joined, so
os._exit is the only way out. The clip being written is recovered at the next start.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from smartcam.errors import CameraStall

log = logging.getLogger(__name__)
GRACE_SECONDS = 1.0


class StallGuard:
    def __init__(self, timeout: float, exit: Callable[[int], object] = os._exit):
        self.timeout = timeout + GRACE_SECONDS
        self._exit = exit
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stall-guard", daemon=True)
        self._thread.start()

    def beat(self) -> None:
        """The camera made progress (a frame, or the start of closing)."""
        self._last = time.monotonic()

    def _watch(self) -> None:
        while not self._stop.wait(min(0.25, self.timeout / 4)):
            quiet = time.monotonic() - self._last
            if quiet > self.timeout:
                log.critical(
                    "the camera has not moved for %.1f s and does not return (a wedged camera "
                    "driver?): exiting %d so systemd restarts it", quiet, CameraStall.exit_status
                )
                logging.shutdown()
                self._exit(CameraStall.exit_status)
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
