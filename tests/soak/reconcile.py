"""The reckoning at the end of a soak: every clip that started, and every trigger, accounted for.

A clip is *started* when the soak saw its intent in a spool (or found it anywhere). Each must end
as one of: on the NAS, whole (size and sha256 as its sidecar says, and ffprobe reads as many
frames); killed before its first fragment was written (the camera says so: nothing but RAM held
it); dropped or rejected with an error on the page (the host says so). Anything else is *lost*.
A motion incident is *missed* by a peer that has no clip of it, unless a fault cut one of the two
off at that moment.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smartcam.clips.names import ClipName
from smartcam.clips.sidecar import sha256_file
from tests.clipcheck import ffprobe
from tests.soak.faults import Window

EMPTY = re.compile(r"(\S+)\.mp4: killed before its first fragment")
DROPPED = re.compile(r"DROPPED clip (\S+) ")


@dataclass
class Evidence:
    cameras: tuple[str, ...]  # their names
    started: dict[str, float]  # stem -> when the soak first saw it (wall clock)
    nas: dict[str, dict[str, Any]]  # stem -> sidecar, for every clip on the NAS
    corrupt: dict[str, str] = field(default_factory=dict)  # stem -> what is wrong
    empty: set[str] = field(default_factory=set)  # killed before a frame reached the spool
    dropped: set[str] = field(default_factory=set)  # dropped visibly by a host
    rejected: set[str] = field(default_factory=set)
    stuck: set[str] = field(default_factory=set)  # still in a spool after the drain
    windows: list[Window] = field(default_factory=list)


def reckon(e: Evidence) -> dict[str, Any]:
    accounted = set(e.nas) | e.empty | e.dropped | e.rejected
    lost = sorted((set(e.started) | set(e.nas)) - accounted)
    peers = peer_triggers(e)
    return {
        "clips_started": len(set(e.started) | set(e.nas)),
        "clips_on_nas": len(e.nas),
        "lost": len(lost),
        "corrupt": len(e.corrupt),
        "interrupted_recovered": sum(1 for c in e.nas.values() if c.get("interrupted")),
        "killed_before_first_fragment": len(e.empty),
        "dropped_with_error": len(e.dropped),
        "rejected_with_error": len(e.rejected),
        "stuck_in_spool": len(e.stuck),
        "incidents": peers["incidents"],
        "peer_triggers": {k: v for k, v in peers.items() if k != "incidents"},
        "clock_skew_seen": clock_skew(e),
        "lost_clips": lost,
        "corrupt_clips": e.corrupt,
        "stuck_clips": sorted(e.stuck),
    }


def peer_triggers(e: Evidence) -> dict[str, Any]:
    """Each camera's own motion incidents, looked for in every other camera's clips."""
    seen: dict[str, set[str]] = {name: set() for name in e.cameras}
    for card in e.nas.values():
        seen.setdefault(card["camera"], set()).update(card.get("incidents", ()))
    own: dict[str, tuple[str, float]] = {}  # incident -> (its camera, when it was triggered)
    for c in e.nas.values():
        if c["cause"] == "motion" and c["origin"] == c["camera"]:
            t = stamp(c["trigger_time"])  # a long clip's later parts: when the part began
            if c["incident"] not in own or t < own[c["incident"]][1]:
                own[c["incident"]] = (c["camera"], t)
    count: Counter[str] = Counter()
    missed = []
    for incident, (origin, t) in sorted(own.items(), key=lambda o: o[1][1]):
        for peer in e.cameras:
            if peer == origin:
                continue
            if incident in seen[peer]:
                count["recorded"] += 1
            elif any(w.excuses((origin, peer), t) for w in e.windows):
                count["excused"] += 1
            else:
                count["missed"] += 1
                missed.append({"incident": incident, "origin": origin, "peer": peer,
                               "trigger_time": datetime.fromtimestamp(t, UTC).isoformat()})
    return {"incidents": len(own), "expected": sum(count.values()),
            "recorded": count["recorded"], "excused": count["excused"],
            "missed": count["missed"], "missed_list": missed}


def clock_skew(e: Evidence) -> dict[str, float]:
    """Per camera, the largest gap between the time in a clip's name and when the soak saw it
    start: a camera whose clock was stepped shows the step."""
    out: dict[str, float] = {}
    for stem, seen in e.started.items():
        clip = ClipName.parse(stem)
        if clip is None:
            continue
        skew = datetime.strptime(clip.stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp() \
            - seen
        if abs(skew) > abs(out.get(clip.camera, 0.0)):
            out[clip.camera] = round(skew, 1)
    return dict(sorted(out.items()))


def stamp(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# -- gathering it --------------------------------------------------------------------------------

def nas_clips(nas: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Every clip on the NAS by stem, and what is wrong with the ones that are not whole."""
    cards, corrupt = {}, {}
    for path in sorted(nas.glob("*/*/*.json")):
        stem = path.stem
        try:
            card = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            corrupt[stem] = f"sidecar unreadable: {err}"
            continue
        cards[stem] = card
        if problem := video_problem(path.parent / card["video"], card):
            corrupt[stem] = problem
    return cards, corrupt


def video_problem(video: Path, card: dict[str, Any]) -> str | None:
    if not video.is_file():
        return "no video beside the sidecar"
    if video.stat().st_size != card["size"]:
        return f"{video.stat().st_size} bytes, the sidecar says {card['size']}"
    if sha256_file(video) != card["sha256"]:
        return "sha256 differs from the sidecar's"
    try:
        probed = ffprobe(video)
    except subprocess.CalledProcessError as err:
        return f"ffprobe cannot read it: {err.stderr.strip()[:200]}"
    if probed.frames != card["frames"]:
        return f"ffprobe reads {probed.frames} frames, the sidecar says {card['frames']}"
    return None


def from_logs(text: str) -> tuple[set[str], set[str]]:
    """(clips killed before their first fragment, clips dropped) as a log tells of them."""
    return set(EMPTY.findall(text)), set(DROPPED.findall(text))


def left_in(spool: Path) -> tuple[set[str], set[str]]:
    """(stems still in recording/ or outbox/, stems in rejected/)."""
    def stems(folder: str) -> set[str]:
        path = spool / folder
        if not path.is_dir():
            return set()
        return {p.name.split(".", 1)[0] for p in path.iterdir() if not p.name.startswith(".")}

    return stems("recording") | stems("outbox"), stems("rejected")
