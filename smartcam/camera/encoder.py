"""H.264 for the sources without a hardware encoder (synthetic, file): PyAV's libx264.

Settings follow picamera2's software encoder on the Pi 5 (LibavH264Encoder): ultrafast preset,
no B-frames, a keyframe every `iperiod` frames and SPS/PPS repeated before every keyframe
(picamera2's repeat=True), so any keyframe can start a clip.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from smartcam.camera.frames import Packet

MICROSECONDS = Fraction(1, 1_000_000)


class H264Encoder:
    def __init__(self, width: int, height: int, fps: float, bitrate: int):
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        ctx.time_base = MICROSECONDS
        ctx.framerate = Fraction(fps).limit_denominator(1001)
        ctx.bit_rate = bitrate
        ctx.gop_size = max(1, round(fps))
        ctx.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",  # no lookahead, no B-frames: packets leave in frame order
            "x264-params": "repeat-headers=1",
        }
        self._ctx = ctx

    def encode(self, yuv: np.ndarray, t: float) -> list[Packet]:
        """Encode one I420 frame (height * 3 // 2, width) captured at t seconds."""
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = round(t * 1_000_000)
        return self._packets(self._ctx.encode(frame))

    def flush(self) -> list[Packet]:
        return self._packets(self._ctx.encode(None))

    @staticmethod
    def _packets(encoded: list[av.Packet]) -> list[Packet]:
        return [Packet(bytes(p), p.pts / 1_000_000, bool(p.is_keyframe)) for p in encoded]
