"""Runs the real `smartcam camera` process for tests, as systemd would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from smartcam.control.client import ControlClient

BASE_CONF = """\
[camera]
name = cam-test
group = test
source = {source}
resolution = 640x480
lores = 320x240
fps = 20
bitrate = 1M
pre_record = {pre_record}
post_record = {post_record}
max_clip = 60
stall_timeout = 3
control_socket = {dir}/run/control.sock
live_path = {dir}/run/live.jpg
live_fps = 10

[storage]
spool = {dir}/spool
"""


class CameraProcess:
    def __init__(self, directory: Path, source="synthetic:empty", pre_record=1, post_record=1,
                 env: dict[str, str] | None = None):
        self.dir = directory
        self.env = env or {}
        self.conf = directory / "smartcam.conf"
        self.conf.write_text(BASE_CONF.format(
            source=source, dir=directory, pre_record=pre_record, post_record=post_record))
        self.socket = directory / "run" / "control.sock"
        self.outbox = directory / "spool" / "outbox"
        self.recording = directory / "spool" / "recording"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_path = directory / "notify.sock"
        self.notify.bind(str(self.notify_path))
        self._messages: list[tuple[float, str]] = []  # (time.monotonic(), message)
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()
        self.proc: subprocess.Popen | None = None
        self.client: ControlClient | None = None

    def start(self) -> ControlClient:
        env = dict(os.environ, NOTIFY_SOCKET=str(self.notify_path), WATCHDOG_USEC="2000000",
                   **self.env)
        env.pop("WATCHDOG_PID", None)
        self.log = open(self.dir / "camera.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smartcam", "camera", "--config", str(self.conf)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.socket.unlink(missing_ok=True)
        self.client = ControlClient.wait(self.socket, timeout=30)
        assert self.proc.poll() is None, self.output()
        return self.client

    def _collect(self) -> None:
        # Read as systemd would: a unix datagram queue holds only ~10 unread messages.
        while True:
            try:
                message = self.notify.recv(4096).decode()
                self._messages.append((time.monotonic(), message))
            except OSError:
                return

    def notifications(self) -> list[str]:
        """Every message sent to the notify socket so far."""
        return [message for _, message in self.timed_notifications()]

    def timed_notifications(self) -> list[tuple[float, str]]:
        """Every message so far with when it came (time.monotonic())."""
        time.sleep(0.05)
        return list(self._messages)

    def output(self) -> str:
        return (self.dir / "camera.log").read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.proc is not None
        if self.client:
            self.client.close()
            self.client = None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        self.log.close()
        return code

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.kill(signal.SIGTERM)
        if self.proc:
            self.log.close()  # also when the process ended by itself
        if self.client:
            self.client.close()
        self.notify.shutdown(socket.SHUT_RDWR)
        self.notify.close()
        self._collector.join()
