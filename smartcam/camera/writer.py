"""Writes encoded packets into a fragmented MP4 without re-encoding.

Fragmented (empty moov, one fragment per keyframe, flushed as it goes): a process killed at any
moment leaves a file that plays up to its last whole fragment.
"""

from __future__ import annotations

import io
import os
from fractions import Fraction
from pathlib import Path

import av

from smartcam.camera.frames import Packet

MICROSECONDS = Fraction(1, 1_000_000)
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


class ClipWriter:
    """One clip file. The first packet must be a keyframe carrying SPS and PPS."""

    def __init__(self, path: Path, first: Packet, fps: float):
        if not first.keyframe:
            raise ValueError("a clip must start with a keyframe")
        self.path = path
        self._frame_us = round(1_000_000 / fps)
        # The stream's parameters (size, profile, avcC) come from the keyframe's own SPS/PPS:
        # the muxer needs them before the first fragment, and our packets must match them.
        self._template = av.open(io.BytesIO(first.data), format="h264")
        self._out = av.open(
            str(path), "w", format="mp4", options={"movflags": MOVFLAGS, "flush_packets": "1"}
        )
        self._stream = self._out.add_stream_from_template(self._template.streams.video[0])
        self.first_t = first.t
        self.write(first)

    def write(self, packet: Packet) -> None:
        p = av.Packet(packet.data)
        p.stream = self._stream
        p.time_base = MICROSECONDS
        p.pts = p.dts = round((packet.t - self.first_t) * 1_000_000)
        p.duration = self._frame_us
        p.is_keyframe = packet.keyframe
        self._out.mux(p)

    def close(self) -> None:
        """Finish the file and push it to the disk (the finisher counts its frames from it)."""
        self._out.close()
        self._template.close()
        with open(self.path, "rb") as f:
            os.fsync(f.fileno())
