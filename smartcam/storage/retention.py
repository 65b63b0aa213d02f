"""Retention: trim this camera's own NAS folder, oldest clips first, by age and by free space.

Only `<nas>/<camera>/` is looked at, and in it only day folders (YYYY-MM-DD) and, in those, only
files whose names parse as a clip's (`<camera>_<YYYYMMDDTHHMMSSZ>_<event>` + .mp4/.json/.jpg).
Anything else (other cameras' folders, discovery.txt, a user's notes) is never touched. The
only other files removed are our own hidden `.<clip file>.part` copies older than a day, left by
an upload that was killed. A clip's files go together, the sidecar first, so whoever lists
sidecars stops showing the clip before its video disappears.

Clip times come from the names, so the age check costs no stat; only deleted files are
stat'ed (to report the bytes freed). Free space is measured again before each deletion for it.

On a real NAS deleting does not always free anything: a recycle bin (Samba's vfs_recycle,
Synology's #recycle) or snapshots keep the bytes. So deleting for space stops, with a message
for the page, once it has deleted NOT_FREEING_AFTER clips whose bytes free space did not rise by
at least half of; and it never takes clips of the last day, whatever the floor says. One entry
that cannot be deleted (a server's vetoed @eaDir, a file we may not remove) is skipped and
counted, and the rest is trimmed: it never stops retention for good.
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
SPARED_FOR_SPACE = 86400.0  # the last day's clips are never deleted to make room
NOT_FREEING_AFTER = 3  # clips deleted for space before judging whether deleting helps


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
            "skipped": 0, "space_error": None, "error": None,
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
        space = _SpaceTrim(self._floor(cam), stamp(now - SPARED_FOR_SPACE), cam)
        keep_day = datetime.fromtimestamp(now - 86400, UTC).strftime("%Y-%m-%d")
        for day in sorted(n for n in os.listdir(cam) if is_day(n)):
            try:
                fd = os.open(day, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=cam)
            except NotADirectoryError:
                continue
            try:
                touched = self._trim_day(fd, now, cutoff, space, result)
            except OSError as err:  # this day: skip, go on
                self._skipped(result, f"{day}: {err.strerror or err}")
                touched = False
            finally:
                os.close(fd)
            if day < keep_day and touched:  # not yesterday's or today's: uploads go there
                self._remove_day(cam, day, result)
        free, total = free_space(cam)
        result["free_percent"] = round(100 * free / total, 2) if total else None
        if space.not_freeing:
            result["space_error"] = space.not_freeing
            log.warning("retention: %s", space.not_freeing)
        elif space.floor and free < space.floor:
            log.warning("the NAS is still below min_free = %s%% with none of this camera's clips"
                        " older than a day left to delete", storage.min_free)

    def _trim_day(self, fd: int, now: float, cutoff: str, space: _SpaceTrim,
                  result: dict[str, Any]) -> bool:
        """Trim one day folder; whether it was empty or lost something (may now be empty)."""
        names = os.listdir(fd)
        clips, parts = clips_in(names)
        result["scanned"] += len(clips)
        before = result["deleted"] + result["parts_removed"]
        for part in parts:
            try:
                if now - os.stat(part, dir_fd=fd).st_mtime > PART_AGE:
                    os.unlink(part, dir_fd=fd)
                    result["parts_removed"] += 1
            except OSError as err:
                self._skipped(result, f"{part}: {err.strerror or err}")
        for at, stem, files in clips:
            old = CLOCK_FLOOR <= at < cutoff
            if not old and not space.wanted(at):
                break  # the rest of this day is newer still
            try:
                freed = self._delete(fd, files)
            except OSError as err:  # one clip we may not delete: the others still go
                self._skipped(result, f"{stem}: {err.strerror or err}")
                continue
            result["deleted"] += 1
            result["freed_bytes"] += freed
            if not old:
                result["deleted_for_space"] += 1
                space.deleted(freed)
        return not names or result["deleted"] + result["parts_removed"] > before

    def _remove_day(self, cam: int, day: str, result: dict[str, Any]) -> None:
        """Remove a day folder if it is empty. Tried rather than listed first: a cifs client
        can list a folder again from what it read before through the same descriptor, clips
        just deleted included. Empty to us yet refused: the server keeps something we cannot
        see in it (a vetoed @eaDir, .DS_Store): skipped and said."""
        try:
            os.rmdir(day, dir_fd=cam)
            result["days_removed"] += 1
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                self._skipped(result, f"{day}: {err.strerror or err}")
                return
            try:
                fd = os.open(day, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=cam)
                try:
                    hidden = not os.listdir(fd)
                finally:
                    os.close(fd)
            except OSError:
                return
            if hidden:
                self._skipped(result, f"{day}: holds entries the NAS does not show ({err})")

    @staticmethod
    def _skipped(result: dict[str, Any], what: str) -> None:
        if not result["skipped"]:
            log.warning("retention skips what it cannot delete, first: %s", what)
        result["skipped"] += 1
        result.setdefault("skipped_first", what)

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


class _SpaceTrim:
    """Deleting for the free-space floor: whether the next clip should go, and whether it helps.

    Free space is measured again before each deletion (the other cameras trim the same NAS at
    the same time). It stops for good (this run) when deleting frees nothing, as behind a
    recycle bin or snapshots, and never reaches the last day's clips."""

    def __init__(self, floor: float, spared_from: str, cam: int):
        self.floor, self.spared_from, self.cam = floor, spared_from, cam
        self.start_free: int | None = None
        self.count = 0
        self.bytes = 0
        self.not_freeing = ""

    def wanted(self, at: str) -> bool:
        if not self.floor or self.not_freeing or at >= self.spared_from:
            return False
        free = free_space(self.cam)[0]
        if self.start_free is None:
            self.start_free = free
        elif self.count >= NOT_FREEING_AFTER and free - self.start_free < self.bytes / 2:
            self.not_freeing = (
                f"deleting clips does not free space on the NAS: {self.count} clips "
                f"({self.bytes} bytes) deleted, free space rose by "
                f"{max(0, free - self.start_free)} bytes. A recycle bin or snapshots keep them; "
                "empty it or make room on the NAS. Deleting for space has stopped."
            )
            return False
        return free < self.floor

    def deleted(self, size: int) -> None:
        self.count += 1
        self.bytes += size
