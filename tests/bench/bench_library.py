"""The clip list over 10,000 clips in 100 day folders: the indexer's first look, a look with
nothing changed, and a page answered from the snapshot, beside listing the same folders with
os.scandir (the least any listing can cost) in the same run."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smartcam.clips.library import ClipLibrary
from smartcam.config import from_text

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
DAYS, PER_DAY = 100, 100


def make(root: Path) -> None:
    (root / "spool" / "outbox").mkdir(parents=True)
    old = time.time() - 60
    for day in range(DAYS):
        folder = root / "nas" / "cam-a" / f"{(T0 + timedelta(days=day)):%Y-%m-%d}"
        folder.mkdir(parents=True)
        for n in range(PER_DAY):
            when = T0 + timedelta(days=day, minutes=n)
            stem = f"cam-a_{when:%Y%m%dT%H%M%SZ}_{day:04x}{n:04x}"
            (folder / f"{stem}.json").write_text(
                f'{{"event": "{day:04x}{n:04x}", "cause": "motion", "heatmap": '
                f'{[[n % 256] * 16] * 16}}}')
        os.utime(folder, (old, old))


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make(root)
        cfg = from_text(f"[camera]\nname = cam-a\n[storage]\nspool = {root}/spool\n"
                        f"nas = {root}/nas\ntype = local\n")
        library = ClipLibrary(cfg)
        started = time.perf_counter()
        library.scan()
        first = time.perf_counter() - started
        again = timed(library.scan, 5)
        started = time.perf_counter()
        for folder in (root / "nas" / "cam-a").iterdir():
            list(os.scandir(folder))
        scandir = time.perf_counter() - started
        _, cursor = library.page(limit=20)
        page = timed(lambda: library.page(limit=20, cursor=cursor, cause="motion"), 200)
    return {
        "clips": DAYS * PER_DAY,
        "first_look_s": round(first, 3),
        "unchanged_look_ms": round(again * 1000, 2),
        "scandir_all_ms": round(scandir * 1000, 2),
        "page_us": round(page * 1e6, 1),
    }


def timed(call, times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
