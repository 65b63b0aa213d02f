"""Test hooks of the fake picamera2. The real package has no such module.

Tests reach them as `from picamera2._fake import hooks` once tests/fakes is on sys.path. A test
running the camera as a subprocess sets the switches through the environment instead:
FAKE_PICAMERA2_PLATFORM (vc4 or pisp) and FAKE_PICAMERA2_WEDGE_AFTER (seconds).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

PLATFORMS = ("pisp", "vc4")  # Pi 5 (software H.264) and Pi 4 (the VideoCore's hardware H.264)


class Hooks:
    """Switches that make the fake misbehave; counters that show what the code under test did."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        # Switches.
        self.platform = os.environ.get("FAKE_PICAMERA2_PLATFORM", "pisp")
        assert self.platform in PLATFORMS, self.platform
        self.cameras_attached = 1  # 0: Picamera2() fails the way the real one does with no camera
        self.stall = False  # True: the sensor stops delivering frames (a loose ribbon cable)
        self.make_array_error: BaseException | None = None  # raised by CompletedRequest.make_array
        # Set: the camera's event loop blocks inside process_requests holding Picamera2.lock, as a
        # Pi 4 whose codec stops returning buffers does (picamera2 issue #1392). Clear it to let go.
        self.wedged = threading.Event()
        after = os.environ.get("FAKE_PICAMERA2_WEDGE_AFTER")
        self.wedge_at = time.monotonic() + float(after) if after else None
        # Records.
        self.cameras: list[Any] = []  # every Picamera2 constructed, oldest first
        self.created = 0  # requests completed by the "sensor"
        self.recycled = 0  # requests whose last reference was released
        self.handed_out = 0  # requests given to the application by capture_request
        self.released_by_app = 0  # of those, how many the application released

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def wait_while_wedged(self) -> None:
        if self.wedge_at is not None and time.monotonic() >= self.wedge_at:
            self.wedge_at = None
            self.wedged.set()
        while self.wedged.is_set():
            time.sleep(0.01)

    @property
    def held_by_app(self) -> int:
        """Requests the application took and has not released yet."""
        return self.handed_out - self.released_by_app

    @property
    def outstanding(self) -> int:
        """Requests not yet recycled: in picamera2's queue, an encoder, or the application."""
        return self.created - self.recycled


hooks = Hooks()
