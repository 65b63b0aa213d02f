"""Retention: trim this camera's own NAS folder, oldest clips first, by age and by free space.

Only `<nas>/<camera>/` is looked at, and in it only day folders (YYYY-MM-DD) and, in those, only
files whose names parse as a clip's (`<camera>_<YYYYMMDDTHHMMSSZ>_<event>` + .mp4/.json/.jpg).
Anything else (other cameras' folders, discovery.txt, a user's notes) is never touched. The
only other files removed are our own hidden `.<clip file>.part` copies older than a day, left by
an upload that was killed. A clip's files go together, the sidecar first, so whoever lists
sidecars stops showing the clip before its video disappears.

Clip times come from the names, so the age check costs no stat; only deleted files are
stat'ed (to report the bytes freed). The free-space floor is measured with statvfs once, then
the bytes freed are counted against it, and measured again at the end.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

from smartcam.clips.names import DELETE_ORDER, is_day, split_file, stamp, utc
from smartcam.config import Config
from smartcam.storage.mount import Nas, NasUnavailable, free_space
from smartcam.timing import Timing

log = logging.getLogger(__name__)
PART_AGE = 86400.0  # a hidden .part this old is from an upload that died
# A clip named before this was recorded before the camera's clock was set (a Pi has no RTC):
# its age is unknown, so it goes only when the NAS needs the room.
CLOCK_FLOOR = "20250101T000000Z"


def clips_in(names: list[str]) -> tuple[list[tuple[str, str, list[str]]], list[str]]:
    """Group a day folder's names: clips as (stamp, stem, files) oldest first; our .part files."""
    clips: dict[str, tuple[str, list[str]]] = {}
    parts = []
    for name in names:
        if name.startswith(".") and name.endswith(".part"):
            if split_file(name[1:-5]):
                parts.append(name)
            continue
        found = split_file(name)
        if found:
            clip = found[0]
            clips.setdefault(clip.stem, (clip.stamp, []))[1].append(name)
    ordered = sorted((at, stem, files) for stem, (at, files) in clips.items())
    return ordered, parts


class Retention:
    """Runs `run_once` soon after start and then every `Timing.retention_every` seconds."""

    def __init__(self, cfg: Config, timing: Timing | None = None):
        self.cfg = cfg
        self.nas = Nas(cfg)
        self.timing = timing or Timing()
        self.alive = time.monotonic()
        self.last: dict[str, Any] | None = None
        self._wake = threading.Event()

    def wake(self) -> None:
        """Trim now (the NAS ran out of room), not at the next interval."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        due = time.monotonic() + self.timing.retention_first
        while not stop.is_set():
            self.alive = time.monotonic()
            if self.alive >= due or self._wake.is_set():
                self._wake.clear()
                try:
                    self.run_once()
                except Exception:  # a bug must not end the thread: log it, try next time
                    log.exception("retention failed")
                due = time.monotonic() + self.timing.retention_every
            self._wake.wait(min(self.timing.tick, max(0.0, due - time.monotonic())))

    def run_once(self, now: float | None = None) -> dict[str, Any]:
        """One trim. Returns (and keeps in .last) what it did."""
        started = time.monotonic()
        now = time.time() if now is None else now
        result: dict[str, Any] = {
            "at": utc(now), "scanned": 0, "deleted": 0, "deleted_for_space": 0,
            "freed_bytes": 0, "days_removed": 0, "parts_removed": 0, "free_percent": None,
            "error": None,
        }
        try:
            with self.nas.open(create=False) as camera_dir:
                self._trim(camera_dir, now, result)
        except NasUnavailable as err:
            if err.errno != errno.ENOENT:  # else: no folder, no clips uploaded yet
                result["error"] = str(err)
                log.warning("retention skipped: %s", err)
        except OSError as err:
            result["error"] = str(err)
            log.warning("retention stopped: %s", err)
        result["seconds"] = round(time.monotonic() - started, 3)
        if result["deleted"]:
            log.info("retention: deleted %d of %d clips (%d bytes) in %.1f s",
                     result["deleted"], result["scanned"], result["freed_bytes"],
                     result["seconds"])
        self.last = result
        return result

    def _trim(self, cam: int, now: float, result: dict[str, Any]) -> None:
        storage = self.cfg.storage
        cutoff = stamp(now - storage.retention_days * 86400) if storage.retention_days else ""
        floor = self._floor(cam)
        keep_day = datetime.fromtimestamp(now - 86400, UTC).strftime("%Y-%m-%d")
        for day in sorted(n for n in os.listdir(cam) if is_day(n)):
            try:
                fd = os.open(day, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=cam)
            except NotADirectoryError:
                continue
            try:
                names = os.listdir(fd)
                clips, parts = clips_in(names)
                result["scanned"] += len(clips)
                removed = 0
                for part in parts:
                    if now - os.stat(part, dir_fd=fd).st_mtime > PART_AGE:
                        os.unlink(part, dir_fd=fd)
                        removed += 1
                result["parts_removed"] += removed
                for at, _stem, files in clips:
                    old = CLOCK_FLOOR <= at < cutoff
                    # Free space is measured again before each deletion for it: the other
                    # cameras trim the same NAS at the same time.
                    if not old and not (floor and free_space(cam)[0] < floor):
                        break  # the rest of this day is newer still
                    freed = self._delete(fd, files)
                    removed += len(files)
                    result["deleted"] += 1
                    result["freed_bytes"] += freed
                    if not old:
                        result["deleted_for_space"] += 1
                if day < keep_day and (removed or not names) and not os.listdir(fd):
                    os.rmdir(day, dir_fd=cam)  # not yesterday's or today's: uploads go there
                    result["days_removed"] += 1
            finally:
                os.close(fd)
        free, total = free_space(cam)
        result["free_percent"] = round(100 * free / total, 2) if total else None
        if floor and free < floor:
            log.warning("the NAS is still below min_free = %s%% with none of this camera's clips"
                        " left to delete", storage.min_free)

    def _floor(self, cam: int) -> float:
        """The free bytes min_free asks of the NAS (0: no floor)."""
        total = free_space(cam)[1]
        return self.cfg.storage.min_free / 100 * total if self.cfg.storage.min_free else 0.0

    @staticmethod
    def _delete(fd: int, files: list[str]) -> int:
        """Delete one clip's files, the sidecar first; the bytes freed."""
        freed = 0
        for name in sorted(files, key=lambda n: DELETE_ORDER.index(n[n.rindex("."):])):
            try:
                freed += os.stat(name, dir_fd=fd, follow_symlinks=False).st_size
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                pass
        return freed
