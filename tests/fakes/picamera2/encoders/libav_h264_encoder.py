"""Fake of picamera2/encoders/libav_h264_encoder.py: real H.264 from PyAV's libx264.

The Pi 5 has no hardware encoder, and there `picamera2.encoders.H264Encoder` *is* this class, so
the fake encodes the way a Pi 5 does: ultrafast preset, tune zerolatency, gop = iperiod, and
SPS/PPS before every keyframe unless repeat=False (which sets the global-header flag instead).
"""

from __future__ import annotations

from fractions import Fraction
from math import sqrt
from typing import Any

import av
import numpy as np

from .encoder import Encoder, Quality


class LibavH264Encoder(Encoder):
    def __init__(self, bitrate=None, repeat=True, iperiod=30, framerate=30, qp=None, profile=None):
        super().__init__()
        self._codec = "h264"
        self.repeat = repeat
        self.bitrate = bitrate
        self.iperiod = iperiod
        self.framerate = framerate
        self.qp = qp
        self.profile = profile
        self.preset = None
        self.drop_final_frames = False
        self.threads = 0
        self._context: Any = None

    def _setup(self, quality):
        if quality is not None or (self.bitrate is None and self.qp is None):
            quality = Quality.MEDIUM if quality is None else quality
            table = {
                Quality.VERY_LOW: 3,
                Quality.LOW: 4,
                Quality.MEDIUM: 7,
                Quality.HIGH: 10,
                Quality.VERY_HIGH: 14,
            }
            complexity = self.width * self.height * (self.framerate or 30)
            self.bitrate = int(table[quality] * 1000000 * sqrt(complexity / (1920 * 1080 * 30)))

    def _start(self):
        if self._format not in ("YUV420",):
            raise NotImplementedError(f"the fake encoder takes YUV420, not {self._format}")
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = self.width, self.height, "yuv420p"
        ctx.thread_count = self.threads
        ctx.framerate = Fraction(self.framerate).limit_denominator(1001)
        ctx.time_base = Fraction(1, 1000000)  # pts are the microseconds of Encoder._timestamp
        if self.bitrate is not None:
            ctx.bit_rate = self.bitrate
        ctx.gop_size = self.iperiod
        if not self.repeat:  # without the global-header flag libx264 repeats SPS/PPS
            ctx.flags |= av.codec.context.Flags.global_header
        if self.qp is not None:
            ctx.qmin = ctx.qmax = self.qp
        ctx.options = {"preset": self.preset or "ultrafast", "deblock": "1", "tune": "zerolatency"}
        self._context = ctx

    def _stop(self):
        if not self.drop_final_frames:
            for packet in self._context.encode(None):
                self.outputframe(
                    bytes(packet), packet.is_keyframe, timestamp=packet.pts, packet=packet
                )
        self._context = None

    def _encode(self, stream, request):
        timestamp_us = self._timestamp(request)
        frame = av.VideoFrame.from_ndarray(
            _i420(request._array(stream), self.width, self.height), format="yuv420p"
        )
        frame.pts = timestamp_us
        for packet in self._context.encode(frame):
            self.outputframe(bytes(packet), packet.is_keyframe, timestamp=packet.pts, packet=packet)


def _i420(array: np.ndarray, w: int, h: int) -> np.ndarray:
    """Drop the row padding (the real encoder passes width= to its PyAV for the same job)."""
    stride = array.shape[1]
    flat = array.reshape(-1)
    cs, ch, cw = stride // 2, h // 2, w // 2
    u = flat[stride * h : stride * h + cs * ch].reshape(ch, cs)[:, :cw]
    v = flat[stride * h + cs * ch : stride * h + 2 * cs * ch].reshape(ch, cs)[:, :cw]
    return np.concatenate([array[:h, :w].reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(
        h * 3 // 2, w
    )
