"""The Pi camera's self-check names what is wrong, and says so once."""

from __future__ import annotations

import logging

import numpy as np

from smartcam.camera.frames import Capture, Packet
from smartcam.camera.selfcheck import SelfCheck

START = b"\x00\x00\x00\x01"
KEY = START + b"\x67\x42" + START + b"\x68\xce" + START + b"\x65\x88"
P = START + b"\x41\x9a"
LORES = np.zeros((2, 2), np.uint8)


def run(check: SelfCheck, frames: int, lag: int = 0, gop: int = 10, offset: float = 0.0,
        first: bytes = KEY) -> None:
    for i in range(frames):
        t = i / check.fps
        packets = []
        if i >= lag:
            n = i - lag
            data = first if n == 0 else (KEY if n % gop == 0 else P)
            packets.append(Packet(data, (n / check.fps) + offset, data.endswith(b"\x65\x88")))
        check.observe(Capture(t, LORES, packets))


def test_a_sound_stream_passes_with_what_it_saw(caplog):
    check = SelfCheck(10.0, 10, ["encoder libx264"], [])
    with caplog.at_level(logging.INFO):
        run(check, 40, lag=5)
    (record,) = caplog.records
    assert record.levelno == logging.INFO and "passed" in record.message
    assert "encoder libx264" in record.message
    assert "keyframes every [10, 10] packets" in record.message
    assert "trail their frames by up to 5" in record.message and check.done


def test_each_problem_is_named_in_one_warning(caplog):
    check = SelfCheck(10.0, 10, [], ["main framesize 5 is not stride x height x 1.5"])
    with caplog.at_level(logging.INFO):
        run(check, 40, gop=7, offset=0.07, first=P)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    for problem in ("framesize", "first packet is not a keyframe", "keyframes every [7",
                    "ms off every frame's time"):
        assert problem in record.message, problem


def test_no_packet_at_all_is_a_problem_reported_at_close(caplog):
    check = SelfCheck(10.0, 10, [], [])
    with caplog.at_level(logging.INFO):
        run(check, 5, lag=100)
        check.report()
        check.report()
    (record,) = caplog.records
    assert "no encoded packet in 5 frames" in record.message
