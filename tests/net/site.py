"""A site of real cameras with their hosts, each pair in a network namespace of its own.

Each camera x is a real `smartcam camera` and a real `smartcam host`, run with `ip netns exec`
in namespace x, whose eth0 (ADDRESS[x]) is wired into the bridge's namespace (netns.Lab). The
test talks to the hosts' APIs from the bridge's namespace and to the cameras over their control
sockets. Used by the cooperation tests and the soak (tests/soak).
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smartcam.control.client import ControlClient
from smartcam.coop.wire import HEADER, TriggerMessage, sign
from tests.net import netns

REPO = Path(__file__).resolve().parents[2]
SECRET = "integration-test-secret-0123456789"
PORT = 8080
ADDRESS = {"a": "192.0.2.1", "b": "192.0.2.2", "c": "192.0.2.3"}
BRIDGE = "192.0.2.254"
CONF = """\
[camera]
name = cam-{x}
group = yard
source = synthetic:{scene}
resolution = 320x240
lores = 160x120
fps = 10
bitrate = 300k
pre_record = 1
post_record = 2
max_clip = 60
stall_timeout = 10
seed = {seed}
control_socket = {dir}/run/control.sock
live_path = {dir}/run/live.jpg

[storage]
spool = {dir}/spool
spool_size = 64M
nas = {nas}
type = {nas_type}

[peers]
enabled = true
secret = {secret}
{peers}
[web]
listen = 0.0.0.0:{port}
"""


def wait_for(check: Callable[[], Any], what: str, timeout: float, site: Site | None = None):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}\n{site.logs() if site else ''}")
        time.sleep(0.25)


class Site:
    """The cameras with their hosts (scenes: x -> synthetic scene), and how a test reaches
    them. `peers` is extra [peers] configuration; `sections` more sections of smartcam.conf;
    `env` extra environment for x's processes."""

    def __init__(self, lab: netns.Lab, root: Path, scenes: dict[str, str],
                 nas: Path | None = None, nas_type: str = "local", peers: str = "",
                 env: dict[str, dict[str, str]] | None = None, sections: str = ""):
        self.lab, self.root, self.scenes = lab, root, scenes
        self.nas = nas or root / "nas"
        self.nas_type, self.peers_conf, self.sections = nas_type, peers, sections
        self.address = {x: ADDRESS[x] for x in scenes}
        self.hosts: dict[str, Any] = {}
        self.cameras: dict[str, Any] = {}
        self.env = dict(os.environ, PYTHONPATH=str(REPO))
        for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "SMARTCAM_CONF"):
            self.env.pop(name, None)
        self.extra_env = env or {}

    @classmethod
    def wired(cls, lab: netns.Lab, root: Path, scenes: dict[str, str], **kwargs: Any) -> Site:
        """The bridge and a namespace per camera, then the Site (nothing started yet)."""
        lab.bridge(f"{BRIDGE}/24")
        for x in scenes:
            lab.host(x, f"{ADDRESS[x]}/24")
        return cls(lab, root, scenes, **kwargs)

    def dir(self, x: str) -> Path:
        return self.root / x

    def conf(self, x: str) -> Path:
        return self.dir(x) / "smartcam.conf"

    def spool(self, x: str) -> Path:
        return self.dir(x) / "spool"

    def setup(self, x: str) -> None:
        self.dir(x).mkdir(parents=True, exist_ok=True)
        self.conf(x).write_text(CONF.format(
            x=x, scene=self.scenes[x], seed=ord(x), dir=self.dir(x), nas=self.nas,
            nas_type=self.nas_type, secret=SECRET, peers=self.peers_conf, port=PORT)
            + self.sections)

    def start(self) -> None:
        """Every camera, then every host; back when each host answers."""
        for x in self.scenes:
            self.setup(x)
            self.start_camera(x)
        for x in self.scenes:
            self.start_host(x)
        for x in self.scenes:
            self.wait_healthy(x)

    def _spawn(self, x: str, command: str):
        log = open(self.dir(x) / f"{command}.log", "ab")
        env = {**self.env, **self.extra_env.get(x, {})}
        try:
            return self.lab.popen(x, [sys.executable, "-m", "smartcam", command, "--config",
                                      str(self.conf(x))], env=env, stdout=log, stderr=log,
                                  cwd=REPO)
        finally:
            log.close()

    def start_camera(self, x: str) -> None:
        sock = self.dir(x) / "run" / "control.sock"
        sock.unlink(missing_ok=True)
        self.cameras[x] = self._spawn(x, "camera")
        ControlClient.wait(sock, timeout=30).close()

    def start_host(self, x: str) -> None:
        self.hosts[x] = self._spawn(x, "host")

    def wait_healthy(self, x: str) -> None:
        def healthy() -> bool:
            assert self.hosts[x].poll() is None, f"host {x} exited:\n{self.log(x, 'host')}"
            try:
                return self.http(x, "GET", "/api/v1/health")[0] == 200
            except OSError:
                return False

        wait_for(healthy, f"host {x} answers", 40, self)

    def renumber(self, x: str, address: str) -> None:
        """x's eth0 gets a new address in place of its current one (as from DHCP)."""
        self.lab.set_address(x, f"{self.address[x]}/24", f"{address}/24")
        self.address[x] = address

    def stop_host(self, x: str) -> None:
        self.lab.end(self.hosts.pop(x))

    def log(self, x: str, command: str) -> str:
        path = self.dir(x) / f"{command}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {x} host ---\n{self.log(x, 'host')}" for x in self.scenes)

    # -- talking to them from the bridge's namespace ------------------------------------------

    def http(self, x: str, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None, address: str | None = None):
        def go() -> tuple[int, Any]:
            conn = http.client.HTTPConnection(address or self.address[x], PORT, timeout=10)
            try:
                conn.request(method, path, body, headers or {})
                response = conn.getresponse()
                data = response.read()
                if "json" not in (response.getheader("Content-Type") or ""):
                    return response.status, data
                return response.status, json.loads(data) if data else None
            finally:
                conn.close()

        return self.lab.call("br", go)

    def peers(self, x: str) -> dict[str, dict[str, Any]]:
        """Whom x's host knows, by name."""
        return {row["name"]: row for row in self.peers_json(x)["peers"]}

    def peers_json(self, x: str) -> dict[str, Any]:
        status, body = self.http(x, "GET", "/api/v1/peers")
        assert status == 200, (
            f"GET /api/v1/peers on cam-{x} answered {status} {body}: is Cooperation wired into "
            "the host (Host.cooperation, serve() and the API routes)?")
        return body

    def trigger(self, x: str, message: TriggerMessage, secret: str = SECRET,
                body: bytes | None = None):
        body = body if body is not None else message.encode()
        headers = {"Content-Type": "application/json", HEADER: sign(body, secret)}
        return self.http(x, "POST", "/api/v1/trigger", body, headers)

    def camera(self, x: str) -> ControlClient:
        return ControlClient(self.dir(x) / "run" / "control.sock", keep_events=False)

    def state(self, x: str) -> dict[str, Any]:
        client = self.camera(x)
        try:
            return client.request("status")["status"]
        finally:
            client.close()

    def clips(self, x: str) -> list[dict[str, Any]]:
        paths = glob.glob(str(self.spool(x) / "outbox" / "*.json"))
        paths += glob.glob(str(self.nas / f"cam-{x}" / "*" / "*.json"))
        out = []
        for path in paths:
            try:
                out.append(json.loads(Path(path).read_text()))
            except (OSError, ValueError):
                continue  # moved by the uploader meanwhile
        return out
