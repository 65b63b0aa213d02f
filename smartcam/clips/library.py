"""A camera's clips, newest first: what the page lists and the API serves.

Clips live on the NAS under `<nas>/<camera>/<YYYY-MM-DD>/` once uploaded, in
`<spool>/outbox/` while they wait, and in `<spool>/uploaded/` for a while after their upload
(clips.spool). All use the stem `<camera>_<YYYYMMDDTHHMMSSZ>_<event>` and publish the `.json`
sidecar last, so a sidecar means a whole clip; a clip found in several places is shown once,
from the NAS, and its spool copy is remembered (`spool_copy`) for when the NAS does not answer.

One background indexer (`run`, on its own thread) does all the I/O: it lists the folders
(each listing kept until the folder's mtime changes), reads each new or changed sidecar once,
and publishes a `Snapshot`, the spool's part first so a NAS that hangs does not hold up a new
clip. Requests answer from the last snapshot and never touch the disk, so a NAS that hangs
stalls only the indexer: the page keeps answering with what was known, and says how old that
is (`listed_at`). The indexer reads the NAS only while it is mounted (`nas_mounted`, from
mountinfo), so it never starts an automount itself; and `answering()` says whether its last
look at the NAS went well lately, so that nothing is handed to nginx to read from a dead share.
Only paths built here from names found on disk are ever served: an event id from a request is
validated and looked up, never joined onto a path.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
from smartcam.clips.spool import SpoolDirs
from smartcam.config import Config
from smartcam.errors import SmartcamError

log = logging.getLogger(__name__)
CURSOR = re.compile(rf"(?P<stamp>{STAMP_PATTERN})_(?P<event>{EVENT_PATTERN})")
SETTLE_SECONDS = 2.0  # a folder changed this recently may change again within its mtime tick
INDEX_EVERY = 2.0  # seconds between the indexer's looks, unless woken sooner
ANSWER_WINDOW = 10.0  # the NAS answers while the indexer's last good look is this recent


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
        """A NAS file's path below `<nas>/`, `<camera>/<day>/<file>` (for nginx's
        X-Accel-Redirect: nginx serves the NAS root, the camera's name is ours)."""
        return f"{self.folder.parent.name}/{self.day}/{path.name}"


