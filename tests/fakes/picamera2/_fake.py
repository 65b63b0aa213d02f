"""Test hooks of the fake picamera2. The real package has no such module.

Tests reach them as `from picamera2._fake import hooks` once tests/fakes is on sys.path.
"""

from __future__ import annotations

import threading
from typing import Any


class Hooks:
    """Switches that make the fake misbehave; counters that show what the code under test did."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        # Switches.
        self.cameras_attached = 1  # 0: Picamera2() fails the way the real one does with no camera
        self.stall = False  # True: the sensor stops delivering frames (a loose ribbon cable)
        self.make_array_error: BaseException | None = None  # raised by CompletedRequest.make_array
        # Records.
        self.cameras: list[Any] = []  # every Picamera2 constructed, oldest first
        self.created = 0  # requests completed by the "sensor"
        self.recycled = 0  # requests whose last reference was released
        self.handed_out = 0  # requests given to the application by capture_request
        self.released_by_app = 0  # of those, how many the application released

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    @property
    def held_by_app(self) -> int:
        """Requests the application took and has not released yet."""
        return self.handed_out - self.released_by_app

    @property
    def outstanding(self) -> int:
        """Requests not yet recycled: in picamera2's queue, an encoder, or the application."""
        return self.created - self.recycled


hooks = Hooks()
