"""The master: its index over 100,000 sidecars against a plain scan of the same folders, its
cost with 50 cameras and 1 or 10 people watching the grid, and exporting an incident of six
clips of 5 MB and of 50 MB (the peak memory must not grow with the clips).

index: rebuilding the index from the NAS, and the timeline query's median and p99 (filters by
camera, day, cause and paging), beside answering one timeline query by reading every sidecar
(what a master without an index would do), in the same run.

fleet: `smartcam master` as a process with 50 stand-in cameras (threads answering health and
/snapshot.jpg, counting what they are asked); 1 viewer, then 10, each loading every tile's
picture every 2 s with one request in flight as the grid does. Pictures fetched from the cameras
per second stay under one per camera per PICTURE_EVERY however many watch (one viewer's polls
meet a copy still fresh about half the time, so one viewer fetches less than the cap, ten reach
it); the master's CPU and memory are read from /proc.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from smartcam.master import passwords
from smartcam.master.fleet import PICTURE_EVERY
from smartcam.master.index import ClipIndex
from smartcam.storage.mount import Nas
from tests.host.hostproc import free_port
from tests.master.world import T0, master_config

CAMERAS, DAYS, PER_DAY = 10, 100, 100  # 100,000 clips
FLEET = 50
PASSWORD = "a long bench password"
WATCH_SECONDS = 20.0


def make_tree(nas: Path) -> None:
    """Sidecars as the cameras write them (the fields the index reads), no videos."""
    heat = [[7] * 16] * 16
    for cam in range(CAMERAS):
        camera = f"cam-{cam:02d}"
        for day in range(DAYS):
            start0 = T0 - 43200 + day * 86400  # midnight: a day's clips in its own folder
            folder = nas / camera / time.strftime("%Y-%m-%d", time.gmtime(start0))
            folder.mkdir(parents=True)
            for n in range(PER_DAY):
                start = start0 + n * 600 + cam
                event = f"{cam:02x}{day:04x}{n:06x}"
                incident = f"{0:02x}{day:04x}{n:06x}"  # every camera joins cam-00's incident
                stem = f"{camera}_{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(start))}_{event}"
                card = {"schema": 1, "camera": camera, "group": "yard", "event": event,
                        "incident": incident, "incidents": [incident],
                        "cause": "motion" if cam == 0 else "peer", "origin": "cam-00",
                        "start": _iso(start), "end": _iso(start + 12), "trigger_time":
                        _iso(start + 3), "pre_record": 3.0, "size": 1000, "sha256": "0" * 64,
                        "thumbnail": f"{stem}.jpg", "heatmap": heat, "motion_peak": 4.0,
                        "interrupted": False, "clock_synced": True, "part": 1}
                (folder / f"{stem}.json").write_text(json.dumps(card))


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def plain_scan(nas: Path, camera: str | None) -> list[dict[str, Any]]:
    """One timeline answer without an index: read every sidecar, group by incident."""
    incidents: dict[str, float] = {}
    for cam in sorted(os.listdir(nas)):
        if camera and cam != camera:
            continue
        for day in os.listdir(nas / cam):
            for name in os.listdir(nas / cam / day):
                card = json.loads((nas / cam / day / name).read_bytes())
                incidents[card["incident"]] = min(incidents.get(card["incident"], 1e12),
                                                  T0)
    return sorted(incidents.items())[:50]


def bench_index(root: Path) -> dict[str, Any]:
    make_tree(root / "nas")
    cfg = master_config(root)
    index = ClipIndex(root / "state" / "index.db", Nas(cfg))
    started = time.perf_counter()
    report = index.reconcile()
    rebuild = time.perf_counter() - started
    rng = random.Random(1)
    samples = []
    for i in range(300):
        kind = i % 4
        started = time.perf_counter()
        if kind == 0:
            index.timeline(None)
        elif kind == 1:
            index.timeline(None, camera=f"cam-{rng.randrange(CAMERAS):02d}")
        elif kind == 2:
            index.timeline(("cam-03", "cam-07"), day=time.strftime(
                "%Y-%m-%d", time.gmtime(T0 + rng.randrange(DAYS) * 86400)))
        else:
            index.timeline(None, cause="peer", before=T0 + rng.randrange(DAYS) * 86400)
        samples.append(time.perf_counter() - started)
    started = time.perf_counter()
    index.incident(f"{0:02x}{50:04x}{10:06x}", None)
    one_incident = time.perf_counter() - started
    started = time.perf_counter()
    plain_scan(root / "nas", None)
    scan = time.perf_counter() - started
    index.close()
    p99 = sorted(samples)[int(len(samples) * 0.99) - 1]
    return {
        "clips": report["clips"],
        "rebuild_s": round(rebuild, 2),
        "timeline_median_ms": round(statistics.median(samples) * 1000, 2),
        "timeline_p99_ms": round(p99 * 1000, 2),
        "incident_ms": round(one_incident * 1000, 2),
        "plain_scan_s": round(scan, 2),
        "scan_over_p99": round(scan / p99),
        "index_mb": round((root / "state" / "index.db").stat().st_size / 2**20, 1),
    }


class StandIn(http.server.BaseHTTPRequestHandler):
    """A camera as the master sees it: health and a small JPEG, counted."""

    counts: dict[int, int] = {}
    jpeg = b"\xff\xd8\xff\xe0" + b"\0" * 20_000 + b"\xff\xd9"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        port = self.server.server_address[1]
        if self.path == "/snapshot.jpg":
            StandIn.counts[port] = StandIn.counts.get(port, 0) + 1
            body, kind = self.jpeg, "image/jpeg"
        else:
            body = json.dumps({"ok": True, "camera": f"p{port}", "group": "g", "time":
                               time.time(), "version": "bench", "problems": []}).encode()
            kind = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def login(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/api/login", json.dumps({"username": "bench", "password": PASSWORD}),
                 {"Content-Type": "application/json"})
    answer = conn.getresponse()
    answer.read()
    cookie = answer.getheader("Set-Cookie", "").split(";")[0]
    conn.close()
    return cookie


def viewer(port: int, cookie: str, names: list[str], stop: threading.Event,
           served: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        round_start = time.monotonic()
        for name in names:
            conn.request("GET", f"/api/cameras/{name}/picture.jpg", headers={"Cookie": cookie})
            answer = conn.getresponse()
            answer.read()
            served[0] += answer.status == 200
        stop.wait(max(0.0, 2.0 - (time.monotonic() - round_start)))
    conn.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_fleet(root: Path) -> dict[str, Any]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn) for _ in range(FLEET)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    port = free_port()
    statics = ", ".join(f"127.0.0.1:{s.server_address[1]}" for s in servers)
    master_config(root, f"static = {statics}\n")
    conf = root / "smartcam.conf"
    conf.write_text(conf.read_text().replace(
        "[master]\n", f"[master]\nlisten = 127.0.0.1:{port}\nusername = bench\n"
        f"password_hash = {passwords.hash_password(PASSWORD)}\n"))
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    proc = subprocess.Popen([sys.executable, "-m", "smartcam", "master", "--config", str(conf)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                cookie = login(port)
                break
            except OSError:
                assert time.monotonic() < deadline, "the master did not start"
                time.sleep(0.2)
        names = [f"127.0.0.1:{s.server_address[1]}" for s in servers]
        time.sleep(2)  # the first health round
        out: dict[str, Any] = {"cameras": FLEET}
        for viewers in (1, 10):
            StandIn.counts.clear()
            stop, served = threading.Event(), [0]
            threads = [threading.Thread(target=viewer, args=(port, cookie, names, stop, served))
                       for _ in range(viewers)]
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            for t in threads:
                t.start()
            time.sleep(WATCH_SECONDS)
            stop.set()
            for t in threads:
                t.join()
            seconds = time.monotonic() - t0
            out[f"{viewers}_viewers"] = {
                "pictures_served_per_s": round(served[0] / seconds, 1),
                "camera_fetches_per_s": round(sum(StandIn.counts.values()) / seconds, 1),
                "master_cpu_percent": round(100 * (cpu_seconds(proc.pid) - cpu0) / seconds, 1),
                "master_rss_mb": round(rss_mb(proc.pid), 1),
            }
        # however many watch, a camera is asked at most once per PICTURE_EVERY
        out["fetch_cap_per_s"] = round(FLEET / PICTURE_EVERY, 1)
        out["fetch_ratio_10_over_1"] = round(
            out["10_viewers"]["camera_fetches_per_s"]
            / max(0.1, out["1_viewers"]["camera_fetches_per_s"]), 2)
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for s in servers:
            s.shutdown()
            s.server_close()


def bench_export(root: Path, clip_mb: int) -> dict[str, Any]:
    """An incident of 6 clips of clip_mb each, exported as the route does; the master's peak
    Python memory while it streams (tracemalloc), and the time."""
    import tracemalloc

    from smartcam.master.api.incidents import describe_incident
    from smartcam.master.export import export_zip
    from tests.master.world import put_clip

    nas = root / "nas"
    for n in range(6):
        put_clip(nas, f"cam-{n}", T0 + n, f"eeeeeeee{n:04d}", incident="eeeeeeee0000",
                 video=os.urandom(clip_mb << 20))
    index = ClipIndex(root / "state" / "index.db", Nas(master_config(root)))
    index.reconcile()
    clips = index.incident("eeeeeeee0000", None)
    index.close()
    incident = describe_incident("eeeeeeee0000", clips, type("F", (), {"status": {}})())
    tracemalloc.start()
    started = time.perf_counter()
    size = sum(len(chunk) for chunk in export_zip(nas, incident, "bench"))
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"clips": 6, "clip_mb": clip_mb, "zip_mb": round(size / 2**20, 1),
            "seconds": round(seconds, 2), "mb_per_s": round(size / 2**20 / seconds),
            "peak_python_mb": round(peak / 2**20, 1)}


def run() -> dict[str, Any]:
    exports = {}
    for clip_mb in (5, 50):
        with tempfile.TemporaryDirectory() as tmp:
            exports[f"{clip_mb}mb_clips"] = bench_export(Path(tmp), clip_mb)
    exports["peak_ratio_50_over_5"] = round(exports["50mb_clips"]["peak_python_mb"]
                                            / exports["5mb_clips"]["peak_python_mb"], 2)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "index").mkdir()
        index = bench_index(Path(tmp) / "index")
    with tempfile.TemporaryDirectory() as tmp:
        fleet = bench_fleet(Path(tmp))
    return {"index": index, "fleet": fleet, "export": exports}
