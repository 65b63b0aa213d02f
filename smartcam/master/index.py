"""The master's index of every camera's clips and incidents: SQLite, a cache of the NAS.

The NAS sidecars are the truth (DESIGN.md); this file only makes the timeline fast. It lives
on the master's own disk, and losing it loses nothing: a schema change or a corrupt file is
moved aside and rebuilt from the sidecars.

Clips are found by looking, because inotify does not see files that other machines write to a
network share: every `every` seconds only the newest day folders of each camera (today and
yesterday, UTC) are listed, and a folder whose mtime has not changed is not listed again. A
reconcile walks every day folder at start and every few hours, adding what was missed and
dropping clips whose sidecar is gone (retention). It drops nothing while the NAS is not
mounted, nor when most of the index would vanish at once: a NAS that comes back empty, or
half-mounted, must not wipe the history (Frigate's SAFETY_THRESHOLD, research/master.md).

Only names found on the NAS and checked against the clip contract become paths; requests name
clips by stem and are looked up here, never joined onto a path.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smartcam.clips.names import CAUSES, EVENT_ID, NAME, STEM, is_day, split_file
from smartcam.clips.sidecar import ClipRejected, read_sidecar
from smartcam.errors import SmartcamError
from smartcam.master.sqlite import connect, transaction
from smartcam.storage.mount import Nas

log = logging.getLogger(__name__)
VERSION = 2  # PRAGMA user_version; a different one means: rebuild
# A look at an unchanged day folder is one stat, so looking often is cheap: a new clip is
# listed within seconds of its sidecar landing, with no route from the cameras to the master.
POLL_EVERY = 2.0
RECONCILE_EVERY = 6 * 3600.0
SAFETY_SHARE = 0.5  # never drop more than this share of the clips in one reconcile
RECENT_DAYS = 2

SCHEMA = """
CREATE TABLE clips (
    stem TEXT PRIMARY KEY, camera TEXT NOT NULL, grp TEXT NOT NULL, day TEXT NOT NULL,
    start REAL NOT NULL, end REAL NOT NULL, trigger REAL, pre_record REAL NOT NULL,
    cause TEXT NOT NULL, origin TEXT NOT NULL, part INTEGER NOT NULL, size INTEGER NOT NULL,
    sha256 TEXT NOT NULL, thumbnail INTEGER NOT NULL, interrupted INTEGER NOT NULL,
    motion_peak REAL NOT NULL, heatmap BLOB, clock_synced INTEGER,
    ingested REAL NOT NULL     -- when the sidecar landed on the NAS (its mtime)
);
CREATE INDEX clips_start ON clips(start);
CREATE INDEX clips_camera ON clips(camera, start);
CREATE TABLE clip_incidents (stem TEXT NOT NULL, incident TEXT NOT NULL,
                             PRIMARY KEY (incident, stem));
