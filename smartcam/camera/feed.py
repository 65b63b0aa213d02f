"""The camera's packets for other processes: the control socket's video stream.

A client sends {"cmd": "video"}; the reply line carries the stream's size, frame rate and
clock, and then come the packets, each a 13-byte header (data length, source-clock time, flags)
and its Annex B bytes, starting at the newest keyframe in the pre-roll ring so a decoder can
start at once. The host reads it to serve live H.264 (host/video.py) without re-encoding: the
camera pays for a viewer with bytes on a local socket, once however many people watch.
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from smartcam.camera.frames import Packet

HEADER = struct.Struct(">IdB")  # length, t (seconds, source clock), flags
KEYFRAME = 1
MAX_PACKET = 16 << 20  # no access unit is this big: a larger length means a garbled stream


def pack(packets: Iterable[Packet]) -> bytes:
    return b"".join(
        HEADER.pack(len(p.data), p.t, KEYFRAME if p.keyframe else 0) + p.data for p in packets
    )


class VideoFeed:
    """A video client of the camera's control socket: `info`, then iterate for packets.

    Iterating ends when the camera closes the socket; a read that waits longer than `timeout`
    raises TimeoutError (a camera that stalls stops sending without closing).
    """

    def __init__(self, path: Path, timeout: float = 5.0):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._buffer = bytearray()
        try:
            self._sock.connect(str(path))
            self._sock.sendall(b'{"cmd": "video"}\n')
            line = self._read_until_newline()
        except OSError:
            self._sock.close()
            raise
        reply = json.loads(line)
        if not reply.get("ok"):
            self._sock.close()
            raise ConnectionError(reply.get("error", "the camera refused the video stream"))
        self.info: dict[str, Any] = reply  # width, height, fps, epoch

    def _read_until_newline(self) -> bytes:
        while b"\n" not in self._buffer:
            self._fill()
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        return line

    def _fill(self) -> None:
        data = self._sock.recv(1 << 16)
        if not data:
            raise EOFError("the camera closed the video stream")
        self._buffer += data

    def _take(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._fill()
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def __iter__(self) -> Iterator[Packet]:
        try:
            while True:
                length, t, flags = HEADER.unpack(self._take(HEADER.size))
                if length > MAX_PACKET:
                    raise ValueError(f"a video packet of {length} bytes: the stream is garbled")
                yield Packet(self._take(length), t, bool(flags & KEYFRAME))
        except EOFError:
            return

    def close(self) -> None:
        """Callable from another thread: a read waiting in it ends at once."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected, or already shut
        self._sock.close()

    def __enter__(self) -> VideoFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
