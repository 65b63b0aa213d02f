"""The spool's budget: recording/ + outbox/ + uploaded/ + rejected/ kept under `spool_size` (or
what the RAM disk really holds, less the headroom the camera needs to go on writing, if that is
less) by letting go of what is least worth keeping: first the spool's copies of clips already
uploaded (the NAS has them; they are kept only in case it loses them, see storage.uploader),
then rejected clips (they can never be uploaded), then the oldest waiting clip (a logged ERROR,
counted and shown on the page). The camera splits a long clip when the room runs short, so
there is always a waiting clip to drop before the one being written runs into a full disk.

While the NAS does take clips, a waiting clip is given `Timing.drop_grace` seconds to be
uploaded before it may be dropped: a spool squeezed below the budget (the RAM is short) then
costs nothing, as the uploader empties it, and only a NAS slower than the camera loses clips.

`SpoolKeeper.run` is its own thread, so a hung NAS never stops the spool from being kept: it
wakes on inotify (a file renamed into or written in outbox/) and every `Timing.budget`
seconds, and tells the uploader when a clip arrived. The clip the uploader is copying is never
dropped (`uploading()`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartcam.clips.names import PUBLISH_ORDER, split_file, utc
from smartcam.clips.spool import SpoolDirs, disk
from smartcam.storage.inotify import DirWatch
from smartcam.timing import Timing

log = logging.getLogger(__name__)
RECENT = 20  # dropped clips remembered for the page


@dataclass(frozen=True)
class Waiting:
    """The files of one clip in the outbox."""

    stem: str
    complete: bool  # its sidecar is there
    size: int  # of all its files
    since: float = 0.0  # wall clock it was published (its sidecar's mtime)


def waiting_clips(outbox: Path) -> list[Waiting]:
    """The clips in the outbox, oldest first; files whose names are not a clip's are left out."""
    sizes: dict[str, int] = {}
    stamps: dict[str, str] = {}
    sidecars: dict[str, float] = {}
    with os.scandir(outbox) as entries:
        for entry in entries:
            found = split_file(entry.name)
            if found is None:
                continue
            clip, suffix = found
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            sizes[clip.stem] = sizes.get(clip.stem, 0) + st.st_size
            stamps[clip.stem] = clip.stamp
            if suffix == ".json":
                sidecars[clip.stem] = st.st_mtime
    order = sorted(sizes, key=lambda stem: (stamps[stem], stem))
    return [Waiting(stem, stem in sidecars, sizes[stem], sidecars.get(stem, 0.0))
            for stem in order]


def dir_bytes(path: Path) -> int:
    total = 0
    with os.scandir(path) as entries:
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except FileNotFoundError:
                pass
    return total


def remove_clip(folder: Path, stem: str, into: Path | None = None) -> None:
    """Remove (or move `into`) a clip's files, the sidecar last: until then it is whole."""
    for suffix in PUBLISH_ORDER:
        path = folder / f"{stem}{suffix}"
        try:
            if into is None:
                path.unlink()
            else:
                os.replace(path, into / path.name)
        except FileNotFoundError:
            pass


