"""The Raspberry Pi camera: one long-lived Picamera2 giving lores frames and H.264 packets.

The only module that imports picamera2, and only when a Picamera2Source is built, so the package
imports anywhere. Main YUV420 goes to picamera2's H264Encoder (the hardware encoder on a Pi 4,
libx264 on a Pi 5) with SPS/PPS repeated and a keyframe every second; lores YUV420 feeds motion.
Encoded frames land in a smartcam-owned queue (not CircularOutput2) that read() drains, as
whole pictures (annexb.AccessUnits), whichever picamera2 version and encoder made them.

The two encoders differ where it matters. A Pi 4's VideoCore codec takes at most 1920 pixels a
side, H.264 level 4.2 and 25 Mbit/s, and reports packets from its own thread. A Pi 5's libx264
runs frame-threaded on the camera's thread, so its packets trail their frames by about five and
the last ones come out only when recording stops: close() hands those to the recorder.

One clock: frames carry libcamera's SensorTimestamp. libcamera's docs call it CLOCK_BOOTTIME, but
on the Pi it is the V4L2 buffer time, CLOCK_MONOTONIC (libcamera bug 254; picamera2 itself
compares it with time.monotonic_ns()). picamera2's encoders stamp packets in microseconds since
the encoder's first frame (Encoder.firsttimestamp, from the same SensorTimestamp), so adding
firsttimestamp back puts packets on the frames' clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import CancelledError
from fractions import Fraction
from typing import Any

import numpy as np

from smartcam.camera.annexb import AccessUnits
from smartcam.camera.frames import Capture, Packet, SourceInfo
from smartcam.camera.selfcheck import SelfCheck
from smartcam.errors import CameraStall, SettingError, SmartcamError, SourceError

log = logging.getLogger(__name__)

SENSOR_CLOCK = time.CLOCK_MONOTONIC
BUFFER_COUNT = 6  # picamera2's video default: room for the encoder, the queue and one read
BACKLOG_SECONDS = 10  # packets kept for a reader that stopped calling read(), then oldest dropped
# The Pi 4's hardware encoder (bcm2835-codec): its largest side and bit rate range, and the
# H.264 level 4.2 limits (frame size and rate in 16x16 macroblocks), the highest level
# picamera2 asks of it.
VC4_MAX_SIDE = 1920
VC4_BITRATE = (25_000, 25_000_000)
VC4_MAX_MACROBLOCKS = 8704
VC4_MAX_MACROBLOCK_RATE = 522_240

NOT_INSTALLED = (
    "picamera2 is not installed: on a Raspberry Pi install python3-picamera2 (apt) and create the "
    "venv with --system-site-packages; elsewhere use source = synthetic or file:PATH"
)


def sensor_epoch() -> float:
    """Wall-clock seconds at sensor-clock zero, now: wall = t + epoch."""
    before = time.clock_gettime(SENSOR_CLOCK)
    wall = time.clock_gettime(time.CLOCK_REALTIME)
    after = time.clock_gettime(SENSOR_CLOCK)
    return wall - (before + after) / 2


class PacketQueue:
    """Encoded packets from picamera2's encoder thread, waiting for read() to collect them."""

    def __init__(self, maxlen: int):
        self._lock = threading.Lock()
        self._packets: deque[Packet] = deque(maxlen=maxlen)
        self.dropped = 0

    def put(self, packet: Packet) -> None:
        with self._lock:
            if len(self._packets) == self._packets.maxlen:
                self.dropped += 1
                if self.dropped == 1:
                    log.warning("nobody collects encoded video: dropping the oldest packets")
            self._packets.append(packet)

    def drain(self) -> list[Packet]:
        with self._lock:
            packets = list(self._packets)
            self._packets.clear()
        return packets


def encoder_framerate(fps: float) -> Fraction:
    """The frame rate as picamera2's encoders must get it. A Pi 5's hands it to PyAV's
    add_stream(rate=), which PyAV 13.1 and later refuse as a float; a Pi 4's only does sums."""
    return Fraction(fps).limit_denominator(1001)


