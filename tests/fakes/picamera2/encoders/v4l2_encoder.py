"""Fake of picamera2/encoders/v4l2_encoder.py: the Pi 4's VideoCore codec behind V4L2.

The real encoder queues each frame's dmabuf to /dev/video11 from the camera's event loop (and
blocks there, untimed, when the codec has no free input buffer) and reads encoded buffers on its
own poll thread, which calls outputframe() with the V4L2 buffer's timestamp (the frame's µs,
passed through the codec) and the driver's keyframe flag. Here libx264 stands in for the
VideoCore and a queue for the device, with the same threads, hand-offs and limits:

- bitrate outside the driver's 25 kbit/s .. 25 Mbit/s and frames wider or taller than 1920
  fail at start, as the driver's ioctls do (bcm2835-v4l2-codec);
- as picamera2 0.3.25 does, a keyframe's SPS and PPS reach the output in a buffer of their own,
  ahead of the picture (0.3.26 and later drop such header-only buffers).
"""

from __future__ import annotations

import errno
import queue
import threading
from fractions import Fraction

import av

from .encoder import Encoder

NUM_OUTPUT_BUFFERS = 16  # frames the codec can hold, as the real _start requests
BITRATE_RANGE = (25_000, 25_000_000)  # the bcm2835 codec's V4L2_CID_MPEG_VIDEO_BITRATE range
MAX_SIDE = 1920  # the bcm2835 codec's largest frame width and height
HEADER_NALS = (7, 8)  # SPS, PPS


class V4L2Encoder(Encoder):
    def __init__(self, bitrate, pixformat):
        super().__init__()
        self.bufs = {}
        self.bitrate = bitrate
        self._pixformat = pixformat
        self._controls = []
        self.vd = None
        self.framerate = None
        self._enable_framerate = False
        self.repeat = True
        self.iperiod = None

    def _start(self):
        if self._format != "YUV420":
            raise NotImplementedError(f"the fake V4L2 encoder takes YUV420, not {self._format}")
        low, high = BITRATE_RANGE
        if self.bitrate is not None and not low <= self.bitrate <= high:
            raise OSError(errno.ERANGE, "Numerical result out of range")  # VIDIOC_S_CTRL
        if not (32 <= self.width <= MAX_SIDE and 32 <= self.height <= MAX_SIDE):
            raise OSError(errno.EINVAL, "Invalid argument")  # VIDIOC_S_FMT
        codec = av.CodecContext.create("libx264", "w")
        codec.width, codec.height, codec.pix_fmt = self.width, self.height, "yuv420p"
        codec.time_base = Fraction(1, 1000000)  # the frames' µs pass through, as V4L2's do
        if self.bitrate is not None:
            codec.bit_rate = self.bitrate
        codec.gop_size = self.iperiod or 60
        codec.options = {"preset": "ultrafast", "tune": "zerolatency"}
        self._codec = codec
        self.vd = object()  # open
        self.buf_available = queue.Queue()
        for i in range(NUM_OUTPUT_BUFFERS):
            self.buf_available.put(i)
        self.buf_frame = queue.Queue()  # requests the codec holds, oldest first
        self._device = queue.Queue()  # (index, request, timestamp_us) queued to the codec
        self._first_keyframe = True
        self.thread = threading.Thread(target=self.thread_poll, args=(self.buf_available,))
        self.thread.daemon = True
        self.thread.start()

    def _stop(self):
        self.thread.join()
        self.vd = None

    def _encode(self, stream, request):
        if self.vd is None:
            return
        request.acquire()
        timestamp_us = self._timestamp(request)
        index = self.buf_available.get()  # untimed, as the real one: a stuck codec blocks here
        self._device.put((index, request, timestamp_us))
        self.buf_frame.put(request)

    def thread_poll(self, buf_available):
        """The poll thread: the codec takes a frame, frees its input, and returns buffers."""
        while self._running or self.buf_frame.qsize() > 0:
            try:
                index, request, timestamp_us = self._device.get(timeout=0.4)
            except queue.Empty:
                if not self._running:
                    while self.buf_frame.qsize() > 0:
                        self.buf_frame.get().release()
                    break
                continue
            frame = av.VideoFrame.from_numpy_buffer(
                request._array(self.name), format="yuv420p", width=self.width
            )
            frame.pts = timestamp_us
            packets = self._codec.encode(frame)
            buf_available.put(index)  # POLLOUT: the codec is done with the input buffer
            self.buf_frame.get().release()
            for packet in packets:
                for buffer in self._buffers(bytes(packet), packet.is_keyframe):
                    self.outputframe(buffer, packet.is_keyframe, packet.pts)

    def _buffers(self, data, keyframe):
        """The encoded buffers the driver returns for one picture."""
        if not keyframe:
            return [data]
        nals = [b"\x00\x00\x00\x01" + n for n in data.split(b"\x00\x00\x00\x01") if n]
        headers = b"".join(n for n in nals if n[4] & 31 in HEADER_NALS)
        picture = b"".join(n for n in nals if n[4] & 31 not in HEADER_NALS)
        if not self.repeat and not self._first_keyframe:
            headers = b""
        self._first_keyframe = False
        return [b for b in (headers, picture) if b]
