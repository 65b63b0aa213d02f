"""The Finisher thread: closed clips (and crash leftovers) hashed, thumbnailed and published.

A full spool must not leave a clip stuck in recording/: a job that fails for want of room
(or any other OSError) is tried again with backoff, as the uploader empties the spool, and
anything still unfinished at close waits in recording/ for the next start's recovery.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from smartcam.camera.spool import Spool
from smartcam.clips.sidecar import ClipMeta, Motion

log = logging.getLogger(__name__)
RETRY_FIRST = 1.0
RETRY_CAP = 60.0
Card = dict[str, object]


@dataclass(frozen=True)
class ClosedClip:
    """A clip the recorder closed, on its way to the Finisher thread."""

    video: Path
    meta: ClipMeta
    start_wall: float
    motion: Motion

    def finish(self, spool: Spool) -> Card | None:
        return spool.finish(self.video, self.meta, self.start_wall, self.motion)


@dataclass(frozen=True)
class Leftover:
    """A clip a killed process left that the start could not finish for want of room."""

    stem: str

    @property
    def video(self) -> str:
        return f"{self.stem}.mp4"

    def finish(self, spool: Spool) -> Card | None:
        return spool.recover_one(self.stem)


Job = ClosedClip | Leftover


@dataclass
class _Retry:
    due: float
    tries: int
    job: Job


class Finisher:
    """Finishes jobs one by one on its own thread, trying failed ones again with backoff."""

    def __init__(self, spool: Spool, on_clip: Callable[[Card], None],
                 retry_first: float = RETRY_FIRST, retry_cap: float = RETRY_CAP):
        self._spool = spool
        self._on_clip = on_clip
        self._first, self._cap = retry_first, retry_cap
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._retries: list[_Retry] = []
        self.waiting = 0  # jobs waiting to be tried again, for status
        self._thread = threading.Thread(target=self._run, name="finisher", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            due = min((r.due for r in self._retries), default=None)
            wait = None if due is None else max(0.0, due - time.monotonic())
            try:
                job = self._jobs.get(timeout=wait)
            except queue.Empty:  # only retries are due
                self._retry_due()
                continue
            if job is None:
                break
            self._try(job, 0)
            self._retry_due()
        for retry in self._retries:  # one last try; what still fails waits for recover()
            self._try(retry.job, retry.tries, last=True)

    def _retry_due(self) -> None:
        now = time.monotonic()
        due = [r for r in self._retries if r.due <= now]
        self._retries = [r for r in self._retries if r.due > now]
        for retry in due:
            self._try(retry.job, retry.tries)
        self.waiting = len(self._retries)

    def _try(self, job: Job, tries: int, last: bool = False) -> None:
        try:
            card = job.finish(self._spool)
        except OSError as err:  # above all a full spool: try again as the uploader empties it
            if last:
                log.error("could not finish %s (%s); it waits in recording/ for the next start",
                          job.video, err)
                return
            delay = min(self._cap, self._first * 2**tries)
            log.log(logging.ERROR if tries == 0 else logging.WARNING,
                    "could not finish %s (%s); trying again in %.0f s", job.video, err, delay)
            self._retries.append(_Retry(time.monotonic() + delay, tries + 1, job))
            return
        except Exception:  # a bug or a file we cannot read: the next start's recovery decides
            log.exception("could not finish %s", job.video)
            return
        if card is not None:
            self._on_clip(card)

    def close(self) -> None:
        """Finish everything submitted (one more try for those waiting), then stop."""
        self._jobs.put(None)
        self._thread.join()
