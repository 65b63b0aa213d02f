"""Checking clips the way a user's tools would: ffprobe, and the sidecar beside each video."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from smartcam.clips.names import ClipName


@dataclass(frozen=True)
class Probed:
    codec: str
    width: int
    height: int
    frames: int
    duration: float
    keyframe_times: list[float]


def ffprobe(path: Path) -> Probed:
    """Fails (CalledProcessError) on a file ffprobe cannot read."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration",
         "-show_entries", "packet=pts_time,flags", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    info = json.loads(out)
    stream = info["streams"][0]
    keys = [float(p["pts_time"]) for p in info["packets"] if "K" in p["flags"]]
    return Probed(stream["codec_name"], stream["width"], stream["height"],
                  int(stream["nb_read_frames"]), float(info["format"]["duration"]), keys)


def published(outbox: Path) -> list[dict]:
    """The sidecars in an outbox, oldest clip first; each must have its video and thumbnail."""
    cards = [json.loads(p.read_text()) for p in sorted(outbox.glob("*.json"))]
    for card in cards:
        assert (outbox / card["video"]).is_file(), card["video"]
        assert (outbox / card["thumbnail"]).is_file(), card["thumbnail"]
    return sorted(cards, key=lambda c: c["start"])


def nas_folder(nas: Path, stem: str) -> Path:
    """Where a clip's files go on the NAS: <nas>/<camera>/<YYYY-MM-DD>/."""
    clip = ClipName.parse(stem)
    assert clip is not None, stem
    return Path(nas) / clip.camera / clip.day
