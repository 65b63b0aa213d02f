"""systemd's notify protocol with the standard library: READY, STATUS and the watchdog."""

from __future__ import annotations

import os
import socket
import time


class Notifier:
    """Talks to $NOTIFY_SOCKET when systemd set one; does nothing otherwise."""

    def __init__(self, env: dict[str, str] | None = None):
        env = dict(os.environ if env is None else env)
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        self._address = address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if address else None
        if self._socket is not None:
            self._socket.setblocking(False)  # a full notify queue must not stall the frames
        usec = int(env.get("WATCHDOG_USEC", "0") or 0)
        pid = env.get("WATCHDOG_PID")
        mine = pid is None or pid == str(os.getpid())
        # Ping at half the interval, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval = usec / 2e6 if usec and mine else 0.0
        self._last_ping = 0.0

    def send(self, message: str) -> None:
        if self._socket is not None:
            try:
                self._socket.sendto(message.encode(), self._address)
            except OSError:
                pass  # systemd is gone or busy; a lost ping is retried at the next frame

    def ready(self, status: str = "") -> None:
        self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog(self, now: float | None = None) -> None:
        """Ping the watchdog (rate-limited). Call only when real progress was made."""
        if not self.watchdog_interval:
            return
        now = time.monotonic() if now is None else now
        if now - self._last_ping >= self.watchdog_interval:
            self._last_ping = now
            self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