@dataclass(frozen=True)
class Entry:
    """What the index knows of one clip: its files, its sidecar (the heat map kept apart, as
    256 bytes), and the incidents it belongs to."""

    clip: Clip
    summary: dict[str, Any]
    heatmap: bytes

    @property
    def incidents(self) -> tuple[str, ...]:
        found = [self.summary.get("incident"), *(self.summary.get("incidents") or ())]
        return tuple(dict.fromkeys(i for i in found if isinstance(i, str)))

    def card(self) -> dict[str, Any]:
        """The whole sidecar, heat map included."""
        rows = [list(self.heatmap[r * 16 : (r + 1) * 16]) for r in range(len(self.heatmap) // 16)]
        return {**self.summary, "heatmap": rows}


@dataclass(frozen=True)
class Snapshot:
    """Every clip known at one moment: newest first, by event and by incident."""

    entries: tuple[Entry, ...] = ()
    by_event: dict[str, Entry] = field(default_factory=dict)
    by_incident: dict[str, tuple[Entry, ...]] = field(default_factory=dict)
    spooled: dict[str, Entry] = field(default_factory=dict)  # by event: the spool's copies
    listed_at: float | None = None  # wall clock of the last look that reached the NAS


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
    """One camera's clips in its NAS folder and its spool."""

    def __init__(self, cfg: Config, every: float = INDEX_EVERY,
                 nas_mounted: Callable[[], bool] = lambda: True):
        self.camera_dir = cfg.storage.nas / cfg.camera.name
        dirs = SpoolDirs(cfg.storage.spool)
        self.spool_folders = (dirs.outbox, dirs.uploaded)
        self.every = every
        self.nas_mounted = nas_mounted
        self.snapshot = Snapshot()
        self.alive = time.monotonic()
        self.nas_seen = -1e18  # time.monotonic() of the last look that reached the NAS
        self._wake = threading.Event()
        self._scanning = threading.Lock()
        self._folders: dict[Path, tuple[int, list[Entry]]] = {}  # folder -> (mtime_ns, entries)
        self._entries: dict[Path, tuple[int, int, Entry]] = {}  # sidecar -> (mtime, size, entry)
        self._signature: tuple[tuple[Path, int], ...] = ()  # the folders' mtimes at the last look

    # -- answers, from the last snapshot: no I/O -------------------------------------------------

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
        if day is not None:
            check_day(day)
        if cause is not None:
            check_cause(cause)
        found: list[tuple[Clip, dict[str, Any]]] = []
        skipped = 0
        for entry in self.snapshot.entries:
            clip = entry.clip
            if (after and clip.key >= after) or (day is not None and clip.day != day):
                continue
            if cause is not None and entry.summary.get("cause") != cause:
                continue
            if skipped < offset:
                skipped += 1
                continue
            if len(found) == limit:
                return found, found[-1][0].cursor
            found.append((clip, entry.summary))
        return found, None

    def incident(self, incident: str) -> list[tuple[Clip, dict[str, Any]]]:
        """This camera's clips of one incident (also those that joined it), newest first."""
        if not EVENT_ID.fullmatch(incident):
            raise BadQuery("an incident id is 8 to 32 hexadecimal digits (0-9, a-f)")
        return [(e.clip, e.summary) for e in self.snapshot.by_incident.get(incident, ())]

    def find(self, event: str) -> Clip | None:
        """The clip of an event id, or None (also for anything that is not an event id)."""
        entry = self.snapshot.by_event.get(event) if EVENT_ID.fullmatch(event) else None
        return entry.clip if entry else None

    def get(self, event: str) -> tuple[Clip, dict[str, Any]] | None:
        """The clip and its whole sidecar (with the heat map)."""
        entry = self.snapshot.by_event.get(event) if EVENT_ID.fullmatch(event) else None
        return (entry.clip, entry.card()) if entry else None

    def spool_copy(self, event: str) -> Clip | None:
        """The spool's copy of a clip (waiting, or kept after its upload), or None."""
        entry = self.snapshot.spooled.get(event) if EVENT_ID.fullmatch(event) else None
        return entry.clip if entry else None

    def answering(self) -> bool:
        """Did the NAS answer the indexer lately? (No I/O: a hung NAS holds up the indexer,
        and so its last good look grows old.)"""
        return time.monotonic() - self.nas_seen < ANSWER_WINDOW and self.nas_mounted()

    def holds(self, path: Path) -> bool:
        """Is `path` a file in this camera's folders, and no link to elsewhere? Anyone who can
        write to the share could plant `<day>/<stem>.mp4 -> /boot/firmware/smartcam.conf`.
        The spool is looked at first: a spool copy is served when the NAS hangs, and
        resolving the NAS's folder would hang with it."""
        if path.is_symlink():
            return False
        real = Path(os.path.realpath(path))
        return any(real.is_relative_to(os.path.realpath(root))
                   for root in (*self.spool_folders, self.camera_dir))

    # -- the indexer: all the I/O ------------------------------------------------------------------

    def wake(self) -> None:
        """Look again now (a clip was finished or uploaded)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.alive = time.monotonic()
            self._wake.clear()
            try:
                self.scan()
            except Exception:  # a bug or a strange NAS must not end the indexer
                log.exception("listing the clips failed")
            self._wake.wait(self.every)

    def scan(self) -> Snapshot:
        """Look at every folder (what did not change is not read again); publish and return
        the new snapshot. One look at a time; requests never wait for it."""
        with self._scanning:
            return self._scan()

    def _scan(self) -> Snapshot:
        spool = [(folder, self._spool_folder(folder)) for folder in self.spool_folders]
        self._publish(spool, self._known_nas(), self.snapshot.listed_at)
        started = time.time()
        nas = self._nas_folders()
        if nas is None:  # not mounted, or not answering: its clips as of the last good look
            return self.snapshot
        self.nas_seen = time.monotonic()
        return self._publish(spool, nas, started)

    def _publish(self, spool: list[tuple[Path, list[Entry]]], nas: list[tuple[Path, list[Entry]]],
                 listed_at: float | None) -> Snapshot:
        listed = spool + nas
        signature = tuple((folder, self._folders.get(folder, (0,))[0]) for folder, _ in listed)
        if signature == self._signature and all(mtime for _, mtime in signature):
            self.snapshot = replace(self.snapshot, listed_at=listed_at)  # nothing changed
            return self.snapshot
        self._signature = signature
        spooled = {entry.clip.event: entry for _, entries in spool for entry in entries}
        by_event = dict(spooled)
        for _, entries in nas:  # a NAS copy wins
            for entry in entries:
                by_event[entry.clip.event] = entry
        live = {e.clip.sidecar for e in (*by_event.values(), *spooled.values())}
        self._entries = {p: v for p, v in self._entries.items() if p in live}
        entries = tuple(sorted(by_event.values(), key=lambda e: e.clip.key, reverse=True))
        by_incident: dict[str, list[Entry]] = {}
        for entry in entries:
            for incident in entry.incidents:
                by_incident.setdefault(incident, []).append(entry)
        self.snapshot = Snapshot(entries, by_event, {k: tuple(v) for k, v in by_incident.items()},
                                 spooled, listed_at)
        return self.snapshot

    def _spool_folder(self, folder: Path) -> list[Entry]:
        try:
            return self._folder(folder, "spool")
        except OSError:  # not made yet
            self._folders.pop(folder, None)
            return []

    def _known_nas(self) -> list[tuple[Path, list[Entry]]]:
        """The NAS's day folders as the last look found them, newest first."""
        return sorted(((f, v[1]) for f, v in self._folders.items() if f.parent == self.camera_dir),
                      reverse=True)

    def _nas_folders(self) -> list[tuple[Path, list[Entry]]] | None:
        """The NAS's day folders, newest first, each with its clips; None when the NAS is not
        mounted or a look fails (then nothing known is forgotten)."""
        if not self.nas_mounted():
            return None
        try:
            with os.scandir(self.camera_dir) as entries:
                days = [self.camera_dir / e.name for e in entries
                        if is_day(e.name) and e.is_dir()]
        except FileNotFoundError:
            days = []  # no clip uploaded yet
        except OSError as err:
            log.debug("cannot list %s: %s", self.camera_dir, err)
            return None
        listed = []
        for day in sorted(days, reverse=True):
            try:
                listed.append((day, self._folder(day, "nas")))
            except FileNotFoundError:
                self._folders.pop(day, None)  # deleted by retention meanwhile
            except OSError as err:
                log.debug("cannot list %s: %s", day, err)
                return None
        for gone in {f for f, _ in self._known_nas()} - set(days):
            self._folders.pop(gone, None)  # a day folder retention removed
        return listed

    def _folder(self, folder: Path, kind: str) -> list[Entry]:
        """The clips whose sidecar is in a folder, kept until the folder's mtime changes.
        Raises OSError when the folder or a sidecar in it cannot be read: it is read again
        next time, and no clip is forgotten for a passing error."""
        mtime = folder.stat().st_mtime_ns
        cached = self._folders.get(folder)
        if cached and cached[0] == mtime:
            return cached[1]
        entries = []
        with os.scandir(folder) as listing:
            names = [e.name for e in listing]
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            parsed = ClipName.parse(stem) if dot and suffix == "json" else None
            if parsed:
                clip = Clip(stem, parsed.event, parsed.stamp, folder, kind)
                entry = self._entry(clip)
                if entry:
                    entries.append(entry)
        # A folder written within its mtime's resolution may change without a new mtime:
        # trust it only once it has settled (0 marks it as to be read again).
        settled = time.time() - mtime / 1e9 > SETTLE_SECONDS
        self._folders[folder] = (mtime if settled else 0, entries)
        return entries

    def _entry(self, clip: Clip) -> Entry | None:
        """A clip's sidecar, read only when it is new or changed; None when it is gone or not
        a sidecar. Raises OSError when it cannot be read."""
        try:
            st = clip.sidecar.stat()
        except FileNotFoundError:
            return None
        known = self._entries.get(clip.sidecar)
        if known and known[:2] == (st.st_mtime_ns, st.st_size):
            return known[2]
        card = _read_json(clip.sidecar)
        if card is None:
            return None
        entry = Entry(clip, card, _heat_bytes(card.pop("heatmap", None)))
        self._entries[clip.sidecar] = (st.st_mtime_ns, st.st_size, entry)
        return entry


def _heat_bytes(rows: Any) -> bytes:
    """A 16x16 heat map of 0..255 as 256 bytes; anything else as none."""
    try:
        flat = bytes(int(v) for row in rows for v in row)
    except (TypeError, ValueError):
        return b""
    return flat if len(flat) == 256 else b""


def _read_json(path: Path) -> dict[str, Any] | None:
    """A sidecar's JSON object; None when it is gone or not one. Raises other OSErrors."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError as err:
        log.warning("cannot read the sidecar %s: %s", path, err)
        return None
    return data if isinstance(data, dict) else None
