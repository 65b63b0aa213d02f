"""The host process behind nginx, as on the camera: API latency under load, live view, memory.

One run starts a real camera (synthetic walkers, 1280x720 at 15 fps), a real host (NAS: a local
folder) and nginx with the smartcam site (tests/host/nginx.py) plus a static file server, then:
- latency: GET /api/v1/status through nginx from 50 concurrent keep-alive clients (wrk, or
  threads when wrk is not installed), against nginx serving a small static file in the same
  run; p99 of both and their ratio (nginx answers the status from its one-second cache, the
  site's), and the status p99 straight to waitress, what the cache saves;
- live view: 10 viewers of /live.mjpg through nginx for 60 s: pictures per second each gets
  (multipart parts parsed), the host's CPU seconds per viewer-second (utime + stime from
  /proc/<pid>/stat) over the host's CPU with no viewer, and its VmRSS while they watch, with
  its growth per minute over the second half (a streamed response's bytes stay in waitress's
  output buffer until `outbuf_high_watermark` of them were written: the first seconds ramp).
The host caps its live viewers (web.MAX_VIEWERS); those it turns away count as refused.
Everything it started is stopped, also on error.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from smartcam.apiclient import CameraApi
from smartcam.errors import SmartcamError
from tests.host.nginx import Nginx, free_port

NAME = "bench"
CONF = """\
[camera]
name = {name}
source = synthetic:walkers
resolution = 1280x720
fps = 15
control_socket = {dir}/run/control.sock
live_path = {dir}/run/live.jpg
[storage]
spool = {dir}/spool
nas = {dir}/nas
type = local
[web]
listen = 127.0.0.1:{port}
video_listen = 127.0.0.1:{video_port}
"""
STATIC_SERVER = """\
server {{
    listen 127.0.0.1:{port};
    location / {{
        root {root};
    }}
}}
"""
CLIENTS = 50
LOAD_SECONDS = 3
VIEWERS = 10
WATCH_SECONDS = 60  # long enough for the host's memory to settle (it plateaus near 70 MB)
IDLE_SECONDS = 4
START_TIMEOUT = 30
TICK = os.sysconf("SC_CLK_TCK")


class Process:
    """A subprocess whose output goes to a log file, ended with SIGTERM (then SIGKILL)."""

    def __init__(self, args: list[str], log: Path):
        self.log_path = log
        self._log: IO[bytes] = open(log, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def check(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.log_path.stem} exited with {self.proc.returncode}:\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """CPU seconds of each process still there (nginx's cache loader exits after its start)."""
    found = {}
    for pid in pids:
        try:
            found[pid] = cpu_seconds(pid)
        except OSError:
            pass
    return found


def cpu_since(before: dict[int, float]) -> float:
    """CPU seconds the processes of `before` used since, those gone meanwhile left out."""
    now = cpu_by_pid(list(before))
    return sum(now[pid] - before[pid] for pid in now)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def family(pid: int) -> list[int]:
    """pid and its children (nginx's master and workers)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:  # a kernel without CONFIG_PROC_CHILDREN: the master alone
        children = []
    return [pid, *map(int, children)]


def wait_for(what: str, check: Any, processes: list[Process]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        for process in processes:
            process.check()
        try:
            if check():
                return
        except (OSError, SmartcamError):  # not up yet, or the camera not yet linked (503)
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not within {START_TIMEOUT} s")
        time.sleep(0.1)


# -- latency -------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def wrk(url: str) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CLIENTS}", f"-d{LOAD_SECONDS}s", "--timeout", "10s", "--latency", url],
        capture_output=True, text=True, timeout=LOAD_SECONDS + 30, check=True,
    ).stdout
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.MULTILINE)
    if not p99 or not rps:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    errors += sum(map(int, sock.groups())) if sock else 0
    return {"p99_ms": float(p99.group(1)) * UNITS[p99.group(2)],
            "rps": float(rps.group(1)), "errors": errors}


def threaded_load(url: str) -> dict[str, float]:
    """wrk's figures from 50 keep-alive client threads (slower: the clients share the GIL)."""
    parsed = urllib.request.urlparse(url)
    latencies: list[float] = []
    errors = [0]
    stop_at = time.monotonic() + LOAD_SECONDS

    def client() -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        mine = []
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            try:
                conn.request("GET", parsed.path)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                conn.close()
                continue
            mine.append((time.perf_counter() - start) * 1e3)
        conn.close()
        latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {"p99_ms": latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
            "rps": len(latencies) / LOAD_SECONDS, "errors": errors[0]}


def load(url: str) -> dict[str, float]:
    return wrk(url) if shutil.which("wrk") else threaded_load(url)


# -- live view -----------------------------------------------------------------------------------


class Viewer(threading.Thread):
    """Reads /live.mjpg and counts whole parts (by their Content-Length) until told to stop."""

    def __init__(self, port: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.status = 0
        self.times: list[float] = []
        self.sizes: list[int] = []  # bytes of each part, boundary and headers included
        self.error = ""

    def run(self) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
                # HTTP/1.0: the parts arrive as sent, not inside chunked encoding
                conn.sendall(b"GET /live.mjpg HTTP/1.0\r\nHost: bench\r\n\r\n")
                self.read(conn)
        except (OSError, ValueError) as err:
            self.error = f"{type(err).__name__}: {err}"

    def read(self, conn: socket.socket) -> None:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split()[1])
        if self.status != 200:
            return
        while not self.stop.is_set():
            end = buf.find(b"\r\n\r\n")  # the end of a part's headers
            if end < 0:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                continue
            found = re.search(rb"Content-Length:\s*(\d+)", buf[:end], re.I)
            if not found:
                raise ValueError(f"a part without Content-Length: {buf[:end]!r}")
            length = int(found.group(1))
            need = end + 4 + length + 2
            while len(buf) < need:
                chunk = conn.recv(max(65536, need - len(buf)))
                if not chunk:
                    return
                buf += chunk
            self.times.append(time.monotonic())
            self.sizes.append(need)
            buf = buf[need:]


def watch(port: int, host: Process, camera: Process, nginx_pid: int) -> dict[str, Any]:
    stop = threading.Event()
    viewers = [Viewer(port, stop) for _ in range(VIEWERS)]
    for viewer in viewers:
        viewer.start()
    time.sleep(1.5)  # every viewer connected and its first picture out
    pids = {"host": [host.pid], "camera": [camera.pid], "nginx": family(nginx_pid)}
    before = {k: cpu_by_pid(v) for k, v in pids.items()}
    started = time.monotonic()
    rss: list[tuple[float, float]] = []
    while time.monotonic() - started < WATCH_SECONDS:
        rss.append((time.monotonic() - started, rss_mb(host.pid)))
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    used = {k: cpu_since(before[k]) / elapsed for k in pids}
    stop.set()
    for viewer in viewers:
        viewer.join(5)
    streaming = [v for v in viewers if v.status == 200]
    fps = [sum(started <= t <= started + elapsed for t in v.times) / elapsed for v in streaming]
    return {
        "fps": fps, "streaming": len(streaming), "cpu": used,
        "rss": max(mb for _, mb in rss),
        # Growth once settled: the second half, after each viewer's buffer reached its cap.
        "rss_growth": statistics.linear_regression(
            *zip(*rss[len(rss) // 2 :], strict=True)).slope,
        "refused": sum(v.status not in (0, 200) for v in viewers),
        "errors": [v.error for v in viewers if v.error],
    }


def idle_cpu(*pids: int) -> list[float]:
    """CPU seconds per second of each process while nobody watches or asks."""
    before, started = [cpu_seconds(p) for p in pids], time.monotonic()
    time.sleep(IDLE_SECONDS)
    elapsed = time.monotonic() - started
    return [(cpu_seconds(p) - b) / elapsed for p, b in zip(pids, before, strict=True)]


# -- the run -------------------------------------------------------------------------------------


class Appliance:
    """A camera, its host and nginx with the smartcam site (plus a static server) in directory."""

    def __init__(self, directory: Path, stack: ExitStack):
        (directory / "nas").mkdir()
        web_port, static_port, self.video_port = free_port(), free_port(), free_port()
        conf = directory / "smartcam.conf"
        conf.write_text(CONF.format(name=NAME, dir=directory, port=web_port,
                                    video_port=self.video_port))
        smartcam = [sys.executable, "-m", "smartcam"]
        self.camera = Process([*smartcam, "camera", "--config", str(conf)],
                              directory / "camera.log")
        stack.callback(self.camera.stop)
        self.host = Process([*smartcam, "host", "--config", str(conf)], directory / "host.log")
        stack.callback(self.host.stop)
        self.direct = f"http://127.0.0.1:{web_port}"
        api = CameraApi(self.direct, timeout=5)
        wait_for("the host's camera link", lambda: api.health()["camera_connected"],
                 [self.camera, self.host])
        wait_for("the camera's status", api.status, [self.camera, self.host])
        static = directory / "static"
        static.mkdir()
        with urllib.request.urlopen(self.direct + "/api/v1/status") as response:
            (static / "status.json").write_bytes(response.read())  # the same size
        self.static = f"http://127.0.0.1:{static_port}/status.json"
        self.nginx = stack.enter_context(Nginx(
            directory, upstream=f"127.0.0.1:{web_port}", nas_dir=directory / "nas", camera=NAME,
            extra=STATIC_SERVER.format(port=static_port, root=static),
            video_upstream=f"127.0.0.1:{self.video_port}",
        ))

    def check(self) -> None:
        self.camera.check()
        self.host.check()


def run() -> dict[str, float]:
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        s = Appliance(Path(tmp), stack)
        assert s.nginx.proc is not None
        time.sleep(1.0)  # start-up work done
        host_idle, camera_idle = idle_cpu(s.host.pid, s.camera.pid)
        rss_idle = rss_mb(s.host.pid)

        static_load = load(s.static)
        status_load = load(s.nginx.url + "/api/v1/status")
        direct_load = load(s.direct + "/api/v1/status")
        s.check()
        rss_after_load = rss_mb(s.host.pid)

        live = watch(s.nginx.port, s.host, s.camera, s.nginx.proc.pid)
        s.check()
        if live["errors"]:
            print(f"viewer errors: {live['errors']}", file=sys.stderr)
        fps = live["fps"] or [0.0]
        cpu = live["cpu"]
        streaming = max(1, live["streaming"])
        return {
            "status_p99_ms_via_nginx": round(status_load["p99_ms"], 2),
            "status_p99_ms_direct": round(direct_load["p99_ms"], 2),
            "static_p99_ms_nginx": round(static_load["p99_ms"], 2),
            "status_to_static_p99_ratio": round(status_load["p99_ms"] / static_load["p99_ms"], 1),
            "status_requests_per_s_via_nginx": round(status_load["rps"]),
            "static_requests_per_s_nginx": round(static_load["rps"]),
            "load_errors": status_load["errors"] + direct_load["errors"] + static_load["errors"],
            "load_clients": CLIENTS,
            "live_viewers": VIEWERS,
            "live_viewers_streaming": live["streaming"],
            "live_viewers_refused": live["refused"],
            "live_fps_per_viewer_min": round(min(fps), 2),
            "live_fps_per_viewer_mean": round(statistics.mean(fps), 2),
            "host_cpu_percent_0_viewers": round(100 * host_idle, 1),
            "host_cpu_percent_viewers": round(100 * cpu["host"], 1),
            "host_cpu_s_per_viewer_s": round((cpu["host"] - host_idle) / streaming, 4),
            "camera_cpu_percent_0_viewers": round(100 * camera_idle, 1),
            "camera_cpu_percent_viewers": round(100 * cpu["camera"], 1),
            "nginx_cpu_percent_viewers": round(100 * cpu["nginx"], 1),
            "host_rss_mb_0_viewers": round(rss_idle, 1),
            "host_rss_mb_viewers": round(live["rss"], 1),
            "host_rss_mb_after_load": round(rss_after_load, 1),
            "host_rss_growth_mb_per_min_viewers": round(60 * live["rss_growth"], 1),
            "bench_seconds": round(time.monotonic() - began, 1),
        }