def vc4_limits(width: int, height: int, fps: float, bitrate: int) -> None:
    """Raise SettingError for what a Pi 4's hardware encoder cannot do."""
    blocks = ((width + 15) // 16) * ((height + 15) // 16)
    if max(width, height) > VC4_MAX_SIDE or blocks > VC4_MAX_MACROBLOCKS:
        raise SettingError(
            "camera", "resolution",
            f"{width}x{height} is more than a Raspberry Pi 4's hardware H.264 encoder takes "
            "(at most 1920 pixels a side and 1920x1080 or 1640x1232 in area); use 1920x1080 "
            "or less",
        )
    if blocks * fps > VC4_MAX_MACROBLOCK_RATE:
        most = VC4_MAX_MACROBLOCK_RATE // blocks
        raise SettingError(
            "camera", "fps",
            f"{fps:g} frames/s at {width}x{height} is more than a Raspberry Pi 4's hardware "
            f"H.264 encoder takes (H.264 level 4.2); use at most {most} at this resolution",
        )
    low, high = VC4_BITRATE
    if not low <= bitrate <= high:
        raise SettingError(
            "camera", "bitrate",
            f"{bitrate} bit/s is outside what a Raspberry Pi 4's hardware H.264 encoder "
            "takes: 25k to 25M",
        )


def packet_output(output_base: type, queue: PacketQueue, encoder: Any) -> Any:
    """An instance of a picamera2 Output subclass (built lazily, as picamera2 is imported lazily)
    that turns each encoded frame of `encoder` into a Packet on the sensor clock."""
    units = AccessUnits()

    class PacketOutput(output_base):  # type: ignore[valid-type, misc]
        def outputframe(
            self,
            frame: Any,
            keyframe: bool = True,
            timestamp: int | None = None,
            packet: Any = None,
            audio: bool = False,
        ) -> None:
            # Runs on picamera2's encoder thread (Pi 4) or camera thread (Pi 5), one at a time.
            if audio or frame is None:
                return
            unit = units.take(bytes(frame))
            if unit is None:  # no picture: headers alone, or a frame the codec skipped
                return
            first = encoder.firsttimestamp  # microseconds on the sensor clock
            if timestamp is None or first is None:
                t = time.clock_gettime(SENSOR_CLOCK)
            else:
                t = (first + timestamp) / 1_000_000
            queue.put(Packet(data=unit[0], t=t, keyframe=unit[1]))

    return PacketOutput()


class Picamera2Source:
    """A Source over the Pi camera; see the module docstring."""

    def __init__(
        self,
        width: int,
        height: int,
        lores_width: int,
        lores_height: int,
        fps: float,
        bitrate: int,
    ):
        if fps <= 0:
            raise SourceError(f"the camera needs a positive frame rate, not {fps}")
        try:
            from picamera2 import Picamera2
            from picamera2.encoders import H264Encoder, LibavH264Encoder
            from picamera2.outputs import Output
        except ImportError as e:
            if e.name == "picamera2":
                raise SourceError(NOT_INSTALLED) from e
            raise SourceError(
                f"picamera2 is installed but cannot be imported ({e}); on Raspberry Pi OS "
                "reinstall python3-picamera2 and python3-libcamera"
            ) from e
        self.hardware_encoder = H264Encoder is not LibavH264Encoder  # a Pi 4's VideoCore
        if self.hardware_encoder:
            vc4_limits(width, height, fps, bitrate)
        self.want_main = False
        self.problem: str | None = None
        self._closed = False
        self._check: SelfCheck | None = None
        self._packets = PacketQueue(maxlen=max(64, round(fps * BACKLOG_SECONDS)))
        try:
            self._camera: Any = Picamera2()
        except Exception as e:
            raise SourceError(
                f"cannot open the camera ({e!r}): is it connected and listed by "
                "`rpicam-hello --list-cameras`?"
            ) from e
        try:
            self.info = self._start(
                (width, height), (lores_width, lores_height), fps, bitrate, H264Encoder, Output
            )
        except Exception as e:
            self.close()
            raise SourceError(
                f"cannot start the camera at {width}x{height} (lores {lores_width}x"
                f"{lores_height}), {fps:g} fps, {bitrate} bit/s: {e}"
            ) from e
        self.epoch = sensor_epoch()

    def _start(
        self,
        main: tuple[int, int],
        lores: tuple[int, int],
        fps: float,
        bitrate: int,
        encoder_class: Any,
        output_base: type,
    ) -> SourceInfo:
        camera = self._camera
        frame_us = round(1_000_000 / fps)
        camera.configure(
            camera.create_video_configuration(
                main={"size": main, "format": "YUV420"},
                lores={"size": lores, "format": "YUV420"},
                controls={"FrameDurationLimits": (frame_us, frame_us)},
                buffer_count=BUFFER_COUNT,
            )
        )
        # libcamera may round sizes; the buffers follow what it chose.
        config = camera.camera_configuration()
        main_size, lores_size = tuple(config["main"]["size"]), tuple(config["lores"]["size"])
        if (main_size, lores_size) != (main, lores):
            log.warning(
                "the camera adjusted main %s to %s and lores %s to %s",
                main,
                main_size,
                lores,
                lores_size,
            )
        iperiod = max(1, round(fps))
        encoder = encoder_class(
            bitrate=bitrate, repeat=True, iperiod=iperiod, framerate=encoder_framerate(fps)
        )
        self._check = SelfCheck(fps, iperiod, *self._stream_facts(config))
        camera.start_recording(encoder, packet_output(output_base, self._packets, encoder))
        return SourceInfo(
            width=main_size[0],
            height=main_size[1],
            fps=float(fps),
            lores_width=lores_size[0],
            lores_height=lores_size[1],
        )

    def read(self, timeout: float) -> Capture:
        if self._closed:
            raise SourceError("the camera source is closed")
        camera = self._camera
        try:
            # capture_request(wait=seconds) would time out the same way, but hold the job back;
            # with it in hand, a timed-out capture can be withdrawn (_abandon).
            job = camera.capture_request(wait=False)
        except Exception as e:
            raise SourceError(f"picamera2 cannot queue a capture: {e!r}") from e
        try:
            request = camera.wait(job, timeout=max(timeout, 0.001))
        except TimeoutError as e:
            self._abandon(job)
            raise CameraStall(f"no frame from the camera within {timeout:g} s") from e
        except Exception as e:
            raise SourceError(f"picamera2 failed while waiting for a frame: {e!r}") from e
        if request is None:
            raise CameraStall(f"the camera gave no frame within {timeout:g} s")
        try:
            capture = self._capture(request)
        except SmartcamError:
            raise
        except Exception as e:
            raise SourceError(f"cannot read a frame from picamera2: {e!r}") from e
        finally:
            request.release()
        self.epoch = sensor_epoch()  # follows NTP steps: a Pi often boots before its clock is set
        capture.packets = self._packets.drain()
        if self._check is not None:
            self._check.observe(capture)
        return capture

    def _stream_facts(self, config: dict[str, Any]) -> tuple[list[str], list[str]]:
        """What libcamera configured, and what is wrong with it, for the self-check: a frame
        size that is not a whole padded YUV420 buffer would break make_array's reshape."""
        encoder = "hardware H.264 (VideoCore)" if self.hardware_encoder else "libx264"
        facts, problems = [f"encoder {encoder}"], []
        for name in ("main", "lores"):
            stream = config[name]
            (w, h), stride, size = stream["size"], stream.get("stride"), stream.get("framesize")
            facts.append(f"{name} {w}x{h} {stream['format']} stride {stride} framesize {size}")
            if stride is not None and size is not None and size != stride * h * 3 // 2:
                problems.append(f"{name} framesize {size} is not stride x height x 1.5")
        return facts, problems

    def _capture(self, request: Any) -> Capture:
        timestamp_ns = request.get_metadata().get("SensorTimestamp")
        if timestamp_ns is None:
            raise SourceError("picamera2 gave a frame without a SensorTimestamp")
        info = self.info
        lores = luma(request.make_array("lores"), info.lores_width, info.lores_height)
        yuv = i420(request.make_array("main"), info.width, info.height) if self.want_main else None
        return Capture(t=timestamp_ns / 1e9, lores=lores, yuv=yuv)

    def _abandon(self, job: Any) -> None:
        """Withdraw a timed-out capture: picamera2 leaves its job queued, and a job completed
        later would hold a camera buffer that nobody releases."""
        camera = self._camera
        try:
            camera.cancel_all_and_flush()
            late = camera.wait(job, timeout=0.05)  # completed between the timeout and the cancel
        except (TimeoutError, CancelledError):
            return
        except Exception:
            log.exception("cannot withdraw the timed-out capture")
            return
        if late is not None:
            late.release()

    def close(self) -> list[Packet]:
        if self._closed:
            return []
        self._closed = True
        camera = self._camera
        try:
            camera.stop_recording()  # flushes the encoder: its last packets land in the queue
        except Exception:
            log.exception("stopping the camera recording failed")
        try:
            camera.close()
        except Exception:
            log.exception("closing the camera failed")
        if self._check is not None:
            self._check.report()
        return self._packets.drain()


def luma(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """The Y plane of a picamera2 YUV420 array (height * 3 // 2, stride), as its own array."""
    return array[:height, :width].copy()


def i420(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """A picamera2 YUV420 array, whose rows may be padded to a stride, as packed I420 of shape
    (height * 3 // 2, width). The chroma planes follow luma with rows of stride // 2 bytes."""
    stride = array.shape[1]
    flat = array.reshape(-1)
    cw, ch, cs = width // 2, height // 2, stride // 2
    out = np.empty((height * 3 // 2, width), dtype=np.uint8)
    out[:height] = array[:height, :width]
    packed = out.reshape(-1)
    y_size, c_size = width * height, cw * ch
    u_at = stride * height
    v_at = u_at + cs * ch
    packed[y_size : y_size + c_size].reshape(ch, cw)[:] = flat[u_at:v_at].reshape(ch, cs)[:, :cw]
    packed[y_size + c_size :].reshape(ch, cw)[:] = flat[v_at : v_at + cs * ch].reshape(ch, cs)[
        :, :cw
    ]
    return out
