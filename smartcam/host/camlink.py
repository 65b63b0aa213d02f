"""The host's link to the camera process over its control socket.

Either side may restart at any time: the link reconnects with a backoff, and while the camera
is away the page shows it as disconnected instead of failing. One connection listens to the
event stream; requests go over a second one so a reply is never stuck behind events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smartcam.control.client import ControlClient
from smartcam.errors import CameraUnavailable, ControlError

log = logging.getLogger(__name__)
LEVEL_HISTORY = 600  # seconds of the motion level kept for the page's graph
EVENT_HISTORY = 200
LIVE_LEASE = 10.0  # seconds the camera keeps writing live.jpg after a renewal
RETRY_MAX = 2.0
STATUS_TTL = 0.5  # seconds a fetched status answers for: many viewers, one camera round trip

Listener = Callable[[dict[str, Any]], None]


class CameraLink:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.connected = False
        self.last_status: dict[str, Any] | None = None
        self.levels: deque[tuple[float, float]] = deque(maxlen=LEVEL_HISTORY)
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENT_HISTORY)
        self.listeners: list[Listener] = []
        self.alive = time.monotonic()  # the listener loop's last turn, for the watchdog
        self._request_lock = threading.Lock()
        self._status_lock = threading.Lock()  # concurrent callers share one fetch
        self._status_at = float("-inf")
        self._requests: ControlClient | None = None
        self._last_live = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="camlink", daemon=True)

    def start(self) -> CameraLink:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._request_lock:
            if self._requests:
                self._requests.close()
                self._requests = None

    # -- requests ------------------------------------------------------------------------------

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """One request; ControlError for a refusal, CameraUnavailable when nobody answers.

        A kept connection may have gone stale (the camera restarted): one retry on a fresh one.
        """
        with self._request_lock:
            for attempt in (1, 2):
                try:
                    if self._requests is None:
                        self._requests = ControlClient(self.path, keep_events=False)
                    return self._requests.request(cmd, **fields)
                except ControlError:
                    raise
                except (OSError, ValueError) as err:  # refused, reset, timed out, garbled
                    if self._requests:
                        self._requests.close()
                        self._requests = None
                    if attempt == 2:
                        raise CameraUnavailable(
                            f"the camera process is not answering ({err})") from err
        raise AssertionError("unreachable")

    def status(self) -> dict[str, Any] | None:
        """The camera's status (at most STATUS_TTL old), or the last one seen (None if never)."""
        with self._status_lock:
            if time.monotonic() - self._status_at >= STATUS_TTL:
                try:
                    self.last_status = self.request("status")["status"]
                    self._status_at = time.monotonic()
                except CameraUnavailable:
                    pass
            return self.last_status

    def watch_live(self) -> None:
        """Keep the camera writing live.jpg: call while someone watches (rate-limited)."""
        now = time.monotonic()
        if now - self._last_live >= LIVE_LEASE / 3:
            self._last_live = now
            self.request("live", on=True, seconds=LIVE_LEASE)

    # -- the event stream ----------------------------------------------------------------------

    def _listen(self) -> None:
        delay = 0.1
        while not self._stop.is_set():
            self.alive = time.monotonic()
            try:
                client = ControlClient(self.path, timeout=1.0)
            except OSError:
                self.connected = False
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            delay = 0.1
            self.connected = True
            log.info("connected to the camera at %s", self.path)
            try:
                self._pump(client)
            finally:
                client.close()
                self.connected = False

    def _pump(self, client: ControlClient) -> None:
        while not self._stop.is_set():
            self.alive = time.monotonic()
            try:
                event = client.next_event(timeout=1.0)
            except TimeoutError:
                continue
            except (OSError, ValueError):
                log.warning("lost the camera's control socket; reconnecting")
                return
            self._note(event)

    def _note(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "level":
            self.levels.append((event["time"], event["score"]))
        elif kind == "heartbeat":
            self.last_status = event["status"]
        else:
            self.events.append(event)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # one bad listener must not cut the link
                log.exception("event listener failed on %s", kind)
