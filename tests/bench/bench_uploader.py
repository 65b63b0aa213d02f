"""The uploader's throughput against `cp` of the same files, and retention over 100,000 clips.

Upload: 50 real clips of about 2 MB (one recorded clip published under 50 names) wait in a
spool on tmpfs, as on the camera; they go to a local-folder NAS on the disk. In the same run,
standard tools do the same work on the same files: `cp`, `sync -f` and `sha256sum` of the
copies, once as they are (sha256sum then reads the page cache) and once with the copies' cached
pages dropped first (`dd iflag=nocache count=0` per file), as the uploader drops them so that
its read-back reads the disk, or on a share the NAS, not the client's memory; and `cp` alone.
Figures: throughput (best of a few rounds) and CPU seconds per GB (the uploader's process time,
the tools' children's rusage), as ratios to the tools'; and the read-back's throughput with the
pages dropped against from the page cache, what reading back for real costs.
Retention: 100,000 clips (video, thumbnail, sidecar; empty files) in 100 day folders, on tmpfs
(creating 300,000 files on this machine's disk takes two minutes; a trim there measured 0.8 s);
one run with retention_days set so the oldest 10 days (10%) go, then one run with nothing to
delete (the scan alone).
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from smartcam.config import from_text
from smartcam.storage.copy import sha256_fd
from smartcam.storage.retention import Retention
from smartcam.storage.uploader import Uploader
from tests.storage.nasfs import publish, record_clip

CLIPS = 50
ROUNDS = 3
RETENTION_CLIPS = 100_000
RETENTION_DAYS = 100
CONF = """\
[camera]
name = bench
[storage]
spool = {spool}
nas = {nas}
type = local
spool_size = 1G
retention_days = {days}
min_free = 0
"""


def _tmpfs() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tools(files: list[str], target: Path, drop: bool) -> float:
    """The uploader's work done by standard tools: copy, flush to disk, (drop the copies' cached
    pages with GNU dd's nocache,) read them back and hash them. Returns seconds taken."""
    subprocess.run(["sync"], check=True)
    started = time.perf_counter()
    subprocess.run(["cp", *files, str(target)], check=True)
    subprocess.run(["sync", "-f", str(target)], check=True)
    copies = sorted(str(p) for p in target.iterdir())
    for copy in copies if drop else ():  # count=0: drop the file's pages, read nothing
        subprocess.run(["dd", f"if={copy}", "iflag=nocache", "count=0", "status=none"],
                       check=True)
    subprocess.run(["sha256sum", *copies], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def read_back_cost(folder: Path) -> dict[str, float]:
    """What dropping the cached pages before the read-back costs: hashing the uploaded videos
    as the uploader does (pages dropped: from the disk) against hashing them from the cache."""
    videos = sorted(folder.rglob("*.mp4"))
    size = sum(v.stat().st_size for v in videos)

    def throughput(digest: Callable[[Path], object]) -> float:
        started = time.perf_counter()
        for video in videos:
            digest(video)
        return size / (time.perf_counter() - started)

    def dropped(video: Path) -> str:
        fd = os.open(video, os.O_RDONLY)
        try:
            return sha256_fd(fd)
        finally:
            os.close(fd)

    def cached(video: Path) -> str:
        with open(video, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()

    from_disk = throughput(dropped)
    throughput(cached)  # every page in the cache now
    return {"dropped": from_disk, "cached": throughput(cached)}


def upload_vs_cp(disk: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir=_tmpfs()) as ram:
        spool = Path(ram) / "spool"
        card = record_clip(Path(ram) / "template", seconds=2.0, bitrate=6_000_000)
        template = Path(ram) / "template" / "outbox"
        cp, up, up_cpu = [], [], []
        same: dict[bool, list[float]] = {False: [], True: []}  # by whether pages are dropped
        same_cpu: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(ROUNDS):
            for i in range(CLIPS):
                publish(template, card, spool / "outbox", start=1767355200.0 + i)
            files = sorted(str(p) for p in (spool / "outbox").iterdir())
            size = sum(os.path.getsize(f) for f in files)
            target = disk / f"cp{round_}"
            target.mkdir()
            subprocess.run(["sync"], check=True)
            started = time.perf_counter()
            subprocess.run(["cp", *files, str(target)], check=True)
            cp.append(size / (time.perf_counter() - started))
            for drop in (False, True):
                target = disk / f"tools{round_}{'-dropped' if drop else ''}"
                target.mkdir()
                cpu = children_cpu()
                same[drop].append(size / tools(files, target, drop))
                same_cpu[drop].append((children_cpu() - cpu) / size)
            cfg = from_text(CONF.format(spool=spool, nas=disk / f"nas{round_}", days=0))
            uploader = Uploader(cfg)
            cpu, started = time.process_time(), time.perf_counter()
            uploader.upload_waiting()
            up.append(size / (time.perf_counter() - started))
            up_cpu.append((time.process_time() - cpu) / size)
            assert uploader.health()["uploaded"] == CLIPS and not os.listdir(spool / "outbox")
        read_back = read_back_cost(disk / "nas0")
    mb, gb = 1e6, 1e9
    return {
        "clips": CLIPS,
        "clip_mb": round(card["size"] / mb, 2),
        "uploader_mb_s": round(max(up) / mb, 1),
        "cp_mb_s": round(max(cp) / mb, 1),
        "tools_mb_s": round(max(same[False]) / mb, 1),
        "tools_dropped_mb_s": round(max(same[True]) / mb, 1),
        "uploader_cpu_s_per_gb": round(min(up_cpu) * gb, 2),
        "tools_cpu_s_per_gb": round(min(same_cpu[False]) * gb, 2),
        "tools_dropped_cpu_s_per_gb": round(min(same_cpu[True]) * gb, 2),
        "ratio_to_cp": round(max(up) / max(cp), 3),
        "ratio_to_tools": round(max(up) / max(same[False]), 3),
        "ratio_to_tools_dropped": round(max(up) / max(same[True]), 3),
        "cpu_ratio_to_tools": round(min(up_cpu) / min(same_cpu[False]), 3),
        "cpu_ratio_to_tools_dropped": round(min(up_cpu) / min(same_cpu[True]), 3),
        "read_back_mb_s_dropped": round(read_back["dropped"] / mb, 1),
        "read_back_mb_s_cached": round(read_back["cached"] / mb, 1),
    }


def make_clips(camera_dir: Path, now: float) -> None:
    """RETENTION_DAYS full days of clips up to `now` (a midnight, UTC)."""
    per_day = RETENTION_CLIPS // RETENTION_DAYS
    first_day = int(now // 86400) - RETENTION_DAYS
    for d in range(RETENTION_DAYS):
        day_start = (first_day + d) * 86400
        day = camera_dir / datetime.fromtimestamp(day_start, UTC).strftime("%Y-%m-%d")
        day.mkdir(parents=True)
        fd = os.open(day, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for i in range(per_day):
                when = datetime.fromtimestamp(day_start + i * (86400 // per_day), UTC)
                stem = f"bench_{when:%Y%m%dT%H%M%SZ}_{d:04x}{i:04x}"
                for suffix in (".mp4", ".jpg", ".json"):
                    os.close(os.open(stem + suffix, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
        finally:
            os.close(fd)


def retention_scan(folder: Path) -> dict[str, float]:
    now = time.time() // 86400 * 86400  # today's midnight: the oldest 10 days go, whole
    nas = folder / "nas"
    started = time.perf_counter()
    make_clips(nas / "bench", now)
    made = time.perf_counter() - started
    # Keep the newest 90 days: days 0..9 of the 100 are older than that.
    cfg = from_text(CONF.format(spool=folder / "spool", nas=nas,
                                days=RETENTION_DAYS - RETENTION_DAYS // 10))
    subprocess.run(["sync"], check=True)
    trim = Retention(cfg).run_once(now)
    scan = Retention(cfg).run_once(now)
    assert trim["scanned"] == RETENTION_CLIPS and trim["deleted"] == RETENTION_CLIPS // 10
    assert scan["deleted"] == 0
    return {
        "clips": RETENTION_CLIPS,
        "files": 3 * RETENTION_CLIPS,
        "day_folders": RETENTION_DAYS,
        "create_seconds": round(made, 1),
        "trim_seconds": trim["seconds"],
        "trim_deleted": trim["deleted"],
        "trim_days_removed": trim["days_removed"],
        "scan_only_seconds": scan["seconds"],
    }


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as disk:
        upload = upload_vs_cp(Path(disk))
    print(f"upload: {upload}", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=_tmpfs()) as ram:  # 300,000 creates on disk: minutes
        retention = retention_scan(Path(ram))
    return {"upload": upload, "retention": retention}
