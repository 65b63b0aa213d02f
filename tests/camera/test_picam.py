"""Picamera2Source against a fake picamera2 (tests/fakes/picamera2) that keeps the real API.

Every test that opens the camera runs twice: as a Pi 5 (libx264 on the camera's thread,
frame-threaded, so packets trail their frames by five) and as a Pi 4 (the VideoCore codec
behind V4L2: packets from the encoder's own thread, keyframe headers in a buffer of their own).
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from smartcam.camera.annexb import IDR, PPS, SPS, nal_types
from smartcam.camera.frames import Capture, Packet
from smartcam.camera.picam import Picamera2Source, i420
from smartcam.errors import CameraStall, SettingError, SourceError

# Widths that are not multiples of either platform's row alignment, so every buffer carries
# padding that must not leak into frames. fps is a float, as the config gives it.
MAIN, LORES, FPS, BITRATE = (352, 240), (200, 112), 30.0, 400_000
# How many frames the packets trail by: libx264 with 6 frame threads, and the V4L2 codec's
# hand-off to its own thread.
LAG = {"pisp": 5, "vc4": 1}

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def source(fake):
    src = Picamera2Source(*MAIN, *LORES, FPS, BITRATE)
    yield src
    src.close()


def read_frames(src: Picamera2Source, n: int) -> list[Capture]:
    return [src.read(timeout=2.0) for _ in range(n)]


def all_packets(captures: list[Capture]) -> list[Packet]:
    return [p for c in captures for p in c.packets]


# -- without picamera2 ---------------------------------------------------------------------------


def test_the_module_imports_without_picamera2():
    code = "import sys, smartcam.camera.picam; assert 'picamera2' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_without_picamera2_the_error_says_what_to_install_or_use(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import picamera2 now fails
    with pytest.raises(SourceError, match="picamera2 is not installed") as caught:
        Picamera2Source(*MAIN, *LORES, FPS, BITRATE)
    message = str(caught.value)
    assert "python3-picamera2" in message and "synthetic" in message and "file:PATH" in message


def test_no_camera_connected_is_a_source_error(fake):
    fake.cameras_attached = 0
    with pytest.raises(SourceError, match="rpicam-hello --list-cameras"):
        Picamera2Source(*MAIN, *LORES, FPS, BITRATE)


def test_a_configuration_picamera2_refuses_is_a_source_error_and_frees_the_camera(fake):
    with pytest.raises(SourceError, match="lores stream dimensions may not exceed main stream"):
        Picamera2Source(*MAIN, 400, 300, FPS, BITRATE)
    assert not fake.cameras[-1].is_open


# -- configuration -------------------------------------------------------------------------------


def test_camera_and_encoder_are_configured_as_designed(fake, source):
    from picamera2.encoders import H264Encoder
    from picamera2.outputs import Output

    camera = fake.cameras[-1]
    config = camera.camera_configuration()
    assert config["main"]["format"] == config["lores"]["format"] == "YUV420"
    assert config["main"]["size"] == MAIN and config["lores"]["size"] == LORES
    assert config["controls"]["FrameDurationLimits"] == (33333, 33333)  # 30 fps, microseconds
    assert config["buffer_count"] >= 4
    assert camera.started
    (encoder,) = camera.encoders
    assert isinstance(encoder, H264Encoder) and encoder.name == "main"
    assert encoder.repeat is True
    assert encoder.iperiod == 30 and isinstance(encoder.iperiod, int)
    assert encoder.bitrate == BITRATE
    assert encoder.framerate == FPS and isinstance(encoder.framerate, Fraction)
    assert source.hardware_encoder == (fake.platform == "vc4")
    assert isinstance(encoder.output, Output)
    assert (source.info.width, source.info.height) == MAIN
    assert (source.info.lores_width, source.info.lores_height) == LORES
    assert source.info.fps == FPS


# -- frames and packets --------------------------------------------------------------------------


def test_frames_carry_lores_luma_on_a_rising_clock(source):
    captures = read_frames(source, 12)
    for c in captures:
        assert c.lores.shape == (LORES[1], LORES[0]) and c.lores.dtype == np.uint8
        assert c.lores.flags.c_contiguous and c.lores.base is None  # a copy, not a view
        assert c.lores.min() > 0  # the fake's zero padding bytes were cropped away
        assert c.yuv is None
    times = [c.t for c in captures]
    assert all(b > a for a, b in zip(times, times[1:], strict=False))
    assert any(
        not np.array_equal(a.lores, b.lores) for a, b in zip(captures, captures[1:], strict=False)
    )


def test_epoch_maps_the_sensor_clock_to_wall_time(source):
    capture = source.read(timeout=2.0)
    assert abs(source.epoch - (time.time() - time.monotonic())) < 0.05
    assert abs(capture.t + source.epoch - time.time()) < 0.5


def test_packets_share_the_frame_clock_with_a_keyframe_every_second(fake, source):
    lag = LAG[fake.platform]
    captures = read_frames(source, 2 * 30 + 5)
    packets = all_packets(captures)
    assert len(packets) >= len(captures) - lag - 2
    assert packets[0].keyframe
    keyframes = [i for i, p in enumerate(packets) if p.keyframe]
    assert len(keyframes) >= 2
    assert all(b - a == 30 for a, b in zip(keyframes, keyframes[1:], strict=False))
    times = [p.t for p in packets]
    assert all(b > a for a, b in zip(times, times[1:], strict=False))
    # Packets collected by a read belong to frames since the previous read, give or take the
    # encoder's lag, and each frame read (but the last few) has its packet at its microsecond.
    for previous, capture in zip(captures, captures[1:], strict=False):
        for p in capture.packets:
            assert previous.t - (lag + 2) / FPS < p.t < capture.t + 2 / FPS, (p.t, capture.t)
    for capture in captures[: -lag - 2]:
        assert any(abs(p.t - capture.t) < 2e-6 for p in packets), capture.t


def test_every_keyframe_carries_its_headers_and_no_packet_is_headers_alone(fake, source):
    packets = all_packets(read_frames(source, 2 * 30 + 10))
    for p in packets:
        types = nal_types(p.data)
        assert IDR in types or 1 in types, types  # a picture in every packet
        assert p.keyframe == (IDR in types), types
        if p.keyframe:
            assert types[:2] == [SPS, PPS], types


def test_packets_come_from_the_encoders_thread_never_the_readers(fake, monkeypatch):
    from smartcam.camera import picam

    threads = set()
    take = picam.AccessUnits.take

    def spy(self, data):
        threads.add(threading.current_thread())
        return take(self, data)

    monkeypatch.setattr(picam.AccessUnits, "take", spy)
    src = Picamera2Source(*MAIN, *LORES, FPS, BITRATE)
    camera_loop = fake.cameras[-1]._thread
    try:
        read_frames(src, 10)
        seen = set(threads)
    finally:
        src.close()
    # A Pi 5 encodes on the camera's event loop; a Pi 4's codec answers on its own thread.
    assert seen == {camera_loop} if fake.platform == "pisp" else camera_loop not in seen
    assert threading.main_thread() not in seen and seen


@pytest.mark.parametrize("setting, args", [
    ("resolution", ((2592, 1944), LORES, FPS, BITRATE)),
    ("fps", ((1920, 1080), LORES, 90.0, BITRATE)),
    ("bitrate", (MAIN, LORES, FPS, 30_000_000)),
])
def test_a_pi4_refuses_what_its_hardware_encoder_cannot_do(fake_picamera2, setting, args):
    fake_picamera2.platform = "vc4"
    (main, lores, fps, bitrate) = args
    with pytest.raises(SettingError) as caught:
        Picamera2Source(*main, *lores, fps, bitrate)
    assert (caught.value.section, caught.value.key) == ("camera", setting)
    assert "Raspberry Pi 4" in caught.value.message
    assert not fake_picamera2.cameras  # refused before the camera was opened


def test_a_pi4_takes_its_largest_modes(fake_picamera2):
    fake_picamera2.platform = "vc4"
    for main in ((1920, 1080), (1640, 1232)):
        Picamera2Source(*main, *LORES, FPS, 25_000_000).close()


def test_close_hands_back_the_packets_the_encoder_still_held(fake, source):
    captures = read_frames(source, 20)
    tail = source.close()
    lag = LAG[fake.platform]
    if fake.platform == "pisp":  # frame threading: the last frames come out only when flushed
        assert len(tail) >= lag
    times = [p.t for p in all_packets(captures)] + [p.t for p in tail]
    assert all(b > a for a, b in zip(times, times[1:], strict=False))
    # The last frame read is in the stream: in a packet read before, or in the tail.
    assert any(abs(t - captures[-1].t) < 2e-6 for t in times)


def test_packets_decode_to_main_size_frames_from_any_keyframe(source):
    packets = all_packets(read_frames(source, 40))

    def decode(stream: list[Packet]) -> list[av.VideoFrame]:
        ctx = av.CodecContext.create("h264", "r")
        frames = [f for p in stream for f in ctx.decode(av.Packet(p.data))]
        return frames + list(ctx.decode(None))

    frames = decode(packets)
    assert len(frames) == len(packets)
    assert {(f.width, f.height) for f in frames} == {MAIN}
    second_keyframe = [i for i, p in enumerate(packets) if p.keyframe][1]
    # repeat=True: SPS/PPS precede every keyframe, so a clip may start at any of them.
    assert len(decode(packets[second_keyframe:])) == len(packets) - second_keyframe


@pytest.mark.parametrize("fps, rate", [(30.0, Fraction(30)), (29.97, Fraction(2997, 100)),
                                        (12.5, Fraction(25, 2))])
def test_the_encoder_gets_the_frame_rate_as_a_fraction_pyav_takes(fake, fps, rate):
    src = Picamera2Source(*MAIN, *LORES, fps, BITRATE)
    try:
        (encoder,) = fake.cameras[-1].encoders
        assert encoder.framerate == rate
        assert read_frames(src, 3)
    finally:
        src.close()


def test_main_yuv_only_while_wanted(source):
    assert source.read(timeout=2.0).yuv is None
    source.want_main = True
    capture = source.read(timeout=2.0)
    yuv = capture.yuv
    assert yuv is not None and yuv.shape == (MAIN[1] * 3 // 2, MAIN[0]) and yuv.dtype == np.uint8
    assert (yuv[MAIN[1] :] == 128).all()  # the fake's chroma, with no padding bytes mixed in
    assert yuv[: MAIN[1]].min() > 0
    source.want_main = False
    assert source.read(timeout=2.0).yuv is None


def test_i420_drops_row_padding_from_every_plane():
    w, h, stride = 6, 4, 16
    rng = np.random.default_rng(1)
    y, u, v = (rng.integers(1, 255, n, dtype=np.uint8) for n in (w * h, w * h // 4, w * h // 4))
    padded = np.zeros(stride * h * 3 // 2, dtype=np.uint8)
    padded[: stride * h].reshape(h, stride)[:, :w] = y.reshape(h, w)
    chroma = padded[stride * h :].reshape(2, h // 2, stride // 2)
    chroma[0, :, : w // 2] = u.reshape(h // 2, w // 2)
    chroma[1, :, : w // 2] = v.reshape(h // 2, w // 2)
    out = i420(padded.reshape(h * 3 // 2, stride), w, h)
    assert np.array_equal(out.reshape(-1), np.concatenate([y, u, v]))


# -- failures ------------------------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_a_stalled_camera_raises_camera_stall_and_leaks_no_buffer(fake, source):
    source.read(timeout=2.0)
    fake.stall = True
    started = time.monotonic()
    with pytest.raises(CameraStall, match="within 0.3 s"):
        source.read(timeout=0.3)
    assert time.monotonic() - started < 5
    fake.stall = False
    read_frames(source, 3)
    # Had the timed-out capture stayed queued, it would now hold a frame nobody releases.
    assert fake.held_by_app == 0


def test_every_request_is_released_even_when_make_array_fails(fake, source):
    read_frames(source, 3)
    assert fake.handed_out >= 3 and fake.held_by_app == 0
    fake.make_array_error = RuntimeError("mapping the buffer failed")
    with pytest.raises(SourceError, match="mapping the buffer failed"):
        source.read(timeout=2.0)
    assert fake.held_by_app == 0
    fake.make_array_error = None
    read_frames(source, 2)
    assert fake.held_by_app == 0


def test_close_is_idempotent_and_returns_every_buffer(fake):
    src = Picamera2Source(*MAIN, *LORES, FPS, BITRATE)
    read_frames(src, 3)
    camera = fake.cameras[-1]
    src.close()
    src.close()
    assert not camera.started and not camera.is_open and not camera.encoders
    assert fake.outstanding == 0
    with pytest.raises(SourceError, match="closed"):
        src.read(timeout=1.0)


def test_the_self_check_passes_once_on_a_sound_camera(fake, source, caplog):
    with caplog.at_level(logging.INFO, logger="smartcam.camera.selfcheck"):
        read_frames(source, 95)  # a little over the check's three seconds
        source.close()
    (record,) = caplog.records
    assert record.levelno == logging.INFO, record.message
    encoder = "hardware H.264" if fake.platform == "vc4" else "libx264"
    assert f"passed: encoder {encoder}" in record.message
    assert f"main {MAIN[0]}x{MAIN[1]} YUV420 stride" in record.message
    lag = int(re.search(r"trail their frames by up to (\d+)", record.message)[1])
    assert lag >= 3 if fake.platform == "pisp" else lag <= 3  # frame threading shows
