"""A camera's clips, newest first: what the page lists and the API serves.

Clips live in two places: on the NAS under `<nas>/<camera>/<YYYY-MM-DD>/` once uploaded, and
in `<spool>/outbox/` while they wait. Both use the stem `<camera>_<YYYYMMDDTHHMMSSZ>_<event>`
and publish the `.json` sidecar last, so a sidecar means a whole clip; a clip found in both
places is shown once, from the NAS. Listing is by file names only (each folder's listing is
cached by its mtime); sidecars are read lazily, while paging, and cached by path, mtime and
size. Only paths built here from names found on disk are ever served: an event id from a
request is validated and looked up, never joined onto a path.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartcam.clips.names import (
    CAUSES,
    EVENT_ID,
    EVENT_PATTERN,
    STAMP_PATTERN,
    ClipName,
    is_day,
)
from smartcam.config import Config
from smartcam.errors import SmartcamError

log = logging.getLogger(__name__)
CURSOR = re.compile(rf"(?P<stamp>{STAMP_PATTERN})_(?P<event>{EVENT_PATTERN})")
SIDECAR_CACHE = 4096  # summaries kept in memory (each a few kB); the rest are read again
LISTING_WAIT = 5.0  # seconds a first listing may wait for another thread's
SETTLE_SECONDS = 2.0  # a folder changed this recently may change again within its mtime tick


@dataclass(frozen=True)
class Clip:
    """Where one clip's files are; built only from names listed on disk."""

    stem: str
    event: str
    stamp: str  # YYYYMMDDTHHMMSSZ, UTC: the start of the clip
    folder: Path
    stored: str  # "nas" or "spool"

    @property
    def day(self) -> str:
        return f"{self.stamp[:4]}-{self.stamp[4:6]}-{self.stamp[6:8]}"

    @property
    def key(self) -> tuple[str, str]:
        """Sort key, newest last; also what a cursor names."""
        return (self.stamp, self.event)

    @property
    def cursor(self) -> str:
        return f"{self.stamp}_{self.event}"

    @property
    def sidecar(self) -> Path:
        return self.folder / f"{self.stem}.json"

    @property
    def video(self) -> Path:
        return self.folder / f"{self.stem}.mp4"

    @property
    def thumbnail(self) -> Path:
        return self.folder / f"{self.stem}.jpg"

    def relative(self, path: Path) -> str:
        """A NAS file's path below `<nas>/<camera>/` (for nginx's X-Accel-Redirect)."""
        return f"{self.day}/{path.name}"


class NasSlow(SmartcamError, OSError):
    """Listing the NAS takes too long (it is hanging); try again later."""


class BadQuery(SmartcamError, ValueError):
    """A listing parameter is malformed; str() says what is allowed."""


def check_day(day: str) -> str:
    if not is_day(day):
        raise BadQuery("day is a date written YYYY-MM-DD")
    return day


def check_cause(cause: str) -> str:
    if cause not in CAUSES:
        raise BadQuery(f"cause is one of {', '.join(CAUSES)}")
    return cause


def check_cursor(cursor: str) -> tuple[str, str]:
    m = CURSOR.fullmatch(cursor)
    if not m:
        raise BadQuery("cursor is the `next` value of a previous page")
    return (m["stamp"], m["event"])


