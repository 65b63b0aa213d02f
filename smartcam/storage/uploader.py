"""The uploader: finished clips from the spool's outbox to the NAS, verified, in order.

Two threads, so a NAS that hangs stalls only the copying: the spool keeper (storage.budget)
keeps the spool under its budget and wakes this loop when a clip arrives; the loop (`run`)
takes complete clips (the sidecar is there) oldest first. Per clip and per file (video,
thumbnail, sidecar LAST): a verified copy (storage.copy: `.<name>.part`, fsync, size and, for
the video, the sha256 read back from the NAS against the sidecar, rename, fsync the folder);
only then does the clip leave the outbox (the sidecar last). A file already on the NAS with the
right size and hash is not copied again, so a pass killed anywhere leaves only hidden .part
files there and the next pass finishes it.
An uploaded clip is not deleted at once: fsync of a folder does nothing on cifs, and a NAS holds
a rename in memory for seconds (ext4's journal) to half a minute (btrfs) before its disk has
it, so a power cut there right after an upload would lose the clip on both sides. It moves to
`<spool>/uploaded/`; a turn `Timing.confirm_after` seconds later looks for it on the NAS again
and deletes the copy, or, if the NAS lost it, puts it back in the outbox to be uploaded again.
The spool keeper lets go of such copies first when the room is needed.
Any OSError retries the whole turn with exponential backoff (capped); the NAS coming back (seen
in mountinfo, which costs no NAS I/O) or `wake()` retries at once. A sidecar that is not valid
JSON with the fields we need, or a video that does not match its sidecar, moves the clip to
`<spool>/rejected/` with an ERROR: it can never be uploaded and must not block the queue.

health() takes only a short lock that no NAS I/O is ever done under; its NAS figures are those
of the last turn.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smartcam.clips.names import PUBLISH_ORDER, ClipName, utc
from smartcam.clips.sidecar import ClipRejected, read_sidecar
from smartcam.clips.spool import SpoolDirs, headroom
from smartcam.config import Config
from smartcam.errors import SmartcamError
from smartcam.storage.budget import SpoolKeeper, remove_clip, waiting_clips
from smartcam.storage.copy import CopyCorrupt, hash_at, put_file, sha256_fd, size_at
from smartcam.storage.mount import Nas, NasState, NasUnavailable, trouble
from smartcam.timing import Timing

log = logging.getLogger(__name__)
RECENT = 20  # rejected clips remembered for the page


class Stopped(SmartcamError):
    """The host is stopping: a copy under way is abandoned (its .part stays hidden)."""


class Uploader:
    """Spool → NAS for one camera (see the module docstring); process.py runs it on a thread."""

    def __init__(self, cfg: Config, timing: Timing | None = None):
        self.cfg = cfg
        self.timing = timing or Timing()
        spool = Path(cfg.storage.spool)
        dirs = SpoolDirs(spool)
        self.outbox, self.uploaded, self.rejected = dirs.outbox, dirs.uploaded, dirs.rejected
        self.nas = Nas(cfg)
        self.alive = time.monotonic()
        self.on_full: Callable[[], None] = lambda: None  # the NAS is full (the host: retention)
        self.on_uploaded: Callable[[], None] = lambda: None  # a clip is on the NAS (the list)
        self._work = threading.Event()  # something arrived in the outbox
        self._nudge = threading.Event()  # wake(): try now, whatever the backoff
        self.taking = False  # the last turn uploaded all it found, and the NAS is mounted
        self.keeper = SpoolKeeper(spool, cfg.storage.spool_size, self._work.set, self.timing,
                                  headroom(cfg.camera.bitrate), lambda: self.taking)
        self._lock = threading.Lock()  # guards _stats only; never held over I/O
        self._stats: dict[str, Any] = {
            "nas": self.nas.down("not checked yet").as_dict(), "uploading": None,
            "uploaded": 0, "uploaded_bytes": 0, "last_upload": None, "last_error": None,
            "failures": 0, "rejected": 0, "rejected_recent": deque(maxlen=RECENT),
            "reuploaded": 0,
            "trouble": None,  # mount.trouble() of the last failed upload
        }

    # --- what other threads call -------------------------------------------------------------

    def wake(self) -> None:
        self._nudge.set()
        self._work.set()

    def health(self) -> dict[str, Any]:
        spool = self.keeper.health()
        with self._lock:
            s = dict(self._stats)
            rejected = list(s.pop("rejected_recent"))
        s["last_error"] = s["last_error"] or spool.pop("last_error")
        nas = s.pop("nas")
        s["nas_trouble"] = s.pop("trouble") or nas["trouble"]
        return {**spool,
            "nas_path": nas["path"], "nas_type": nas["type"], "nas_fstype": nas["fstype"],
            "nas_mounted": nas["mounted"], "nas_writable": nas["writable"],
            "nas_free_bytes": nas["free_bytes"], "nas_total_bytes": nas["total_bytes"],
            "nas_error": nas["error"],
            "nas_checked": utc(nas["checked"]) if nas["checked"] else None,
            "stalled_seconds": round(time.monotonic() - self.alive, 1), **s,
            "rejected_recent": rejected,
        }

    def _set(self, **values: Any) -> None:
        with self._lock:
            self._stats.update(values)

    def _nas_state(self, state: NasState) -> None:
        self._set(nas=state.as_dict())

    # --- the threads -------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        done = threading.Event()  # the keeper stops when this loop does
        keeper = threading.Thread(target=self.keeper.run, args=(done,), name="spool-keeper",
                                  daemon=True)
        keeper.start()
        self.keeper.watching.wait(5.0)  # a clip published from now on wakes the loop at once
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
                    self.taking = self.taking and mounted
                    self._work.set()
            if now >= retry_at and (self._work.is_set() or now >= rescan_at):
                self._work.clear()
                rescan_at = now + t.rescan
                try:
                    self.upload_waiting(stop)
                    if failures:
                        log.info("uploading again after %d failed tries", failures)
                    failures, retry_at, self.taking = 0, 0.0, True
                    self._set(last_error=None, failures=0, trouble=None)
                except Exception as err:  # OSError above all; anything else is a bug: log it
                    failures, self.taking = failures + 1, False
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
            if err.errno or isinstance(err, NasUnavailable):  # not a bad copy: the NAS's doing
                self._set(trouble=trouble(err))
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                self.on_full()  # retention makes room now, not in ten minutes
            level = logging.ERROR if failures == 1 else logging.WARNING
            log.log(level, "upload failed (try %d, next in %.1f s): %s", failures, delay, text)
        else:
            log.exception("upload failed unexpectedly (next try in %.1f s)", delay, exc_info=err)

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
        self.confirm_uploaded(stop)
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
        clip = ClipName.parse(stem)
        assert clip is not None  # the outbox listing keeps only clips' names
        with self.keeper.uploading(stem) as present:
            if not present:
                return False  # dropped by the keeper meanwhile
            self._set(uploading=stem)
            try:
                card = read_sidecar(self.outbox / f"{stem}.json")
                size = 0
                # Into this camera's folder, whatever name the clip was recorded under: after
                # a rename its old clips stay on its page and under its retention.
                with self.nas.open() as cam:
                    try:
                        os.mkdir(clip.day, 0o755, dir_fd=cam)
                    except FileExistsError:
                        pass
                    day = os.open(clip.day, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC,
                                  dir_fd=cam)
                    try:
                        for suffix in PUBLISH_ORDER:
                            size += self._put(day, stem, suffix, card, stop)
                    finally:
                        os.close(day)
                self._keep(stem)
                with self._lock:
                    self._stats["uploaded"] += 1
                    self._stats["uploaded_bytes"] += size
                    self._stats["last_upload"] = utc(time.time())
                log.info("uploaded %s (%d bytes copied)", stem, size)
                self.on_uploaded()
                return True
            except ClipRejected as why:
                self._reject(stem, str(why))
                return False
            finally:
                self._set(uploading=None)

    def _keep(self, stem: str) -> None:
        """Move an uploaded clip to uploaded/, its sidecar's time the upload's."""
        self.uploaded.mkdir(exist_ok=True)
        remove_clip(self.outbox, stem, into=self.uploaded)
        os.utime(self.uploaded / f"{stem}.json")

    def confirm_uploaded(self, stop: threading.Event) -> None:
        """Look on the NAS for the clips uploaded `confirm_after` seconds ago or more: delete
        the spool's copy of those it has, and upload again those it lost."""
        if not self.uploaded.is_dir():
            return
        due = [c for c in waiting_clips(self.uploaded)
               if c.complete and time.time() - c.since >= self.timing.confirm_after]
        if not due:
            return
        with self.nas.open() as cam:
            for copy in due:
                if stop.is_set():
                    raise Stopped()
                if self._on_nas(cam, copy.stem):
                    remove_clip(self.uploaded, copy.stem)
                    continue
                log.warning("the NAS lost %s after it was uploaded (a power cut before its disk "
                            "had it?): uploading it again", copy.stem)
                remove_clip(self.uploaded, copy.stem, into=self.outbox)
                with self._lock:
                    self._stats["reuploaded"] += 1
                self._work.set()

    def _on_nas(self, cam: int, stem: str) -> bool:
        """Does the NAS hold each file of the kept copy, at its size?"""
        day = ClipName.parse(stem).day  # type: ignore[union-attr]  # listed as a clip's name
        for suffix in PUBLISH_ORDER:
            try:
                size = os.stat(self.uploaded / f"{stem}{suffix}").st_size
            except FileNotFoundError:
                continue  # a clip uploaded without its thumbnail
            if size_at(cam, f"{day}/{stem}{suffix}") != size:
                return False
        return True

    def _reject(self, stem: str, why: str) -> None:
        self.rejected.mkdir(parents=True, exist_ok=True)
        remove_clip(self.outbox, stem, into=self.rejected)
        log.error("REJECTED clip %s, moved to %s: %s", stem, self.rejected, why)
        with self._lock:
            self._stats["rejected"] += 1
            self._stats["rejected_recent"].append(
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
                if size_at(day, name) == card["size"] and (
                    hash_at(day, name) == card["sha256"]
                ):
                    return 0
                raise ClipRejected("its video is neither in the spool nor on the NAS") from None
            if size_at(day, name) is None:
                log.warning("%s: no thumbnail in the spool; uploading the clip without it", stem)
            return 0
        try:
            size = os.fstat(src).st_size
            if suffix == ".mp4":
                if size != card["size"]:
                    raise ClipRejected(f"its video is {size} bytes; its sidecar: {card['size']}")
                want = card["sha256"]
            else:
                want = sha256_fd(src)
            if size_at(day, name) == size and hash_at(day, name) == want:
                return 0  # put there by an earlier pass

            def tick() -> None:
                self.alive = time.monotonic()  # a slow copy still makes progress
                if stop.is_set():
                    raise Stopped()

            put_file(day, name, src, size, want, tick)
            return size
        except CopyCorrupt:
            if suffix == ".mp4" and sha256_fd(src) != card["sha256"]:
                raise ClipRejected("its video does not match its sidecar's sha256") from None
            raise
        finally:
            os.close(src)
