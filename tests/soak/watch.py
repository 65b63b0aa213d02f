"""What the soak watches while it runs, from outside the processes it is judging.

`Recordings` notices each clip the moment it starts (its `.meta` intent in recording/) or
appears anywhere in a spool, so a clip that never reaches the NAS is still counted.
`Memory` samples each process's resident set; `Viewer` holds a host's live stream open as a
browser would and reconnects when it drops.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SPOOL_DIRS = {"recording": ".meta", "outbox": ".json", "rejected": ".meta"}


class Recordings(threading.Thread):
    def __init__(self, spools: dict[str, Path], every: float = 0.25):
        super().__init__(name="soak-recordings", daemon=True)
        self.spools, self.every = spools, every
        self.started: dict[str, float] = {}  # stem -> when first seen (wall clock)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.every):
            self.look()

    def look(self) -> None:
        now = time.time()
        for spool in self.spools.values():
            for folder, suffix in SPOOL_DIRS.items():
                try:
                    names = os.listdir(spool / folder)
                except OSError:
                    continue
                for name in names:
                    if name.endswith(suffix):
                        self.started.setdefault(name[: -len(suffix)], now)


class Memory(threading.Thread):
    """Resident set size of each running process, keyed "<camera> <program> <pid>"."""

    def __init__(self, processes: Callable[[], dict[str, int]], every: float = 5.0):
        super().__init__(name="soak-memory", daemon=True)
        self.processes, self.every = processes, every
        self.samples: dict[str, list[tuple[float, float]]] = {}  # key -> (monotonic, MB)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.every):
            for name, pid in self.processes().items():
                if (mb := rss_mb(pid)) is not None:
                    self.samples.setdefault(f"{name} {pid}", []).append((time.monotonic(), mb))

    def growth(self, settle: float = 60.0) -> dict[str, dict[str, float]]:
        """Per program, its longest-lived process: MB per hour after `settle` seconds."""
        best: dict[str, list[tuple[float, float]]] = {}
        for key, samples in self.samples.items():
            program = key.rsplit(" ", 1)[0]
            if len(samples) > len(best.get(program, [])):
                best[program] = samples
        out = {}
        for program, samples in sorted(best.items()):
            steady = [s for s in samples if s[0] - samples[0][0] >= settle] or samples
            out[program] = {"mb_per_hour": round(slope(steady) * 3600, 1),
                            "minutes": round((samples[-1][0] - samples[0][0]) / 60, 1),
                            "rss_mb": round(samples[-1][1], 1)}
        return out


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x; 0 for fewer than two points."""
    if len(points) < 2:
        return 0.0
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


class Viewer:
    """One live viewer of a host's /live.mjpg, run inside the bridge's namespace by `start`."""

    SOI = b"\xff\xd8\xff"

    def __init__(self, address: Callable[[], str], port: int):
        self.address, self.port = address, port
        self.frames = 0
        self.connects = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self._watch()
            except (OSError, http.client.HTTPException):
                pass
            self.halt.wait(1.0)

    def _watch(self) -> None:
        conn = http.client.HTTPConnection(self.address(), self.port, timeout=10)
        try:
            conn.request("GET", "/live.mjpg")
            reply = conn.getresponse()
            if reply.status != 200:
                return
            self.connects += 1
            tail = b""
            while not self.halt.is_set():
                chunk = reply.read1(65536)
                if not chunk:
                    return
                data = tail + chunk
                self.frames += data.count(self.SOI)
                tail = data[-(len(self.SOI) - 1):]
        finally:
            conn.close()

    def as_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "connections": self.connects}