CREATE INDEX clip_incidents_stem ON clip_incidents(stem);
CREATE TABLE folders (path TEXT PRIMARY KEY, mtime INTEGER NOT NULL);
"""
CLIP_COLUMNS = ("stem", "camera", "grp", "day", "start", "end", "trigger", "pre_record", "cause",
                "origin", "part", "size", "sha256", "thumbnail", "interrupted", "motion_peak",
                "heatmap", "clock_synced", "ingested")


class BadQuery(SmartcamError, ValueError):
    """A filter the timeline cannot take (said to the user as 400)."""


def _epoch(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def row_of(camera: str, day: str, stem: str, card: dict[str, Any],
           ingested: float = 0.0) -> dict[str, Any] | None:
    """The index row of one sidecar, or None if it is not one of ours."""
    start, end = _epoch(card.get("start")), _epoch(card.get("end"))
    if start is None or end is None or card.get("camera") != camera:
        return None
    heat = card.get("heatmap")
    try:
        heat_bytes = bytes(v for row in heat for v in row) if heat else None
    except (TypeError, ValueError):
        heat_bytes = None
    group = card.get("group")
    origin = card.get("origin")
    return {
        "stem": stem, "camera": camera, "day": day, "start": start, "end": end,
        "grp": group if isinstance(group, str) and NAME.fullmatch(group) else "",
        "trigger": _epoch(card.get("trigger_time")),
        "pre_record": float(card.get("pre_record") or 0.0),
        "cause": card.get("cause") if card.get("cause") in CAUSES else "motion",
        "origin": origin if isinstance(origin, str) and NAME.fullmatch(origin) else camera,
        "part": int(card.get("part") or 1), "size": card["size"], "sha256": card["sha256"],
        "thumbnail": bool(card.get("thumbnail")), "interrupted": bool(card.get("interrupted")),
        "motion_peak": float(card.get("motion_peak") or 0.0),
        "heatmap": heat_bytes if heat_bytes and len(heat_bytes) == 256 else None,
        "clock_synced": card.get("clock_synced"),
        "ingested": ingested,
        "incidents": _incidents(card),
    }


def _incidents(card: dict[str, Any]) -> list[str]:
    """The incidents a clip answers for; its own event when the sidecar names none."""
    named = card.get("incidents") or [card.get("incident")]
    found = [i for i in named if isinstance(i, str) and EVENT_ID.fullmatch(i)]
    return found or [card["event"]]


class ClipIndex:
    def __init__(self, path: Path, nas: Nas, every: float = POLL_EVERY,
                 reconcile_every: float = RECONCILE_EVERY):
        self.path, self.nas = path, nas
        self.every, self.reconcile_every = every, reconcile_every
        self.on_new: Callable[[list[dict[str, Any]]], None] | None = None  # the notifier
        self._lock = threading.Lock()
        self._db = self._open()
        self.alive = time.monotonic()
        self.state: dict[str, Any] = {"indexed_at": None, "error": None, "refused": None}
        self._wake = threading.Event()

    # -- the file ---------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect()
            if self._usable(db):
                return db
            db.close()
        except sqlite3.DatabaseError:
            pass
        aside = self.path.with_name(f"{self.path.name}.{int(time.time())}.old")
        log.warning("the clip index %s is from another version or damaged: rebuilding it from "
                    "the NAS (the old one is kept as %s)", self.path, aside.name)
        if self.path.exists():
            self.path.rename(aside)
        for extra in ("-wal", "-shm"):
            Path(f"{self.path}{extra}").unlink(missing_ok=True)
        db = self._connect()
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version = {VERSION}")
        return db

    def _connect(self) -> sqlite3.Connection:
        db = connect(self.path)
        db.execute("PRAGMA synchronous=NORMAL")  # a cache: a power cut may lose its last look
        return db

    @staticmethod
    def _usable(db: sqlite3.Connection) -> bool:
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and not db.execute("SELECT 1 FROM sqlite_master").fetchone():
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {VERSION}")
                return True
            return version == VERSION and db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            return False

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- looking at the NAS -----------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        last_reconcile = -float("inf")
        while not stop.is_set():
            self.alive = time.monotonic()
            try:
                if time.monotonic() - last_reconcile >= self.reconcile_every:
                    self.reconcile()
                    last_reconcile = time.monotonic()
                else:
                    self.poll()
                self.state["error"] = None
            except (OSError, SmartcamError) as err:
                if self.state["error"] != str(err):  # once per change, not every look
                    log.warning("cannot index the NAS: %s", err)
                self.state["error"] = str(err)
            except Exception:  # a strange NAS must not end indexing for good
                log.exception("indexing failed")
            self._wake.wait(self.every)
            self._wake.clear()

    def wake(self) -> None:
        """Look now (a host said it uploaded a clip)."""
        self._wake.set()

    def poll(self, now: float | None = None) -> int:
        """List the newest day folders of every camera; returns how many clips were added."""
        today = datetime.fromtimestamp(now or time.time(), UTC).date()
        days = {(today - timedelta(days=n)).isoformat() for n in range(RECENT_DAYS)}
        with self.nas.root():
            cameras = self._cameras()
            return sum(self._folder(c, d) for c in cameras for d in sorted(days)
                       if (self.nas.path / c / d).is_dir())

    def reconcile(self) -> dict[str, int]:
        """Walk every day folder: add what is missing, drop what retention deleted (safely)."""
        found: set[str] = set()
        added = 0
        with self.nas.root():
            for camera in self._cameras():
                for day in sorted(os.listdir(self.nas.path / camera)):
                    if is_day(day) and (self.nas.path / camera / day).is_dir():
                        added += self._folder(camera, day, force=True, found=found)
        with self._lock:
            known = {r[0] for r in self._db.execute("SELECT stem FROM clips")}
        gone = known - found
        if gone and (problem := self._refuse_drop(len(gone), len(known))):
            self.state["refused"] = problem
            log.warning("%s", problem)
            gone = set()
        else:
            self.state["refused"] = None
        if gone:
            with self._tx() as db:
                db.executemany("DELETE FROM clips WHERE stem = ?", ((s,) for s in gone))
                db.executemany("DELETE FROM clip_incidents WHERE stem = ?", ((s,) for s in gone))
        self.state["indexed_at"] = time.time()
        return {"added": added, "dropped": len(gone), "clips": len(known) - len(gone)}

    def _refuse_drop(self, gone: int, known: int) -> str | None:
        if self.nas.mount_problem():
            return f"not dropping {gone} clips from the index: {self.nas.mount_problem()}"
        if gone > known * SAFETY_SHARE and known >= 10:
            return (f"not dropping {gone} of {known} clips from the index: more than half of "
                    "the NAS's clips vanished at once (a share half-mounted or replaced?)")
        return None

    def _cameras(self) -> list[str]:
        return sorted(e.name for e in os.scandir(self.nas.path)
                      if e.is_dir(follow_symlinks=False) and NAME.fullmatch(e.name))

    def _folder(self, camera: str, day: str, force: bool = False,
                found: set[str] | None = None) -> int:
        folder = self.nas.path / camera / day
        mtime = folder.stat().st_mtime_ns
        key = f"{camera}/{day}"
        with self._lock:
            row = self._db.execute("SELECT mtime FROM folders WHERE path = ?", (key,)).fetchone()
            if row and row[0] == mtime and not force:
                return 0
            known = {r[0] for r in self._db.execute(
                "SELECT stem FROM clips WHERE camera = ? AND day = ?", (camera, day))}
        stems = []
        for name in os.listdir(folder):
            parsed = split_file(name)
            if parsed and parsed[1] == ".json" and parsed[0].camera == camera \
                    and parsed[0].day == day:
                stems.append(parsed[0].stem)
        if found is not None:
            found.update(s for s in stems if s in known)
        rows = [r for s in stems if s not in known and (r := self._read(folder, camera, day, s))]
        if found is not None:
            found.update(r["stem"] for r in rows)
        with self._tx() as db:
            for r in rows:
                db.execute(f"INSERT OR REPLACE INTO clips ({', '.join(CLIP_COLUMNS)}) VALUES "
                           f"({', '.join('?' * len(CLIP_COLUMNS))})",
                           tuple(r[c] for c in CLIP_COLUMNS))
                db.executemany("INSERT OR IGNORE INTO clip_incidents VALUES (?, ?)",
                               ((r["stem"], i) for i in r["incidents"]))
            db.execute("INSERT OR REPLACE INTO folders VALUES (?, ?)", (key, mtime))
        if rows and self.on_new is not None:
            self.on_new(rows)
        return len(rows)

    def _read(self, folder: Path, camera: str, day: str, stem: str) -> dict[str, Any] | None:
        path = folder / f"{stem}.json"
        try:
            card = read_sidecar(path)
            ingested = path.stat().st_mtime
        except (OSError, ClipRejected) as err:
            log.debug("skipping %s/%s: %s", folder, stem, err)
            return None
        return row_of(camera, day, stem, card, ingested)

    # -- answering --------------------------------------------------------------------------

    def clip(self, stem: str) -> dict[str, Any] | None:
        if not STEM.fullmatch(stem):
            return None
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(CLIP_COLUMNS)} FROM clips WHERE stem = ?",
                                   (stem,)).fetchone()
        return _clip(row) if row else None

    def incident(self, incident: str, cameras: tuple[str, ...] | None) -> list[dict[str, Any]]:
        """The clips of one incident that these cameras (None: all) recorded, by start."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join('c.' + c for c in CLIP_COLUMNS)} FROM clip_incidents i"
                " JOIN clips c ON c.stem = i.stem WHERE i.incident = ? ORDER BY c.start",
                (incident,)).fetchall()
        clips = [_clip(r) for r in rows]
        return [c for c in clips if cameras is None or c["camera"] in cameras]

    def timeline(self, cameras: tuple[str, ...] | None, camera: str | None = None,
                 group: str | None = None, cause: str | None = None, day: str | None = None,
                 before: float | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Incidents, newest first, each with its span, cameras, origin and clip count."""
        where, args = ["1"], []
        if cameras is not None:
            where.append(f"c.camera IN ({', '.join('?' * len(cameras))})")
            args += list(cameras)
        for column, value in (("c.camera", camera), ("c.grp", group), ("c.cause", cause),
                              ("c.day", day)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        having = ""
        if before is not None:
            having = "HAVING min(c.start) < ?"
            args.append(before)
        with self._lock:
            rows = self._db.execute(
                "SELECT i.incident, min(c.start), max(c.end), count(*),"
                " group_concat(DISTINCT c.camera), group_concat(DISTINCT c.cause),"
                " max(c.interrupted), min(c.clock_synced)"
                " FROM clip_incidents i JOIN clips c ON c.stem = i.stem"
                f" WHERE {' AND '.join(where)} GROUP BY i.incident {having}"
                " ORDER BY min(c.start) DESC LIMIT ?", (*args, max(1, min(limit, 500)))
            ).fetchall()
        out = []
        for incident, start, end, count, cams, causes, interrupted, synced in rows:
            out.append({
                "incident": incident, "start": start, "end": end, "clips": count,
                "cameras": sorted(cams.split(",")), "causes": sorted(causes.split(",")),
                "interrupted": bool(interrupted), "clock_unsynced": synced == 0,
            })
        return out

    def cameras(self, now: float | None = None) -> dict[str, dict[str, Any]]:
        """Per camera: clips indexed, its newest clip and how long after its end it reached
        the NAS (the ingest lag), and whether it has gone silent: no
        clip for four times its usual gap between clips over the last week (at least an
        hour), while it used to record (five clips or more)."""
        now = now or time.time()
        with self._lock:
            rows = self._db.execute(
                "SELECT camera, count(*), max(end), max(start),"
                " sum(start > ?), min(CASE WHEN start > ? THEN start END),"
                " (SELECT ingested - end FROM clips n WHERE n.camera = c.camera"
                "  ORDER BY start DESC LIMIT 1)"
                " FROM clips c GROUP BY camera", (now - 7 * 86400, now - 7 * 86400)).fetchall()
        out = {}
        for camera, count, last_end, last_start, week, first, lag in rows:
            gap = (last_start - first) / (week - 1) if week and week >= 5 else None
            out[camera] = {"clips": count, "last_clip_end": last_end,
                           "ingest_lag": round(lag, 1) if lag is not None else None,
                           "usual_gap": round(gap, 1) if gap else None,
                           "silent": gap is not None and now - last_end > max(3600.0, 4 * gap)}
        return out

    def stats(self) -> dict[str, Any]:
        with self._lock:
            clips = self._db.execute("SELECT count(*) FROM clips").fetchone()[0]
        return {"clips": clips, **self.state}


def _clip(row: Any) -> dict[str, Any]:
    out = dict(zip(CLIP_COLUMNS, row, strict=True))
    heat = out.pop("heatmap")
    out["heatmap"] = [list(heat[i:i + 16]) for i in range(0, 256, 16)] if heat else None
    out["group"] = out.pop("grp")
    out["thumbnail"] = bool(out["thumbnail"])
    out["interrupted"] = bool(out["interrupted"])
    out["clock_synced"] = None if out["clock_synced"] is None else bool(out["clock_synced"])
    del out["ingested"]
    return out
