"""A blocking client of the camera's control socket (used by the host and by tests)."""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections import deque
from pathlib import Path
from typing import Any

from smartcam.errors import ControlError


class ControlClient:
    def __init__(self, path: Path, timeout: float = 5.0, keep_events: bool = True):
        self.path = Path(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.timeout = timeout
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(str(self.path))
        except OSError:
            self._sock.close()
            raise
        self._buffer = b""  # our own, not makefile(): a timed-out makefile cannot be read again
        self._ids = itertools.count(1)
        # Events that arrive while waiting for a reply; a client that only sends requests
        # keeps none, so it cannot grow without bound.
        self.pending_events: deque[dict[str, Any]] = deque(maxlen=None if keep_events else 0)
        if not keep_events:
            try:
                self.request("mute")  # the camera then sends this connection no events at all
            except (OSError, ValueError, ControlError):
                self._sock.close()
                raise

    @classmethod
    def wait(cls, path: Path, timeout: float = 30.0, **kwargs: Any) -> ControlClient:
        """Connect once the camera is up (it may be starting or restarting)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return cls(path, **kwargs)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def send_line(self, line: bytes) -> None:
        self._sock.sendall(line)

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Send one request and return its reply; events that arrive meanwhile are kept."""
        ident = next(self._ids)
        self.send_line((json.dumps({"cmd": cmd, "id": ident, **fields}) + "\n").encode())
        while True:
            message = self._read()
            if message.get("id") == ident:
                if not message.get("ok"):
                    raise ControlError(message.get("error", "request failed"))
                return message
            if "event" in message:
                self.pending_events.append(message)

    def read_reply(self) -> dict[str, Any]:
        """The next message that is not an event (for raw send_line use)."""
        while "event" in (message := self._read()):
            self.pending_events.append(message)
        return message

    def next_event(self, name: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """The next event (of that name), waiting up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            while self.pending_events:
                event = self.pending_events.popleft()
                if name is None or event["event"] == name:
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {name or 'event'} within {timeout} s")
            self._sock.settimeout(left)
            try:
                message = self._read()
            finally:
                self._sock.settimeout(self.timeout)
            if "event" in message:
                self.pending_events.append(message)

    def _read(self) -> dict[str, Any]:
        """The next message; a timeout leaves a partly received line for the next call."""
        while b"\n" not in self._buffer:
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionError("the camera closed the control socket")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
