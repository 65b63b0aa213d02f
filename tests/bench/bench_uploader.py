"""The uploader's throughput against `cp` of the same files, and retention over 100,000 clips.

Upload: 50 real clips of about 2 MB (one recorded clip published under 50 names) wait in a
spool on tmpfs, as on the camera; they go to a local-folder NAS on the disk. `cp` copies the
same files to a folder beside it in the same run; `cp + sync` adds the flush to disk that the
uploader does per file (fsync) before it reads each video back (page cache dropped) to check
its sha256. The figure is uploader MB/s over cp MB/s, best of a few rounds each.
Retention: 100,000 clips (video, thumbnail, sidecar; empty files) in 100 day folders, on tmpfs
(creating 300,000 files on this machine's disk takes two minutes; a trim there measured 0.8 s);
one run with retention_days set so the oldest 10 days (10%) go, then one run with nothing to
delete (the scan alone).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from smartcam.config import from_text
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


def upload_vs_cp(disk: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir=_tmpfs()) as ram:
        spool = Path(ram) / "spool"
        card = record_clip(Path(ram) / "template", seconds=2.0, bitrate=6_000_000)
        template = Path(ram) / "template" / "outbox"
        cp, cp_sync, up = [], [], []
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
            copied = time.perf_counter()
            subprocess.run(["sync", "-f", str(target)], check=True)
            synced = time.perf_counter()
            cp.append(size / (copied - started))
            cp_sync.append(size / (synced - started))
            cfg = from_text(CONF.format(spool=spool, nas=disk / f"nas{round_}", days=0))
            uploader = Uploader(cfg)
            started = time.perf_counter()
            uploader.upload_waiting()
            up.append(size / (time.perf_counter() - started))
            assert uploader.health()["uploaded"] == CLIPS and not os.listdir(spool / "outbox")
    mb = 1e6
    return {
        "clips": CLIPS,
        "clip_mb": round(card["size"] / mb, 2),
        "uploader_mb_s": round(max(up) / mb, 1),
        "cp_mb_s": round(max(cp) / mb, 1),
        "cp_sync_mb_s": round(max(cp_sync) / mb, 1),
        "ratio_to_cp": round(max(up) / max(cp), 3),
        "ratio_to_cp_sync": round(max(up) / max(cp_sync), 3),
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
