"""What a clip is about, and the sidecar JSON that travels with it (a contract: see DESIGN.md).

The camera writes the sidecar (`sidecar()`), the uploader checks it before copying
(`read_sidecar()`), the host and the master list clips by it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smartcam.clips.names import ClipName, new_id, utc
from smartcam.errors import SmartcamError

SCHEMA = 1
# What the uploader needs of a sidecar, with its type.
REQUIRED = {"schema": int, "camera": str, "event": str, "start": str, "size": int, "sha256": str}
SHA256 = re.compile(r"[0-9a-f]{64}")


class ClipRejected(SmartcamError):
    """This clip can never be uploaded as it is (its sidecar or its video is wrong)."""


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
    # Whether a time service had set the wall clock when the clip opened (None: unknown): a
    # clip recorded before a Pi's clock is set is named with a wrong time.
    clock_synced: bool | None = None

    def stem(self, start_wall: float) -> str:
        return ClipName.of(self.camera, start_wall, self.event).stem

    def to_json(self) -> str:
        return json.dumps(asdict(self))


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
        "clock_synced": meta.clock_synced,
    }


def read_sidecar(path: Path) -> dict[str, Any]:
    """A sidecar, checked for what the upload needs; ClipRejected when it is unusable."""
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
