"""Opens the camera source named by [camera] source: picamera2, synthetic[:SCENE], file:PATH,
rtsp://..."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smartcam.camera.filesource import FileSource
from smartcam.camera.frames import Source, SourceInfo
from smartcam.camera.picam import Picamera2Source
from smartcam.camera.streamsource import StreamSource
from smartcam.camera.synthetic import SyntheticSource


def source_info(camera: Any) -> SourceInfo:
    (width, height), (lores_width, lores_height) = camera.resolution, camera.lores
    return SourceInfo(width, height, camera.fps, lores_width, lores_height)


def open_source(camera: Any, pace: bool = True) -> Source:
    """camera is the [camera] section of the config."""
    info = source_info(camera)
    kind, _, arg = camera.source.partition(":")
    if kind == "synthetic":
        return SyntheticSource(info, camera.bitrate, arg or "walkers", camera.seed, pace)
    if kind == "file":
        return FileSource(Path(arg), info, camera.bitrate, pace)
    if kind in ("rtsp", "rtsps"):
        return StreamSource(camera.source, info)
    return Picamera2Source(
        info.width, info.height, info.lores_width, info.lores_height, info.fps, camera.bitrate
    )
