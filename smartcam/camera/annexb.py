"""H.264 Annex B byte streams: NAL unit types, and whole access units from an encoder's buffers.

A clip can start only on a keyframe that carries its SPS and PPS (camera/writer.py), and a
packet must hold a picture. picamera2 does not always hand over buffers like that: its V4L2
(Pi 4) encoder in versions up to 0.3.25 passes on buffers holding only an SPS and a PPS, or
nothing at all, when the codec's rate control skips a frame (0.3.26 drops them), and an
encoder with repeat=False sends the headers only once. AccessUnits makes every version give
the recorder the same thing.
"""

from __future__ import annotations

NON_IDR, IDR, SPS, PPS = 1, 5, 7, 8
PICTURES = (NON_IDR, IDR)


def nal_types(data: bytes) -> list[int]:
    """The type of every NAL unit in an Annex B buffer, in order."""
    return [data[start] & 0x1F for start in _starts(data)]


def _starts(data: bytes) -> list[int]:
    """Where each NAL unit begins, after its 3- or 4-byte start code. Emulation prevention
    keeps 00 00 01 out of the units themselves, so a plain search finds every one."""
    starts = []
    at = data.find(b"\x00\x00\x01")
    while at != -1 and at + 3 < len(data):
        starts.append(at + 3)
        at = data.find(b"\x00\x00\x01", at + 3)
    return starts


class AccessUnits:
    """Encoder buffers in, whole pictures out, with a keyframe flag a clip can start on."""

    def __init__(self) -> None:
        self._headers = b""  # the newest SPS and PPS seen, for a keyframe that came without

    def take(self, data: bytes) -> tuple[bytes, bool] | None:
        """(picture, keyframe), or None for a buffer with no picture in it."""
        types = nal_types(data)
        if SPS in types:
            self._headers = b"".join(_units(data, (SPS, PPS)))
        if not any(t in PICTURES for t in types):
            return None
        if IDR in types and SPS not in types and self._headers:
            data, types = self._headers + data, [SPS, PPS, *types]
        return data, IDR in types and SPS in types and PPS in types


def units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B buffer, without their start codes."""
    starts = _starts(data)
    found = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        found.append(data[start:end].rstrip(b"\x00"))  # the next 4-byte start code's zero
    return found


def _units(data: bytes, wanted: tuple[int, ...]) -> list[bytes]:
    """The NAL units of the wanted types, each with a 4-byte start code."""
    return [b"\x00\x00\x00\x01" + unit for unit in units(data) if unit[0] & 0x1F in wanted]