class SpoolKeeper:
    def __init__(self, spool: Path, spool_size: int, on_arrival: Callable[[], None],
                 timing: Timing | None = None, headroom: int = 0,
                 nas_taking: Callable[[], bool] = lambda: False):
        dirs = SpoolDirs(spool)
        self.recording, self.outbox, self.rejected = dirs.recording, dirs.outbox, dirs.rejected
        self.uploaded = dirs.uploaded
        self.spool_size, self.headroom = spool_size, headroom
        self.budget = spool_size
        self.timing = timing or Timing()
        self._on_arrival = on_arrival
        self._nas_taking = nas_taking  # the uploader's last turn went well
        self._lock = threading.Lock()  # drops vs. the clip being uploaded; never over NAS I/O
        self.watching = threading.Event()  # set once run() tried to watch the outbox
        self._busy: str | None = None
        self._stats: dict[str, Any] = {
            "backlog_clips": 0, "backlog_bytes": 0, "spool_used_bytes": 0, "dropped": 0,
            "kept_clips": 0, "kept_bytes": 0,  # copies of uploaded clips
            "dropped_recent": deque(maxlen=RECENT), "last_error": None,
        }

    def health(self) -> dict[str, Any]:
        with self._lock:
            stats = dict(self._stats)
        return {**stats, "dropped_recent": list(stats["dropped_recent"]),
                "spool_budget_bytes": self.budget}

    @contextmanager
    def uploading(self, stem: str) -> Iterator[bool]:
        """Keep a clip from being dropped while it is copied; yields whether it is still there."""
        with self._lock:
            present = (self.outbox / f"{stem}.json").exists()
            self._busy = stem if present else None
        try:
            yield present
        finally:
            with self._lock:
                self._busy = None

    def run(self, stop: threading.Event) -> None:
        t = self.timing
        watch: DirWatch | None = None
        budget_at = watch_at = 0.0
        try:
            while not stop.is_set():
                if watch is None and time.monotonic() >= watch_at:
                    watch, watch_at = self._watch(), time.monotonic() + t.rescan
                    self.watching.set()
                arrived: list[str] = []
                if watch:
                    arrived = watch.wait(t.tick)
                else:
                    stop.wait(t.tick)
                if any(n == "" or n.endswith(".json") for n in arrived):
                    self._on_arrival()
                if arrived or time.monotonic() >= budget_at:
                    budget_at = time.monotonic() + t.budget
                    try:
                        self.keep_budget()
                    except Exception:  # never let the budget's guard die
                        log.exception("could not check the spool's size")
        finally:
            if watch:
                watch.close()

    def _watch(self) -> DirWatch | None:
        try:
            for folder in (self.recording, self.outbox):
                folder.mkdir(parents=True, exist_ok=True)
            return DirWatch(self.outbox)
        except OSError as err:
            with self._lock:
                self._stats["last_error"] = f"cannot use the spool {self.outbox.parent}: {err}"
            log.error("cannot use the spool %s (trying again): %s", self.outbox.parent, err)
            return None

    def keep_budget(self) -> None:
        """Let go of uploaded copies, then rejected, then the oldest waiting clips while the
        spool is over its budget."""
        with self._lock:
            try:
                clips = waiting_clips(self.outbox)
                copies = waiting_clips(self.uploaded) if self.uploaded.is_dir() else []
                used = dir_bytes(self.recording) + dir_bytes(self.outbox)
                rejected = dir_bytes(self.rejected) if self.rejected.is_dir() else 0
                free = disk(self.outbox)[0]
            except FileNotFoundError:
                return
            spare = sum(c.size for c in copies)
            # What we hold plus what is still free: the disk may be smaller than spool_size,
            # or shared; the camera needs `headroom` of it to go on writing.
            self.budget = max(0, min(self.spool_size,
                                     used + spare + rejected + free - self.headroom))
            copies = self._let_go(copies, self.budget - used - spare - rejected)
            spare = sum(c.size for c in copies)
            used += self._trim_rejected(self.budget - used - spare - rejected, rejected)
            taking = self._nas_taking()  # then only a clip the uploader has not reached goes
            kept = []
            for clip in clips:
                if (used + spare <= self.budget or not clip.complete or clip.stem == self._busy
                        or (taking and time.time() - clip.since < self.timing.drop_grace)):
                    kept.append(clip)
                    continue
                self._drop(clip, used, taking)
                used -= clip.size
            backlog = [c for c in kept if c.complete]
            self._stats.update(backlog_clips=len(backlog),
                               backlog_bytes=sum(c.size for c in backlog),
                               kept_clips=len(copies), kept_bytes=spare,
                               spool_used_bytes=used)  # copies go whenever room is needed

    def _let_go(self, copies: list[Waiting], room: int) -> list[Waiting]:
        """Delete uploaded copies, oldest first, until `room` is not negative; those left."""
        while copies and room < 0:
            copy = copies.pop(0)
            remove_clip(self.uploaded, copy.stem)
            log.info("let go of the spool's copy of %s: the NAS has it, the spool needs the room",
                     copy.stem)
            room += copy.size
        return copies

    def _trim_rejected(self, room: int, left: int) -> int:
        """Delete rejected files, oldest first, until `room` is not negative; the bytes left."""
        if room >= 0 or not left:
            return left
        files = sorted((e.stat().st_mtime, e.stat().st_size, Path(e.path))
                       for e in os.scandir(self.rejected) if e.is_file())
        for _, size, path in files:
            if room >= 0:
                break
            path.unlink(missing_ok=True)
            log.warning("deleted %s from rejected/: the spool needs the room", path.name)
            room += size
            left -= size
        return left

    def _drop(self, clip: Waiting, used: int, nas_taking: bool) -> None:
        reason = (f"the spool is full ({used >> 20} MiB used of {self.budget >> 20} MiB) while "
                  + ("the NAS takes clips more slowly than the camera records them" if nas_taking
                     else "the NAS does not take clips"))
        remove_clip(self.outbox, clip.stem)
        log.error("DROPPED clip %s (%d bytes), never uploaded: %s", clip.stem, clip.size, reason)
        self._stats["dropped"] += 1
        self._stats["dropped_recent"].append(
            {"clip": clip.stem, "time": utc(time.time()), "bytes": clip.size, "reason": reason})

