"""Whole pictures from an encoder's buffers, whatever picamera2 version handed them over."""

from __future__ import annotations

from smartcam.camera.annexb import AccessUnits, nal_types

START = b"\x00\x00\x00\x01"
SPS = START + b"\x67\x42\xc0\x1e\xda\x02\x80"
PPS = START + b"\x68\xce\x3c\x80"
SEI = START + b"\x06\x05\x01\x80"
IDR = START + b"\x65\x88\x84\x00\x10"
P = b"\x00\x00\x01" + b"\x41\x9a\x02\x00\x40"  # a 3-byte start code, as some encoders write


def test_nal_types_reads_three_and_four_byte_start_codes():
    assert nal_types(SPS + PPS + SEI + IDR) == [7, 8, 6, 5]
    assert nal_types(P) == [1]
    assert nal_types(b"") == [] and nal_types(b"\x00\x00\x00") == []


def test_a_whole_keyframe_and_a_p_frame_pass_unchanged():
    units = AccessUnits()
    assert units.take(SPS + PPS + IDR) == (SPS + PPS + IDR, True)
    assert units.take(P) == (P, False)


def test_headers_alone_are_held_and_put_before_the_keyframe_that_follows():
    units = AccessUnits()  # picamera2 <= 0.3.25 on a Pi 4: SPS+PPS in a buffer of their own
    assert units.take(SPS + PPS) is None
    data, keyframe = units.take(IDR)
    assert keyframe and nal_types(data) == [7, 8, 5] and data.endswith(IDR)


def test_a_buffer_with_no_picture_is_dropped():
    units = AccessUnits()
    assert units.take(b"") is None  # a frame the codec skipped
    assert units.take(SEI) is None


def test_a_keyframe_without_headers_is_no_clip_start_until_headers_are_known():
    units = AccessUnits()
    assert units.take(IDR) == (IDR, False)  # nothing to prepend: a clip cannot start here
    units.take(SPS + PPS + IDR)
    data, keyframe = units.take(IDR)  # repeat=False: later keyframes reuse the known headers
    assert keyframe and data == SPS + PPS + IDR
