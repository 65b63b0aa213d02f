"""Fake of picamera2/encoders/libav_h264_encoder.py: the Pi 5's software H.264 encoder.

It makes the real encoder's PyAV calls with the same arguments and types (picamera2 v0.3.36,
`LibavH264Encoder._start/_encode/_stop`): a null container's `add_stream(codec, rate=framerate)`
with the framerate exactly as given, frame threading, the ultrafast preset, tune zerolatency,
gop = iperiod, SPS/PPS repeated unless repeat=False, µs time base, and the padded YUV420 buffer
handed to `VideoFrame.from_numpy_buffer(..., width=)`. So a value the real one would refuse
fails here too, and the encoder's frame-threading lag shows: packets come out a few frames
after their frames, and the rest only when the encoder is flushed by stop_recording().
"""

from __future__ import annotations

import collections
from fractions import Fraction
from math import sqrt

import av

from .encoder import Encoder, Quality

# libx264 picks its own thread count when given 0: 1.5 per core, so 6 on a Pi 5's four cores,
# which makes the packets trail their frames by 5 (threads - 1). The fake models the Pi, not
# the machine the tests run on.
PI5_AUTO_THREADS = 6


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
        self.threads = 0  # means "you choose"
        self._request_release_delay = 1
        self._request_release_queue = None

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
        self._container = av.open("/dev/null", "w", format="null")
        self._stream = self._container.add_stream(self._codec, rate=self.framerate)
        context = self._stream.codec_context
        context.thread_count = self.threads or PI5_AUTO_THREADS
        context.thread_type = av.codec.context.ThreadType.FRAME
        self._stream.width = self.width
        self._stream.height = self.height
        self._stream.pix_fmt = "yuv420p"
        for out in self._output:
            out._add_stream(self._stream, self._codec, rate=self.framerate)
        if self.bitrate is not None:
            context.bit_rate = self.bitrate
        context.gop_size = self.iperiod or (1 << 31) - 1
        context.options["preset"] = self.preset or "ultrafast"
        context.options["deblock"] = "1"
        if not self.repeat:  # without the global-header flag libx264 repeats SPS/PPS
            # The real name, which PyAV 18 no longer has (it has global_header): repeat=False
            # fails here as it does on a Pi 5 with that PyAV.
            context.flags |= av.codec.context.Flags.GLOBAL_HEADER
        if self.qp is not None:
            context.qmin = context.qmax = self.qp
        context.time_base = Fraction(1, 1000000)
        context.options["tune"] = "zerolatency"
        if self._format != "YUV420":
            raise NotImplementedError(f"the fake encoder takes YUV420, not {self._format}")
        self._av_input_format = "yuv420p"
        self._request_release_queue = collections.deque()

    def _stop(self):
        if not self.drop_final_frames:
            # libav still holds frames (frame threading); they come out here, on the thread
            # that called stop_recording().
            for packet in self._stream.encode():
                self.outputframe(
                    bytes(packet), packet.is_keyframe, timestamp=packet.pts, packet=packet
                )
        while self._request_release_queue:
            self._request_release_queue.popleft().release()
        self._container.close()

    def _encode(self, stream, request):
        request.acquire()
        self._request_release_queue.append(request)
        timestamp_us = self._timestamp(request)
        frame = av.VideoFrame.from_numpy_buffer(
            request._array(stream), format=self._av_input_format, width=self.width
        )
        frame.pts = timestamp_us
        for packet in self._stream.encode(frame):
            self.outputframe(bytes(packet), packet.is_keyframe, timestamp=packet.pts, packet=packet)
        while len(self._request_release_queue) > self._request_release_delay:
            self._request_release_queue.popleft().release()
