"""The clock of the simulated sources: frame n is due at start + n / fps on CLOCK_MONOTONIC.

Paced (the camera process), a source sleeps until each frame is due, like a real sensor.
Unpaced (tests, benchmarks) it returns the same timestamps at once, so a minute of video
takes only as long as it takes to compute.
"""

from __future__ import annotations

import time


class Pacer:
    def __init__(self, fps: float, pace: bool = True):
        self.fps = fps
        self.pace = pace
        self.start = time.monotonic()
        self.frame = 0

    @property
    def epoch(self) -> float:
        """Wall-clock seconds at monotonic zero, now: wall = t + epoch. Read afresh each time,
        so it follows the wall clock when NTP sets or steps it, as picam's does."""
        return time.time() - time.monotonic()

    def next(self) -> float:
        """The timestamp of the next frame, after sleeping until it is due when paced."""
        t = self.start + self.frame / self.fps
        self.frame += 1
        if self.pace:
            delay = t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return t
