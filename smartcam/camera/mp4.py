"""Reading our own fragmented MP4 files back: repair after a crash, count frames, thumbnail."""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import simplejpeg

from smartcam.files import write_atomic

log = logging.getLogger(__name__)
THUMBNAIL_WIDTH = 320


def complete_length(path: Path) -> int:
    """Bytes up to the end of the last whole fragment (moof + mdat), 0 if there is none.

    A process killed mid-write leaves a torn fragment at the end; everything before it plays.
    """
    size = path.stat().st_size
    end = good = 0
    last_box = b""
    with open(path, "rb") as f:
        while end + 8 <= size:
            f.seek(end)
            length, kind = struct.unpack(">I4s", f.read(8))
            if length == 1:  # 64-bit size follows
                (length,) = struct.unpack(">Q", f.read(8))
            if length < 8 or end + length > size:
                break
            end += length
            if kind == b"mdat" and last_box == b"moof":
                good = end
            last_box = kind
    return good


def repair(path: Path) -> None:
    """Cut a torn last fragment off, so the file ends cleanly."""
    length = complete_length(path)
    if length < path.stat().st_size:
        log.warning("%s: cutting a torn fragment (%d bytes)", path, path.stat().st_size - length)
        with open(path, "r+b") as f:
            f.truncate(length)
            os.fsync(f.fileno())


@dataclass(frozen=True)
class Probe:
    frames: int
    duration: float  # seconds, the last frame's end


def probe(path: Path) -> Probe:
    """Count frames by demuxing (no decoding)."""
    frames, end = 0, 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            frames += 1
            end = max(end, float((packet.pts + (packet.duration or 0)) * stream.time_base))
    return Probe(frames, end)


def thumbnail(video: Path, at: float, out: Path) -> None:
    """Write a JPEG of the frame shown `at` seconds into the clip (the nearest one after)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1  # a thumbnail is not worth the memory of threads
        if at > 0:
            container.seek(int(at / stream.time_base), stream=stream, backward=True)
        picture = None
        for frame in container.decode(stream):
            picture = frame
            if frame.time is not None and frame.time >= at:
                break
    if picture is None:
        raise ValueError(f"{video}: no frame to make a thumbnail from")
    height = round(picture.height * THUMBNAIL_WIDTH / picture.width) // 2 * 2
    rgb = picture.to_ndarray(format="rgb24", width=THUMBNAIL_WIDTH, height=height)
    write_atomic(out, simplejpeg.encode_jpeg(rgb, quality=80, colorspace="RGB"), 0o644)
