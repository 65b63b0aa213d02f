"""`smartcam motion-scan VIDEO`: the camera's motion detector over a recorded video, offline.

Prints one JSON object per line, so a setting can be tuned on a clip and the effect read off:
  {"index": 0, "t": 0.0, "score": 0.0, "motion": false, "boxes": [[x, y, w, h], ...]}
  ...
  {"summary": true, "frames": N, "fps": F, "events": [{"start": 12, "end": 80,
   "start_t": 1.2, "end_t": 8.0, "peak": 4.211}, ...]}
`t` is seconds from the first frame; boxes are in lores pixels. An event is a run of frames
with motion; runs less than JOIN seconds apart are one event.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import av
import numpy as np

from smartcam.camera.detector import MotionDetector, MotionResult, MotionSettings
from smartcam.camera.luma import fit_size, to_lores
from smartcam.config import load_or_exit
from smartcam.errors import SourceError

LORES = (320, 240)  # [camera] lores default; the video is fitted inside it, aspect kept
JOIN = 1.0  # seconds: motion runs closer than this are one event


@dataclass
class Event:
    start: int
    end: int
    start_t: float
    end_t: float
    peak: float

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "start_t": round(self.start_t, 3),
            "end_t": round(self.end_t, 3),
            "peak": round(self.peak, 3),
        }


class Events:
    """Turns per-frame motion flags into events."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, index: int, t: float, result: MotionResult) -> None:
        if not result.motion:
            return
        last = self.events[-1] if self.events else None
        if last is not None and t - last.end_t < JOIN:
            last.end, last.end_t, last.peak = index, t, max(last.peak, result.score)
        else:
            self.events.append(Event(index, index, t, t, result.score))


def run(args: argparse.Namespace) -> int:
    settings, lores = _settings(args.config)
    path = Path(args.video)
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if not path.is_file():
        raise SourceError(f"{path}: not a file")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as err:
        raise SourceError(f"{path}: not a video FFmpeg can read ({err})") from None
    with container:
        if not container.streams.video:
            raise SourceError(f"{path}: has no video stream")
        try:
            return _scan(container, container.streams.video[0], settings, lores, sys.stdout)
        except av.FFmpegError as err:
            raise SourceError(f"{path}: cannot decode: {err}") from None
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0


def _settings(config: str | None) -> tuple[MotionSettings, tuple[int, int]]:
    """[motion] and the lores size from the config file, or the defaults without one."""
    if config is None:
        return MotionSettings(), LORES
    cfg = load_or_exit(config)
    lores_width, lores_height = cfg.camera.lores
    return MotionSettings.from_section(cfg.motion), (lores_width, lores_height)


def _scan(
    container: Any,
    stream: Any,
    settings: MotionSettings,
    lores: tuple[int, int],
    out: TextIO,
) -> int:
    fps = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
    width, height = fit_size(stream.codec_context.width, stream.codec_context.height, *lores)
    detector = MotionDetector(settings, width, height, fps)
    events = Events()
    first: float | None = None
    frames = 0
    for index, frame in enumerate(container.decode(stream)):
        pts = frame.time if frame.time is not None else index / fps
        first = pts if first is None else first
        t = pts - first
        luma = to_lores(np.asarray(frame.to_ndarray(format="gray")), width, height)
        result = detector.update(luma, t)
        events.add(index, t, result)
        line = {
            "index": index,
            "t": round(t, 3),
            "score": round(result.score, 3),
            "motion": result.motion,
            "boxes": [list(box) for box in result.boxes],
        }
        out.write(json.dumps(line) + "\n")
        frames = index + 1
    if frames == 0:
        raise SourceError(f"{container.name}: has no frames")
    summary = {
        "summary": True,
        "frames": frames,
        "fps": round(fps, 3),
        "events": [event.as_json() for event in events.events],
    }
    out.write(json.dumps(summary) + "\n")
    out.flush()
    return 0
