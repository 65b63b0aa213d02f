"""Runs the real `smartcam camera` and `smartcam host` processes for tests, as systemd would.

Both read one smartcam.conf: the camera's control socket and live.jpg in <dir>/run, the spool in
<dir>/spool, a local folder <dir>/nas standing in for the NAS (type = local), and the web app on
127.0.0.1 and a free port. start() returns once GET /api/v1/health answers and both processes
are still running.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from smartcam.control.client import ControlClient

CONF = """\
# smartcam.conf for tests: one camera and its host on this machine.
[camera]
name = {name}
group = test
source = {source}
resolution = 640x480
lores = 320x240
fps = {fps}
bitrate = 1M
# seconds of pre-roll kept in memory
pre_record = 1
post_record = {post_record}
max_clip = 60
stall_timeout = 5
control_socket = {dir}/run/control.sock
live_path = {dir}/run/live.jpg
live_fps = 8

[motion]
# the walkers scene moves: tests that want quiet turn this off
enabled = {motion}

[storage]
spool = {dir}/spool
spool_size = 64M
nas = {dir}/nas
type = local

[web]
listen = 127.0.0.1:{port}
video_listen = 127.0.0.1:{video_port}
"""
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HostProcess:
    def __init__(
        self,
        directory: Path,
        source: str = "synthetic:walkers",
        motion: bool = False,
        name: str = "cam-test",
        fps: int = 15,
        post_record: float = 1,
        extra: str = "",
    ):
        self.dir = Path(directory)
        self.name = name
        self.port = free_port()
        self.video_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.conf = self.dir / "smartcam.conf"
        self.conf.write_text(CONF.format(
            name=name, source=source, fps=fps, post_record=post_record, dir=self.dir,
            motion="true" if motion else "false", port=self.port, video_port=self.video_port,
        ) + extra)
        self.socket = self.dir / "run" / "control.sock"
        self.nas = self.dir / "nas"
        self.outbox = self.dir / "spool" / "outbox"
        self.camera: subprocess.Popen[bytes] | None = None
        self.host: subprocess.Popen[bytes] | None = None
        self._logs: list[Any] = []

    def _spawn(self, command: str) -> subprocess.Popen[bytes]:
        log = open(self.dir / f"{command}.log", "ab")
        self._logs.append(log)
        env = dict(os.environ)
        for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "SMARTCAM_CONF"):
            env.pop(name, None)
        return subprocess.Popen(
            [sys.executable, "-m", "smartcam", command, "--config", str(self.conf)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )

    def start(self) -> HostProcess:
        self.socket.unlink(missing_ok=True)
        self.camera = self._spawn("camera")
        ControlClient.wait(self.socket, timeout=START_TIMEOUT).close()
        self.host = self._spawn("host")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.camera.poll() is None, f"the camera exited:\n{self.output('camera')}"
            assert self.host.poll() is None, f"the host exited:\n{self.output('host')}"
            try:
                if self.get("/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"no health answer:\n{self.output('host')}")
            time.sleep(0.1)
        return self

    def alive(self) -> bool:
        return all(p is not None and p.poll() is None for p in (self.camera, self.host))

    def output(self, command: str) -> str:
        path = self.dir / f"{command}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, dict(err.headers), err.read()

    def get(self, path: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, **kwargs)

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, data = self.request(method, path, body)
        return status, json.loads(data)

    def stop(self) -> None:
        for proc in (self.host, self.camera):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.host, self.camera):
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> HostProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
