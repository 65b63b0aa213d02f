"""Fake of picamera2/encoders/h264_encoder.py: the Pi 4's hardware H264Encoder (V4L2), with the
real signature and the real choice of H.264 level from the frame rate."""

from __future__ import annotations

from math import sqrt

from .encoder import Quality
from .v4l2_encoder import V4L2Encoder

V4L2_PIX_FMT_H264 = 0x34363248


class H264Encoder(V4L2Encoder):
    def __init__(
        self,
        bitrate=None,
        repeat=True,
        iperiod=None,
        framerate=None,
        enable_sps_framerate=False,
        qp=None,
        profile=None,
    ):
        super().__init__(bitrate, V4L2_PIX_FMT_H264)
        self.iperiod = iperiod
        self.repeat = repeat
        self.qp = qp
        self.profile = profile
        self.framerate = framerate
        self._enable_framerate = enable_sps_framerate

    def _start(self):
        self.level = 40
        if self.framerate is not None:
            mbs_per_sec = ((self._width + 15) // 16) * ((self._height + 15) // 16) * self.framerate
            if mbs_per_sec > 245760:
                self.level = 42
        if self.bitrate is not None and self.bitrate > 10000000 and self.level == 40:
            self.level = 41
        for out in self._output:
            out._add_stream("video", "h264", width=self._width, height=self._height)
        super()._start()

    def _setup(self, quality):
        if quality is not None or (self.bitrate is None and self.qp is None):
            quality = Quality.MEDIUM if quality is None else quality
            table = {
                Quality.VERY_LOW: 2,
                Quality.LOW: 4,
                Quality.MEDIUM: 6,
                Quality.HIGH: 9,
                Quality.VERY_HIGH: 15,
            }
            complexity = self.width * self.height * (self.framerate or 30)
            self.bitrate = int(table[quality] * 1000000 * sqrt(complexity / (1920 * 1080 * 30)))
