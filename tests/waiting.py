"""Time in tests: a fake clock to step by hand, and polling for a condition with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
NOW = 1_700_000_000.0  # a fixed "now" for fake clocks (2023-11-14)


class Clock:
    """A clock that only moves when told to."""

    def __init__(self, t: float = NOW):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def wait_for(check: Callable[[], T], timeout: float = 30.0, what: str = "the condition",
             poll: float = 0.05) -> T:
    """check()'s first truthy value; AssertionError naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)
    return result