class ClipLibrary:
    """One camera's clips in its NAS folder and its spool's outbox."""

    def __init__(self, cfg: Config):
        self.camera_dir = cfg.storage.nas / cfg.camera.name
        self.outbox = cfg.storage.spool / "outbox"
        self._lock = threading.Lock()  # guards the sidecar cache
        self._listing = threading.Lock()  # one listing at a time: waitress runs many threads
        self._folders: dict[Path, tuple[int, list[Clip]]] = {}  # folder -> (mtime_ns, clips)
        self._merged: tuple[tuple[tuple[Path, int], ...], list[Clip], dict[str, Clip]] | None = None
        self._cards: OrderedDict[Path, tuple[int, int, dict[str, Any]]] = OrderedDict()

    # -- listing -------------------------------------------------------------------------------

    def page(
        self,
        day: str | None = None,
        cause: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
        offset: int = 0,
    ) -> tuple[list[tuple[Clip, dict[str, Any]]], str | None]:
        """One page of (clip, sidecar summary), newest first, and the cursor of the next page."""
        after = check_cursor(cursor) if cursor is not None else None
        clips = self._clips(check_day(day) if day is not None else None)
        if cause is not None:
            check_cause(cause)
        found: list[tuple[Clip, dict[str, Any]]] = []
        skipped = 0
        for clip in clips:
            if after and clip.key >= after:
                continue
            card = self.summary(clip)
            if card is None or (cause is not None and card.get("cause") != cause):
                continue
            if skipped < offset:
                skipped += 1
                continue
            if len(found) == limit:
                return found, found[-1][0].cursor
            found.append((clip, card))
        return found, None

    def incident(self, incident: str) -> list[tuple[Clip, dict[str, Any]]]:
        """This camera's clips of one incident (also those that joined it), newest first."""
        if not EVENT_ID.fullmatch(incident):
            raise BadQuery("an incident id is 8 to 32 hexadecimal digits (0-9, a-f)")
        found = []
        for clip in self._clips(None):
            card = self.summary(clip)
            if card and (card.get("incident") == incident or incident in card.get("incidents", ())):
                found.append((clip, card))
        return found

    def find(self, event: str) -> Clip | None:
        """The clip of an event id, or None (also for anything that is not an event id)."""
        if not EVENT_ID.fullmatch(event):
            return None
        return self._merge()[2].get(event)

    def get(self, event: str) -> tuple[Clip, dict[str, Any]] | None:
        """The whole sidecar (with the heat map) and the clip's files."""
        clip = self.find(event)
        if clip is None:
            return None
        card = _read_json(clip.sidecar)
        if card is None:  # moved to the NAS between listing and reading: look once more
            clip = self.find(event)
            card = _read_json(clip.sidecar) if clip else None
        return (clip, card) if clip and card is not None else None

    def summary(self, clip: Clip) -> dict[str, Any] | None:
        """The sidecar without its heat map, cached by path, mtime and size."""
        try:
            st = clip.sidecar.stat()
        except OSError:
            return None
        with self._lock:
            hit = self._cards.get(clip.sidecar)
            if hit and hit[:2] == (st.st_mtime_ns, st.st_size):
                self._cards.move_to_end(clip.sidecar)
                return hit[2]
        card = _read_json(clip.sidecar)
        if card is None:
            return None
        card.pop("heatmap", None)
        with self._lock:
            self._cards[clip.sidecar] = (st.st_mtime_ns, st.st_size, card)
            while len(self._cards) > SIDECAR_CACHE:
                self._cards.popitem(last=False)
        return card

    def holds(self, path: Path) -> bool:
        """Is `path` a file in this camera's folders, and no link to elsewhere? Anyone who can
        write to the share could plant `<day>/<stem>.mp4 -> /boot/firmware/smartcam.conf`."""
        if path.is_symlink():
            return False
        real = Path(os.path.realpath(path))
        roots = (Path(os.path.realpath(self.camera_dir)), Path(os.path.realpath(self.outbox)))
        return any(real.is_relative_to(root) for root in roots)

    # -- folders -------------------------------------------------------------------------------

    def _clips(self, day: str | None) -> list[Clip]:
        if day is None:
            return self._merge()[1]
        by_event: dict[str, Clip] = {}
        with self._listing:
            for clip in self._folder(self.outbox, "spool"):
                if clip.day == day:
                    by_event[clip.event] = clip
            for clip in self._folder(self.camera_dir / day, "nas"):
                by_event[clip.event] = clip
        return sorted(by_event.values(), key=lambda c: c.key, reverse=True)

    def _merge(self) -> tuple[Any, list[Clip], dict[str, Clip]]:
        """Every clip, newest first, and by event id; rebuilt only when a folder changed.

        While another thread is listing (a slow or hung NAS), answer from the last listing
        instead of queueing behind it: a dead NAS must not use up the web server's threads.
        """
        first = self._merged is None
        if not (self._listing.acquire(timeout=LISTING_WAIT) if first
                else self._listing.acquire(blocking=False)):
            if self._merged is None:
                raise NasSlow("the NAS is not answering; the clip list will come back with it")
            return self._merged
        try:
            return self._merge_locked()
        finally:
            self._listing.release()

    def _merge_locked(self) -> tuple[Any, list[Clip], dict[str, Clip]]:
        folders = [(self.outbox, "spool")] + [(d, "nas") for d in self._day_folders()]
        for gone in self._folders.keys() - {folder for folder, _ in folders}:
            self._folders.pop(gone, None)  # a day folder retention removed
        listed = [(folder, kind, self._folder(folder, kind)) for folder, kind in folders]
        signature = tuple((folder, self._folders.get(folder, (0, []))[0]) for folder, _ in folders)
        merged = self._merged
        if merged is not None and merged[0] == signature and 0 not in (m for _, m in signature):
            return merged
        by_event: dict[str, Clip] = {}
        for _, _, clips in listed:  # the outbox first, so a NAS copy wins
            for clip in clips:
                by_event[clip.event] = clip
        ordered = sorted(by_event.values(), key=lambda c: c.key, reverse=True)
        self._merged = (signature, ordered, by_event)
        return self._merged

    def _day_folders(self) -> Iterator[Path]:
        try:
            with os.scandir(self.camera_dir) as entries:
                names = [e.name for e in entries if is_day(e.name) and e.is_dir()]
        except OSError:  # no NAS folder yet, or the NAS is away
            return iter(())
        return (self.camera_dir / name for name in sorted(names, reverse=True))

    def _folder(self, folder: Path, kind: str) -> list[Clip]:
        """The clips whose sidecar is in a folder, cached until the folder's mtime changes."""
        try:
            mtime = folder.stat().st_mtime_ns
        except OSError:
            self._folders.pop(folder, None)
            return []
        cached = self._folders.get(folder)
        if cached and cached[0] == mtime:
            return cached[1]
        clips = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    stem, dot, suffix = entry.name.rpartition(".")
                    name = ClipName.parse(stem) if dot and suffix == "json" else None
                    if name:
                        clips.append(Clip(stem, name.event, name.stamp, folder, kind))
        except OSError:
            return []
        # A folder written within its mtime's resolution may change without a new mtime:
        # remember it only once it has settled (0 marks it as not cached).
        settled = time.time() - mtime / 1e9 > SETTLE_SECONDS
        self._folders[folder] = (mtime if settled else 0, clips)
        return clips


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:
        if not isinstance(err, FileNotFoundError):
            log.warning("cannot read the sidecar %s: %s", path, err)
        return None
    return data if isinstance(data, dict) else None
