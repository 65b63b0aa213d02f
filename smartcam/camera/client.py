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
    def __init__(self, path: Path, timeout: float = 5.0):
        self.path = Path(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.timeout = timeout
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(str(self.path))
        except OSError:
            self._sock.close()
            raise
        self._file = self._sock.makefile("rb")
        self._ids = itertools.count(1)
        self.pending_events: deque[dict[str, Any]] = deque()

    @classmethod
    def wait(cls, path: Path, timeout: float = 30.0) -> ControlClient:
        """Connect once the camera is up (it may be starting or restarting)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return cls(path)
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
        line = self._file.readline()
        if not line:
            raise ConnectionError("the camera closed the control socket")
        return json.loads(line)

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
