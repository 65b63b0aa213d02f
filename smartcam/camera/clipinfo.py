"""What a clip is about, and the sidecar JSON that travels with it (a contract: see DESIGN.md)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = 1
CAUSES = ("motion", "peer", "manual", "api")
# <camera>_<YYYYMMDDTHHMMSSZ>_<event>: the name retention and the uploader parse.
STEM = re.compile(
    r"^(?P<camera>[a-z0-9][a-z0-9-]*)_(?P<stamp>\d{8}T\d{6}Z)_(?P<event>[0-9a-f]{8,32})$"
)


def new_id() -> str:
    return secrets.token_hex(6)


def utc(wall: float) -> str:
    """ISO 8601 in UTC with milliseconds and a Z."""
    stamp = datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


@dataclass(frozen=True)
class ClipMeta:
    """Known when a clip opens; saved beside the recording so a crash can't lose it."""

    camera: str
    group: str
    cause: str
    trigger_time: float  # wall clock (Unix seconds) of the motion decision or the trigger
    width: int
    height: int
    fps: float
    pre_record: float  # configured seconds
    event: str = field(default_factory=new_id)
    incident: str = ""  # shared by every clip of one group trigger; our own event id otherwise
    origin: str = ""  # the camera whose motion caused it; ourselves for motion and manual
    part: int = 1  # >1 for the continuation of an event longer than max_clip
    # Other incidents this clip also belongs to: group triggers that arrived while it was
    # already recording (the clip answers for their incident too).
    joined: tuple[str, ...] = ()

    def stem(self, start_wall: float) -> str:
        stamp = datetime.fromtimestamp(start_wall, UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"{self.camera}_{stamp}_{self.event}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ClipMeta:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Motion:
    """What the detector saw during a clip."""

    peak: float = 0.0  # highest score (percent of the frame changed)
    peak_time: float | None = None  # wall clock of the peak
    heatmap: list[list[int]] = field(default_factory=list)  # 16x16, 0..255


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sidecar(
    meta: ClipMeta,
    video: Path,
    start: float,
    frames: int,
    duration: float,
    motion: Motion,
    interrupted: bool = False,
) -> dict[str, object]:
    """The sidecar for a finished clip; start is the wall clock of its first frame."""
    return {
        "schema": SCHEMA,
        "camera": meta.camera,
        "group": meta.group,
        "event": meta.event,
        "incident": meta.incident or meta.event,
        "incidents": [meta.incident or meta.event, *meta.joined],
        "cause": meta.cause,
        "origin": meta.origin or meta.camera,
        "part": meta.part,
        "trigger_time": utc(meta.trigger_time),
        "start": utc(start),
        "end": utc(start + duration),
        "pre_record": round(max(0.0, meta.trigger_time - start), 3) if meta.part == 1 else 0.0,
        "duration": round(duration, 3),
        "frames": frames,
        "resolution": [meta.width, meta.height],
        "fps": meta.fps,
        "size": video.stat().st_size,
        "sha256": sha256_file(video),
        "video": video.name,
        "thumbnail": video.with_suffix(".jpg").name if video.with_suffix(".jpg").exists() else None,
        "motion_peak": round(motion.peak, 3),
        "heatmap": motion.heatmap,
        "interrupted": interrupted,
    }
