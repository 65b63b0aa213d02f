"""The names of the clip contract (DESIGN.md): camera names, event ids, clip stems, day folders.

A clip is `<camera>_<YYYYMMDDTHHMMSSZ>_<event>` (the stem) with `.mp4`, `.jpg` and `.json`
beside each other, in the spool's outbox and then under `<nas>/<camera>/<YYYY-MM-DD>/`. The
camera writes these names, the host lists, serves and trims them, the master reads them, and
the config checks a camera's name against the same pattern: each is defined here, once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

from smartcam.config.names import NAME_PATTERN  # a camera's or a group's name, as configured

EVENT_PATTERN = r"[0-9a-f]{8,32}"  # an event or an incident
STAMP_PATTERN = r"\d{8}T\d{6}Z"
DAY_PATTERN = r"\d{4}-\d{2}-\d{2}"

NAME = re.compile(NAME_PATTERN, re.ASCII)
EVENT_ID = re.compile(EVENT_PATTERN, re.ASCII)
DAY = re.compile(DAY_PATTERN, re.ASCII)
STEM = re.compile(
    rf"(?P<camera>{NAME_PATTERN})_(?P<stamp>{STAMP_PATTERN})_(?P<event>{EVENT_PATTERN})", re.ASCII
)

CAUSES = ("motion", "peer", "manual", "api")
# A clip's files in the order they are published (copied, renamed into place): the sidecar
# last, so a sidecar means a whole clip. Deleting starts with the sidecar, so a listing stops
# showing the clip before its video goes.
PUBLISH_ORDER = (".mp4", ".jpg", ".json")
DELETE_ORDER = (".json", ".mp4", ".jpg")


def new_id() -> str:
    """A new event (or incident) id: 12 hex digits."""
    return secrets.token_hex(6)


def utc(wall: float) -> str:
    """ISO 8601 in UTC with milliseconds and a Z."""
    stamp = datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def stamp(wall: float) -> str:
    """The YYYYMMDDTHHMMSSZ of a wall-clock time, as clip stems carry it."""
    return datetime.fromtimestamp(wall, UTC).strftime("%Y%m%dT%H%M%SZ")


def is_day(name: str) -> bool:
    """Is `name` a day folder, YYYY-MM-DD of a real date?"""
    if not DAY.fullmatch(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ClipName:
    """A clip's stem, parsed."""

    camera: str
    stamp: str  # YYYYMMDDTHHMMSSZ, UTC: the clip's first frame
    event: str

    @classmethod
    def parse(cls, stem: str) -> ClipName | None:
        """The parts of a clip stem, or None for a name that is not a clip's."""
        m = STEM.fullmatch(stem)
        return cls(m["camera"], m["stamp"], m["event"]) if m else None

    @classmethod
    def of(cls, camera: str, start_wall: float, event: str) -> ClipName:
        return cls(camera, stamp(start_wall), event)

    @property
    def stem(self) -> str:
        return f"{self.camera}_{self.stamp}_{self.event}"

    @property
    def day(self) -> str:
        """The day folder (UTC) the clip goes into on the NAS."""
        return f"{self.stamp[:4]}-{self.stamp[4:6]}-{self.stamp[6:8]}"


def split_file(name: str) -> tuple[ClipName, str] | None:
    """(clip, suffix) of one of a clip's files (`<stem>.mp4`, .jpg, .json), else None."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or "." + suffix not in PUBLISH_ORDER:
        return None
    clip = ClipName.parse(stem)
    return (clip, "." + suffix) if clip else None
