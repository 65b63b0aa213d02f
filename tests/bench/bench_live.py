"""The live view, H.264 (fMP4 over a WebSocket, for MSE) beside MJPEG, as on the camera.

One run starts bench_host's appliance (a real camera: synthetic walkers, 1280x720 at 15 fps; its
host; nginx with the smartcam site) and, for each of MSE and MJPEG with 1 and 10 viewers (Python
clients through nginx that read and count, decoding nothing), measures over WINDOW seconds:
the camera's and the host's CPU (utime + stime from /proc) beside the same with nobody watching
(the baseline, as a ratio), and each viewer's bytes and pictures per second. Then Debian's
chromium plays each kind once (MJPEG with MediaSource deleted from the page) and reads the
synthetic camera's clock back from the picture it shows: the glass-to-glass latency.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from tests.bench.bench_host import Appliance, Viewer, cpu_by_pid, cpu_since, family

WARMUP = 2.0  # every viewer connected and streaming before the window opens
WINDOW = 10.0
LINGER = 12.0  # after a scenario: the camera's live lease and the host's video stream lapse
COUNTS = (1, 10)


class WsViewer(threading.Thread):
    """/live.ws through nginx: counts bytes and fragments (one per picture). (MJPEG's viewer
    is bench_host's, which reads /live.mjpg part by part.)"""

    def __init__(self, url: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.url, self.stop = url, stop
        self.arrivals: list[tuple[float, int]] = []  # (time.monotonic(), bytes)
        self.error = ""

    def run(self) -> None:
        try:
            with connect(self.url, origin=self.url.replace("ws:", "http:").rsplit("/", 1)[0],
                         max_size=None) as ws:
                while not self.stop.is_set():
                    message = ws.recv(timeout=5)
                    if isinstance(message, bytes) and message[4:8] == b"moof":
                        self.arrivals.append((time.monotonic(), len(message)))
        except Exception as err:  # noqa: BLE001 - reported beside the figures
            self.error = f"{type(err).__name__}: {err}"


def usage(pids: dict[str, list[int]], seconds: float) -> dict[str, float]:
    """CPU seconds per second of each group of processes over the next `seconds`."""
    before, started = {k: cpu_by_pid(v) for k, v in pids.items()}, time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return {k: cpu_since(before[k]) / elapsed for k in pids}


def scenario(s: Appliance, kind: str, count: int, pids: dict[str, list[int]]) -> dict[str, Any]:
    stop = threading.Event()
    url = f"ws://127.0.0.1:{s.nginx.port}/live.ws"
    viewers = [WsViewer(url, stop) if kind == "mse" else Viewer(s.nginx.port, stop)
               for _ in range(count)]
    for viewer in viewers:
        viewer.start()
    time.sleep(WARMUP)
    opened = time.monotonic()
    cpu = usage(pids, WINDOW)
    closed = time.monotonic()
    stop.set()
    for viewer in viewers:
        viewer.join(10)
    errors = [v.error for v in viewers if v.error]
    if errors:
        print(f"{kind} x{count}: viewer errors {errors}", file=sys.stderr)
    arrivals = [v.arrivals if isinstance(v, WsViewer)
                else list(zip(v.times, v.sizes, strict=True)) for v in viewers]
    inside = [[n for t, n in a if opened <= t <= closed] for a in arrivals]
    span = closed - opened
    return {
        "cpu": cpu,
        "bytes_per_s": statistics.mean(sum(a) / span for a in inside),
        "pictures_per_s": statistics.mean(len(a) / span for a in inside),
        "errors": len(errors),
    }


def browser_latency(url: str, directory: Path) -> dict[str, float]:
    """Median glass-to-glass seconds for H.264 (MSE) and MJPEG in Debian's chromium."""
    from tests.host.test_page import CHROMEDRIVER, CHROMIUM, CLOCK_JS, latencies, start_browser
    from tests.waiting import wait_for

    if not (CHROMIUM and CHROMEDRIVER):
        return {}
    driver = start_browser(directory)
    out = {}
    try:
        for kind, element in (("mse", "live-video"), ("mjpeg", "live")):
            if kind == "mjpeg":
                driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
                    "source": "delete window.MediaSource; delete window.ManagedMediaSource;"})
            driver.get(url + "/")
            frame = driver.find_element("id", "live-frame")
            shown = driver.find_element("id", element)
            wait_for(lambda frame=frame, shown=shown, kind=kind:
                     frame.get_attribute("data-live") == kind
                     and driver.execute_script(CLOCK_JS, shown) is not None,
                     what=f"the {kind} picture", timeout=20)
            time.sleep(2)
            out[kind] = statistics.median(latencies(driver, shown, samples=20))
    finally:
        driver.quit()
    return out


def run() -> dict[str, Any]:
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        s = Appliance(Path(tmp), stack)
        assert s.nginx.proc is not None
        pids = {"camera": [s.camera.pid], "host": [s.host.pid],
                "nginx": family(s.nginx.proc.pid)}
        time.sleep(1.0)
        idle = usage(pids, WINDOW)
        results = {}
        for kind in ("mse", "mjpeg"):
            for count in COUNTS:
                results[kind, count] = scenario(s, kind, count, pids)
                s.check()
                time.sleep(LINGER)
        latency = browser_latency(s.nginx.url, Path(tmp) / "chromium")
        s.check()
    out: dict[str, Any] = {
        "camera_cpu_percent_0_viewers": round(100 * idle["camera"], 1),
        "host_cpu_percent_0_viewers": round(100 * idle["host"], 1),
    }
    for (kind, count), r in results.items():
        key = f"{kind}_{count}"
        out[f"{key}_camera_cpu_percent"] = round(100 * r["cpu"]["camera"], 1)
        out[f"{key}_camera_cpu_to_0_viewers"] = round(r["cpu"]["camera"] / idle["camera"], 3)
        out[f"{key}_host_cpu_percent"] = round(100 * r["cpu"]["host"], 1)
        out[f"{key}_nginx_cpu_percent"] = round(100 * r["cpu"]["nginx"], 1)
        out[f"{key}_kbytes_per_s_per_viewer"] = round(r["bytes_per_s"] / 1000, 1)
        out[f"{key}_pictures_per_s_per_viewer"] = round(r["pictures_per_s"], 2)
        out[f"{key}_viewer_errors"] = r["errors"]
    for count in COUNTS:
        mse, mjpeg = results["mse", count], results["mjpeg", count]
        out[f"camera_cpu_mse_to_mjpeg_{count}"] = round(
            mse["cpu"]["camera"] / mjpeg["cpu"]["camera"], 3)
    for kind, seconds in latency.items():
        out[f"{kind}_latency_ms_chromium"] = round(1000 * seconds)
    out["bench_seconds"] = round(time.monotonic() - began, 1)
    return out
