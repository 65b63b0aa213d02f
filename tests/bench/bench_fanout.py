"""Group triggers at scale: one origin fanning out to 50 peers, the last peer's start and the cost.

The origin is bench_triggers' (a real `Cooperation` on a real `CameraLink` to a stand-in camera
on a real control socket) with 50 static peers. The peers are lightweight: each a real
`Receiver` (signature, clock, rate and nonce checks) behind its own HTTP server, all in one
process of their own (so they do not share the origin's interpreter), whose "camera" notes the
moment it is asked to record and answers at once: what it measures is the fan-out and the
receivers, not 50 cameras' clip writers (bench_triggers measures that path with real cameras).
Latency per trigger: from the origin's motion decision to the LAST peer's recording start
(one machine, one wall clock). Cost: the origin process's CPU seconds per trigger.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from smartcam.config import from_text
from smartcam.coop.receiver import Receiver
from smartcam.coop.sender import MotionLease
from smartcam.coop.worker import Cooperation
from smartcam.host.camlink import CameraLink
from tests.bench.bench_triggers import (
    LEASE_MARGIN,
    ORIGIN,
    SECRET,
    SPACING,
    OriginCamera,
    percentile,
)
from tests.net import TriggerServer

PEERS = 50
EPISODES = 150


class NotingCamera:
    """A peer's camera: notes when it is asked to record (stdout, one JSON line) and says yes."""

    def __init__(self, name: str, out: Any, lock: threading.Lock):
        self.name, self.out, self.lock = name, out, lock
        self.connected = True

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        at = time.time()
        with self.lock:
            self.out.write(json.dumps({"peer": self.name, "incident": fields.get("incident"),
                                       "at": at}) + "\n")
            self.out.flush()
        return {"event": fields.get("incident", ""), "incident": fields.get("incident", "")}


def serve_peers(count: int) -> None:
    """The peers' process: their ports on the first line, then a line per recording start."""
    lock = threading.Lock()
    servers = [TriggerServer(Receiver(f"peer{i}", "bench", SECRET,
                                      NotingCamera(f"peer{i}", sys.stdout, lock))).__enter__()
               for i in range(count)]
    with lock:
        print(json.dumps([s.port for s in servers]), flush=True)
    sys.stdin.read()  # until the bench closes our stdin
    for server in servers:
        server.__exit__()


class Starts:
    """The peers' recording starts, read from their process: incident -> [time, ...]."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.by_incident: dict[str, list[float]] = {}
        self.cond = threading.Condition()
        self.proc = proc
        self.thread = threading.Thread(target=self._read, name="bench-starts", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            note = json.loads(line)
            with self.cond:
                self.by_incident.setdefault(note["incident"], []).append(note["at"])
                self.cond.notify_all()

    def wait_all(self, incident: str, count: int, timeout: float) -> list[float]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.by_incident.get(incident, ())) >= count, timeout)
            return list(self.by_incident.get(incident, ()))


def run() -> dict[str, Any]:
    peers = subprocess.Popen([sys.executable, "-m", "tests.bench.bench_fanout", str(PEERS)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    stop = threading.Event()
    try:
        assert peers.stdout is not None
        ports = json.loads(peers.stdout.readline())
        starts = Starts(peers)
        with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
            cfg = from_text(ORIGIN.format(
                dir=tmp, secret=SECRET, static=", ".join(f"127.0.0.1:{p}" for p in ports)))
            origin_cam = OriginCamera(Path(tmp) / "origin.sock")
            link = CameraLink(cfg.camera.control_socket).start()
            coop = Cooperation(cfg, link)
            coop.lease = MotionLease("origin", "bench", cfg.camera.post_record, coop._send,
                                     coop._incident, margin=LEASE_MARGIN)
            worker = threading.Thread(target=coop.run, args=(stop,), name="cooperation")
            worker.start()
            try:
                while not link.connected:
                    time.sleep(0.01)
                time.sleep(1.0)
                return measure(origin_cam, starts)
            finally:
                stop.set()
                worker.join()
                link.close()
                origin_cam.server.close()
    finally:
        if peers.stdin is not None:
            peers.stdin.close()
        peers.wait(timeout=30)


def measure(origin_cam: OriginCamera, starts: Starts) -> dict[str, Any]:
    last, all_starts, missed = [], [], 0
    cpu = time.process_time()
    for n in range(EPISODES):
        incident = f"{n + 1:012x}"
        t0 = origin_cam.motion(True, incident)
        got = starts.wait_all(incident, PEERS, timeout=2.0)
        missed += PEERS - len(got)
        if got:
            last.append((max(got) - t0) * 1000)
            all_starts += [(t - t0) * 1000 for t in got]
        origin_cam.motion(False)
        time.sleep(max(0.0, t0 + SPACING - time.time()))
    spent = time.process_time() - cpu  # the origin: its link, lease, signing and 50 POSTs
    return {
        "path": "loopback: motion_start -> host fan-out -> 50 HTTP POSTs -> receivers "
                "(one process) -> recording start",
        "peers": PEERS,
        "triggers": EPISODES,
        "missed": missed,
        "last_peer_ms": {"p50": round(statistics.median(last), 2),
                         "p99": round(percentile(last, 99), 2), "max": round(max(last), 2)},
        "any_peer_ms": {"p50": round(statistics.median(all_starts), 2),
                        "p99": round(percentile(all_starts, 99), 2)},
        "origin_cpu_ms_per_trigger": round(1000 * spent / EPISODES, 2),
        "target_last_peer_p99_ms": 20,
    }


if __name__ == "__main__":
    serve_peers(int(sys.argv[1]))
