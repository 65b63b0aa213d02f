"""The uploader: finished clips from the spool's outbox to the NAS, verified, in order.

Two threads, so a NAS that hangs stalls only the copying:
- the spool keeper (`_keep`) wakes on inotify (a file renamed into or written in outbox/) and
  every second, keeps recording/ + outbox/ under `spool_size` by dropping the oldest waiting
  clip (a logged ERROR, counted in health), and keeps the backlog figures current;
- the uploader loop (`run`) takes complete clips (the sidecar is there) oldest first. Per clip
  and per file (video, thumbnail, sidecar LAST): copy to `.<name>.part` in the day folder, fsync,
  check the size and, for the video, the sha256 read back from the NAS copy against the
  sidecar, rename into place, fsync the folder; only then remove the clip from the spool (the
  sidecar last). A file already on the NAS with the right size and hash is not copied again,
  so a pass killed anywhere leaves only hidden .part files there and the next pass finishes it.
Any OSError retries the whole turn with exponential backoff (capped); the NAS coming back (seen
in mountinfo, which costs no NAS I/O) or `wake()` retries at once. A sidecar that is not valid
JSON with the fields we need, or a video that does not match its sidecar, moves the clip to
`<spool>/rejected/` with an ERROR: it can never be uploaded and must not block the queue.

health() takes only a short lock that no NAS I/O is ever done under; its NAS figures are those
of the last turn.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartcam.camera.clipinfo import STEM, utc
from smartcam.config import Config
from smartcam.errors import SmartcamError
from smartcam.host import nas
from smartcam.host.inotify import DirWatch
from smartcam.host.nas import CopyCorrupt, Nas, NasState, NasUnavailable, day_name

log = logging.getLogger(__name__)
SUFFIXES = (".mp4", ".jpg", ".json")  # upload order: the sidecar goes into place last
REQUIRED = {"schema": int, "camera": str, "event": str, "start": str, "size": int, "sha256": str}
SHA256 = re.compile(r"[0-9a-f]{64}")
RECENT = 20  # dropped / rejected clips remembered for the page


@dataclass(frozen=True)
class Timing:
    """How often things happen; tests shrink these."""

    rescan: float = 30.0  # look at the outbox even without an inotify event
    budget: float = 1.0  # how often the spool keeper checks the spool's size
    backoff_first: float = 1.0
    backoff_cap: float = 60.0
    mount_poll: float = 2.0  # look at mountinfo to notice the NAS going or coming back
    tick: float = 0.5  # the longest either loop waits before looking at stop


class ClipRejected(SmartcamError):
    """This clip can never be uploaded as it is (its sidecar or its video is wrong)."""


class Stopped(Exception):
    """The host is stopping: a copy under way is abandoned (its .part stays hidden)."""


@dataclass(frozen=True)
class Waiting:
    """The files of one clip in the outbox."""

    stem: str
    complete: bool  # its sidecar is there
    size: int  # of all its files


def _sort_key(stem: str) -> tuple[str, str]:
    match = STEM.match(stem)
    return (match["stamp"] if match else "", stem)


def waiting_clips(outbox: Path) -> list[Waiting]:
    """The clips in the outbox, oldest first; files whose names are not a clip's are left out."""
    sizes: dict[str, int] = {}
    sidecars = set()
    with os.scandir(outbox) as entries:
        for entry in entries:
            stem, dot, suffix = entry.name.rpartition(".")
            if dot and "." + suffix in SUFFIXES and STEM.match(stem):
                try:
                    sizes[stem] = sizes.get(stem, 0) + entry.stat().st_size
                except FileNotFoundError:
                    continue
                if suffix == "json":
                    sidecars.add(stem)
    return [Waiting(stem, stem in sidecars, sizes[stem]) for stem in sorted(sizes, key=_sort_key)]


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


