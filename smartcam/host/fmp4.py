"""Fragmented MP4 for Media Source Extensions, written by hand: an init segment from a keyframe's
SPS and PPS, then one fragment (moof + mdat) per camera packet.

A fragment depends only on its packet and its decode time (not on who watches or since when),
so the host makes each one once and sends the same bytes to every viewer. ISO/IEC 14496-12
(boxes) and 14496-15 (avcC); the same layout as go2rtc's and fmp4streamer's live muxers.
"""

from __future__ import annotations

import struct

from smartcam.camera.annexb import PPS, SPS, units

TIMESCALE = 90_000  # ticks per second, H.264's own clock
TRACK = 1
AUD = 9  # access unit delimiters and parameter sets stay out of samples: avcC has the latter
KEY_FLAGS = 0x02000000  # sample_depends_on = 2: an IDR picture depends on no other
DELTA_FLAGS = 0x01010000  # depends on others, and not a sync sample
UNITY = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)  # display matrix


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags), *payload)


def parameter_sets(keyframe: bytes) -> tuple[bytes, bytes]:
    """The SPS and PPS NAL units of an Annex B keyframe (ValueError when it has none)."""
    found = {unit[0] & 0x1F: unit for unit in units(keyframe) if unit[0] & 0x1F in (SPS, PPS)}
    if SPS not in found or PPS not in found:
        raise ValueError("a keyframe without its SPS and PPS cannot start a live stream")
    return found[SPS], found[PPS]


def codec(sps: bytes) -> str:
    """The RFC 6381 codec string a browser asks about: avc1.PPCCLL from the SPS."""
    return f"avc1.{sps[1]:02X}{sps[2]:02X}{sps[3]:02X}"


def init_segment(sps: bytes, pps: bytes, width: int, height: int) -> bytes:
    """ftyp + moov: one H.264 video track, no samples (they all come in fragments)."""
    avcc = box(b"avcC", bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]),
               struct.pack(">H", len(sps)), sps, b"\x01", struct.pack(">H", len(pps)), pps)
    avc1 = box(b"avc1", bytes(6), struct.pack(">H", 1), bytes(16),
               struct.pack(">HHIIIH", width, height, 0x480000, 0x480000, 0, 1),
               bytes(32), struct.pack(">Hh", 0x18, -1), avcc)
    empty = struct.pack(">I", 0)
    stbl = box(b"stbl", full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
               full_box(b"stts", 0, 0, empty), full_box(b"stsc", 0, 0, empty),
               full_box(b"stsz", 0, 0, empty, empty), full_box(b"stco", 0, 0, empty))
    minf = box(b"minf", full_box(b"vmhd", 0, 1, bytes(8)),
               box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1),
                                     full_box(b"url ", 0, 1))), stbl)
    mdia = box(b"mdia",
               full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, TIMESCALE, 0, 0x55C4, 0)),
               full_box(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"smartcam\0"), minf)
    tkhd = full_box(b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, TRACK, 0, 0), bytes(8),
                    struct.pack(">hhhH", 0, 0, 0, 0), UNITY,
                    struct.pack(">II", width << 16, height << 16))
    mvhd = full_box(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, 1000, 0),
                    struct.pack(">IH", 0x10000, 0x100), bytes(10), UNITY, bytes(24),
                    struct.pack(">I", TRACK + 1))
    trex = full_box(b"trex", 0, 0, struct.pack(">IIIII", TRACK, 1, 0, 0, 0))
    moov = box(b"moov", mvhd, box(b"trak", tkhd, mdia), box(b"mvex", trex))
    ftyp = box(b"ftyp", b"iso5", struct.pack(">I", 0x200), b"iso5", b"iso6", b"avc1", b"mp41")
    return ftyp + moov


def sample(packet: bytes) -> bytes:
    """An Annex B access unit as an MP4 sample: each NAL unit behind its 4-byte length."""
    return b"".join(struct.pack(">I", len(unit)) + unit for unit in units(packet)
                    if unit[0] & 0x1F not in (SPS, PPS, AUD))


def fragment(sequence: int, decode_time: int, duration: int, keyframe: bool, data: bytes) -> bytes:
    """moof + mdat holding one sample; times in TIMESCALE ticks."""

    def moof(offset: int) -> bytes:
        trun = full_box(b"trun", 0, 0x000701,  # data offset, sample duration, size, flags
                        struct.pack(">IiIII", 1, offset, duration, len(data),
                                    KEY_FLAGS if keyframe else DELTA_FLAGS))
        traf = box(b"traf", full_box(b"tfhd", 0, 0x020000, struct.pack(">I", TRACK)),  # base: moof
                   full_box(b"tfdt", 1, 0, struct.pack(">Q", decode_time)), trun)
        return box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)), traf)

    head = moof(0)
    return moof(len(head) + 8) + box(b"mdat", data)
