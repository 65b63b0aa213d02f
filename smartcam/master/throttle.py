"""Slowing password guessing without ever locking the owner out for good.

Two keys, two rules. Per address: at most `per_address` failures in `window` seconds, then
that address waits until its oldest failure leaves the window. Per account: after `free`
failures in a row, each further attempt waits twice as long as the last (1 s doubling to
`max_delay`), from any address, so a botnet cannot guess one account faster either. A success
clears both, and every wait runs out by itself: Home Assistant's permanent bans lock owners
out of their own house (home-assistant/core#26234). Kept in memory: a restart forgives.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class Throttle:
    def __init__(self, per_address: int = 10, window: float = 600.0, free: int = 3,
                 max_delay: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.per_address, self.window, self.free, self.max_delay = (
            per_address, window, free, max_delay)
        self.clock = clock
        self._lock = threading.Lock()
        self._by_address: dict[str, deque[float]] = {}
        self._by_account: dict[str, tuple[int, float]] = {}  # name -> (failures, last one)

    def wait(self, address: str, account: str) -> float:
        """Seconds before this address may try this account again (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [0.0]
            failures = self._by_address.get(address)
            if failures:
                while failures and now - failures[0] >= self.window:
                    failures.popleft()
                if len(failures) >= self.per_address:
                    waits.append(failures[0] + self.window - now)
            count, last = self._by_account.get(account.lower(), (0, 0.0))
            if count >= self.free:
                waits.append(last + self.delay(count) - now)
            return max(waits)

    def delay(self, failures: int) -> float:
        return min(self.max_delay, 2.0 ** (failures - self.free))

    def failed(self, address: str, account: str) -> None:
        now = self.clock()
        with self._lock:
            self._by_address.setdefault(address, deque()).append(now)
            count, _ = self._by_account.get(account.lower(), (0, 0.0))
            self._by_account[account.lower()] = (count + 1, now)
            self._forget(now)

    def succeeded(self, address: str, account: str) -> None:
        with self._lock:
            self._by_address.pop(address, None)
            self._by_account.pop(account.lower(), None)

    def _forget(self, now: float) -> None:
        """Drop keys whose waits ran out, so a spray of addresses cannot grow memory forever."""
        if len(self._by_address) + len(self._by_account) < 10_000:
            return
        self._by_address = {a: f for a, f in self._by_address.items()
                            if f and now - f[-1] < self.window}
        self._by_account = {a: (n, t) for a, (n, t) in self._by_account.items()
                            if now - t < self.max_delay}