def read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar, checked for what the upload needs; ClipRejected when it is unusable."""
    try:
        card = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as err:
        raise ClipRejected(f"its sidecar is not JSON ({err})") from err
    if not isinstance(card, dict):
        raise ClipRejected("its sidecar is not a JSON object")
    for key, kind in REQUIRED.items():
        value = card.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ClipRejected(f"its sidecar lacks {key!r} (or it is not a {kind.__name__})")
    if not SHA256.fullmatch(card["sha256"]):
        raise ClipRejected("its sidecar's sha256 is not 64 hex digits")
    return card


class Uploader:
    """Spool → NAS for one camera (see the module docstring); process.py runs it on a thread."""

    def __init__(self, cfg: Config, timing: Timing | None = None):
        self.cfg = cfg
        self.timing = timing or Timing()
        spool = Path(cfg.storage.spool)
        self.recording, self.outbox, self.rejected = (
            spool / "recording", spool / "outbox", spool / "rejected")
        self.budget = cfg.storage.spool_size
        self.nas = Nas(cfg)
        self.alive = time.monotonic()
        self._lock = threading.Lock()  # guards _stats only; never held over I/O
        self._spool_lock = threading.Lock()  # the keeper's drops vs. the clip being uploaded
        self._busy: str | None = None
        self._work = threading.Event()  # something arrived in the outbox
        self._nudge = threading.Event()  # wake(): try now, whatever the backoff
        self._stats: dict[str, Any] = {
            "nas": self.nas.down("not checked yet").as_dict(), "backlog_clips": 0,
            "backlog_bytes": 0, "spool_used_bytes": 0, "uploading": None, "uploaded": 0,
            "uploaded_bytes": 0, "last_upload": None, "last_error": None, "failures": 0,
            "dropped": 0, "dropped_recent": deque(maxlen=RECENT), "rejected": 0,
            "rejected_recent": deque(maxlen=RECENT),
        }

    # --- what other threads call -------------------------------------------------------------

    def wake(self) -> None:
        self._nudge.set()
        self._work.set()

    def health(self) -> dict[str, Any]:
        with self._lock:
            s = dict(self._stats)
            dropped, rejected = list(s.pop("dropped_recent")), list(s.pop("rejected_recent"))
        nas = s.pop("nas")
        return {
            "nas_path": nas["path"], "nas_type": nas["type"], "nas_fstype": nas["fstype"],
            "nas_mounted": nas["mounted"], "nas_writable": nas["writable"],
            "nas_free_bytes": nas["free_bytes"], "nas_total_bytes": nas["total_bytes"],
            "nas_error": nas["error"],
            "nas_checked": utc(nas["checked"]) if nas["checked"] else None,
            "spool_budget_bytes": self.budget,
            "stalled_seconds": round(time.monotonic() - self.alive, 1), **s,
            "dropped_recent": dropped, "rejected_recent": rejected,
        }

    def _set(self, **values: Any) -> None:
        with self._lock:
            self._stats.update(values)

    def _count(self, key: str, recent: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self._stats[key] += 1
            self._stats[recent].append(entry)

    def _nas_state(self, state: NasState) -> None:
        self._set(nas=state.as_dict())

    # --- the threads -------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        done = threading.Event()
        keeper = threading.Thread(
            target=self._keep, args=(stop, done), name="spool-keeper", daemon=True)
        keeper.start()
        try:
            self._loop(stop)
        finally:
            done.set()
            keeper.join()

    def _loop(self, stop: threading.Event) -> None:
        t = self.timing
        failures, retry_at, rescan_at, poll_at = 0, 0.0, 0.0, 0.0
        was_mounted: bool | None = None
        self._work.set()  # what is already in the outbox
        while not stop.is_set():
            now = self.alive = time.monotonic()
            if self._nudge.is_set():
                self._nudge.clear()
                retry_at = 0.0
            if now >= poll_at:  # mountinfo only: noticing the NAS go or come back costs nothing
                poll_at = now + t.mount_poll
                mounted = self.nas.mount_problem() is None
                if mounted != was_mounted:
                    was_mounted, retry_at = mounted, 0.0
                    self._work.set()
            if now >= retry_at and (self._work.is_set() or now >= rescan_at):
                self._work.clear()
                rescan_at = now + t.rescan
                try:
                    self.upload_waiting(stop)
                    if failures:
                        log.info("uploading again after %d failed tries", failures)
                    failures, retry_at = 0, 0.0
                    self._set(last_error=None, failures=0)
                except Exception as err:  # OSError above all; anything else is a bug: log it
                    failures += 1
                    delay = min(t.backoff_cap, t.backoff_first * 2 ** min(failures - 1, 30))
                    retry_at = time.monotonic() + delay
                    self._work.set()  # the same clips are due again at retry_at
                    self._failed(err, failures, delay)
                continue
            if retry_at > now:
                self._nudge.wait(min(t.tick, retry_at - now))
            else:
                self._work.wait(t.tick)

    def _failed(self, err: BaseException, failures: int, delay: float) -> None:
        if isinstance(err, Stopped):
            return
        text = str(err) or type(err).__name__
        self._set(last_error=text, failures=failures, uploading=None)
        if isinstance(err, OSError):
            self.nas.forget_probe()
            level = logging.ERROR if failures == 1 else logging.WARNING
            log.log(level, "upload failed (try %d, next in %.1f s): %s", failures, delay, text)
        else:
            log.exception("upload failed unexpectedly (next try in %.1f s)", delay, exc_info=err)

    def _keep(self, stop: threading.Event, done: threading.Event) -> None:
        t = self.timing
        watch: DirWatch | None = None
        budget_at = watch_at = 0.0
        try:
            while not (stop.is_set() or done.is_set()):
                if watch is None and time.monotonic() >= watch_at:
                    watch, watch_at = self._watch(), time.monotonic() + t.rescan
                arrived: list[str] = []
                if watch:
                    arrived = watch.wait(t.tick)
                else:
                    done.wait(t.tick)
                if any(n == "" or n.endswith(".json") for n in arrived):
                    self._work.set()
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
            self._set(last_error=f"cannot use the spool {self.outbox.parent}: {err}")
            log.error("cannot use the spool %s (trying again): %s", self.outbox.parent, err)
            return None

    # --- the spool budget --------------------------------------------------------------------

    def keep_budget(self) -> None:
        """Drop the oldest waiting clips while recording/ + outbox/ exceed spool_size."""
        with self._spool_lock:
            try:
                clips = waiting_clips(self.outbox)
                used = dir_bytes(self.recording) + dir_bytes(self.outbox)
            except FileNotFoundError:
                return
            kept = []
            for clip in clips:
                if used <= self.budget or not clip.complete or clip.stem == self._busy:
                    kept.append(clip)
                    continue
                reason = (f"the spool is full ({used >> 20} MiB used of {self.budget >> 20} MiB)"
                          " while the NAS does not take clips")
                self._remove(self.outbox, clip.stem)
                used -= clip.size
                log.error("DROPPED clip %s (%d bytes), never uploaded: %s",
                          clip.stem, clip.size, reason)
                self._count("dropped", "dropped_recent", {
                    "clip": clip.stem, "time": utc(time.time()), "bytes": clip.size,
                    "reason": reason})
        backlog = [c for c in kept if c.complete]
        self._set(backlog_clips=len(backlog), backlog_bytes=sum(c.size for c in backlog),
                  spool_used_bytes=used)

    @staticmethod
    def _remove(folder: Path, stem: str, into: Path | None = None) -> None:
        """Remove (or move `into`) a clip's files, the sidecar last: until then it is whole."""
        for suffix in SUFFIXES:
            path = folder / f"{stem}{suffix}"
            try:
                if into is None:
                    path.unlink()
                else:
                    os.replace(path, into / path.name)
            except FileNotFoundError:
                pass

    # --- one turn: every complete clip, oldest first ------------------------------------------

    def upload_waiting(self, stop: threading.Event | None = None) -> None:
        """One turn: check the NAS, then upload every complete clip, oldest first.

        Raises OSError (NasUnavailable when it is not mounted, CopyCorrupt for a bad copy).
        """
        stop = stop or threading.Event()
        try:
            with self.nas.open() as fd:
                state = self.nas.look(fd)
        except NasUnavailable as err:
            self._nas_state(self.nas.down(str(err)))
            raise
        except OSError as err:
            mounted = self.nas.mount_problem() is None
            self._nas_state(NasState(str(self.nas.path), self.nas.type, mounted, False,
                                     error=str(err), checked=time.time()))
            raise
        self._nas_state(state)
        if not state.writable:
            raise NasUnavailable(state.error or f"cannot write in {self.nas.path}")
        uploaded = False
        for clip in waiting_clips(self.outbox):
            if stop.is_set():
                raise Stopped()
            if clip.complete:
                uploaded |= self._upload(clip.stem, stop)
        if uploaded:  # the free space health shows
            with self.nas.open() as fd:
                self._nas_state(self.nas.look(fd))

    def _upload(self, stem: str, stop: threading.Event) -> bool:
        """Upload one clip and remove it from the spool; False when it went elsewhere."""
        with self._spool_lock:
            if not (self.outbox / f"{stem}.json").exists():
                return False  # dropped by the keeper meanwhile
            self._busy = stem
        self._set(uploading=stem)
        try:
            card = read_sidecar(self.outbox / f"{stem}.json")
            size = 0
            camera = STEM.match(stem)["camera"]  # type: ignore[index]
            with self.nas.open(camera=camera) as cam:
                try:
                    os.mkdir(day_name(stem), 0o755, dir_fd=cam)
                except FileExistsError:
                    pass
                day = os.open(day_name(stem), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC,
                              dir_fd=cam)
                try:
                    for suffix in SUFFIXES:
                        size += self._put(day, stem, suffix, card, stop)
                finally:
                    os.close(day)
            self._remove(self.outbox, stem)
            with self._lock:
                self._stats["uploaded"] += 1
                self._stats["uploaded_bytes"] += size
                self._stats["last_upload"] = utc(time.time())
            log.info("uploaded %s (%d bytes copied)", stem, size)
            return True
        except ClipRejected as why:
            self._reject(stem, str(why))
            return False
        finally:
            with self._spool_lock:
                self._busy = None
            self._set(uploading=None)

    def _reject(self, stem: str, why: str) -> None:
        self.rejected.mkdir(parents=True, exist_ok=True)
        with self._spool_lock:
            self._remove(self.outbox, stem, into=self.rejected)
        log.error("REJECTED clip %s, moved to %s: %s", stem, self.rejected, why)
        self._count("rejected", "rejected_recent",
                    {"clip": stem, "time": utc(time.time()), "reason": why})

    def _put(self, day: int, stem: str, suffix: str, card: dict[str, Any],
             stop: threading.Event) -> int:
        """Make <day>/<stem><suffix> a verified copy of the spool's; bytes copied (0: none)."""
        name = stem + suffix
        src_path = self.outbox / name
        try:
            src = os.open(src_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            # Gone from the spool: a pass that stopped midway had put it on the NAS already.
            if suffix == ".json":
                raise  # the clip went away under us; the next turn no longer sees it
            if suffix == ".mp4":
                if nas.size_at(day, name) == card["size"] and (
                    nas.hash_at(day, name) == card["sha256"]
                ):
                    return 0
                raise ClipRejected("its video is neither in the spool nor on the NAS") from None
            if nas.size_at(day, name) is None:
                log.warning("%s: no thumbnail in the spool; uploading the clip without it", stem)
            return 0
        try:
            size = os.fstat(src).st_size
            if suffix == ".mp4":
                if size != card["size"]:
                    raise ClipRejected(f"its video is {size} bytes; its sidecar: {card['size']}")
                want = card["sha256"]
            else:
                want = nas.sha256_fd(src)
            if nas.size_at(day, name) == size and nas.hash_at(day, name) == want:
                return 0  # put there by an earlier pass

            def tick() -> None:
                self.alive = time.monotonic()  # a slow copy still makes progress
                if stop.is_set():
                    raise Stopped()

            nas.put_file(day, name, src, size, want, tick)
            return size
        except CopyCorrupt:
            if suffix == ".mp4" and nas.sha256_fd(src) != card["sha256"]:
                raise ClipRejected("its video does not match its sidecar's sha256") from None
            raise
        finally:
            os.close(src)
