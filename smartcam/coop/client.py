"""POSTs to peers' trigger URLs, on an asyncio loop, over kept-alive connections (one per peer
address): the origin's fan-out (`sender.Fanout`) and the master's "record this group".

At 50 peers, a thread and a new connection per POST cost the origin three times the CPU of this
and most of the fan-out's time (bench fanout). A connection the peer closed while it sat idle is
seen closed and not used; one that fails at once when used again gets the request once more on
a new one: the peer never read it, so its nonce is not spent.

The request is written here, not by urllib: an http_proxy in the environment must never see a
trigger. Only what a trigger needs of HTTP/1.1 is read back: the status, and the body by its
Content-Length (an answer without one ends the connection after it).
"""

from __future__ import annotations

import asyncio
import time

from smartcam.coop.table import Peer
from smartcam.coop.wire import PATH

KEEP_IDLE = 60.0  # seconds a connection is kept unused: less than nginx's 75 and waitress's 120
MAX_ANSWER = 65536  # bytes of an answer's body: a receiver's JSON is a few dozen

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class BadAnswer(ValueError):
    """What came back is not an HTTP answer."""


class Connections:
    """The kept connections, by (host, port); used on one event loop only."""

    def __init__(self, idle: float = KEEP_IDLE):
        self.idle = idle
        self._kept: dict[tuple[str, int], tuple[Stream, float]] = {}

    async def post(self, peer: Peer, body: bytes, headers: dict[str, str],
                   timeout: float) -> tuple[int, bytes]:
        """POST the body to the peer's trigger URL, trying its addresses in order; the answer's
        status and body."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        error: Exception | None = None
        for address in peer.addresses:
            if loop.time() >= deadline:
                break
            host, port, path = peer.url(address, PATH)
            try:
                async with asyncio.timeout_at(deadline):
                    return await self._post((host, port), path, body, headers)
            except (OSError, EOFError, ValueError) as err:  # a cut or garbled answer too
                error = err
        raise error or TimeoutError(f"no address of {peer.name} answered in {timeout} s")

    async def _post(self, where: tuple[str, int], path: str, body: bytes,
                    headers: dict[str, str]) -> tuple[int, bytes]:
        request = encode_request(where, path, body, headers)
        stream, reused = self._take(where)
        while True:
            if stream is None:
                stream = await asyncio.open_connection(*where)
            try:
                status, answer, keep = await exchange(*stream, request)
            except ConnectionError:
                stream[1].close()
                if not reused:
                    raise
                stream, reused = None, False
                continue
            except BaseException:
                stream[1].close()  # never reuse one with half an exchange on it
                raise
            self._give(where, stream, keep)
            return status, answer

    def _take(self, where: tuple[str, int]) -> tuple[Stream | None, bool]:
        stream, _ = self._kept.pop(where, (None, 0.0))
        if stream is None or stream[0].at_eof() or stream[1].is_closing():
            if stream is not None:
                stream[1].close()
            return None, False
        return stream, True

    def _give(self, where: tuple[str, int], stream: Stream, keep: bool) -> None:
        """Keep it for the next request there (if it can carry one), and close those that sat
        unused too long (peers that went away)."""
        now = time.monotonic()
        for key, (old, since) in list(self._kept.items()):
            if now - since >= self.idle or key == where:
                old[1].close()
                del self._kept[key]
        if keep and self.idle > 0:
            self._kept[where] = (stream, now)
        else:
            stream[1].close()

    def close(self) -> None:
        for stream, _ in self._kept.values():
            stream[1].close()
        self._kept.clear()


def encode_request(where: tuple[str, int], path: str, body: bytes,
                   headers: dict[str, str]) -> bytes:
    host, port = where
    host = f"[{host}]" if ":" in host else host
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   request: bytes) -> tuple[int, bytes, bool]:
    """Send one request and read its answer whole: its status, its body, and whether the
    connection can carry another."""
    writer.write(request)
    await writer.drain()
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("the peer closed the connection without an answer")
    version, status, *_ = line.split(None, 2) + [b"", b""]
    if not version.startswith(b"HTTP/1.") or not (status.isdigit() and len(status) == 3):
        raise BadAnswer(f"not an HTTP answer: {line[:40]!r}")
    length, keep = None, version == b"HTTP/1.1"
    while (line := await reader.readline()) not in (b"\r\n", b"\n"):
        if not line:
            raise EOFError("the answer was cut short")
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length" and value.isdigit():
            length = int(value)
        elif name == b"connection":
            keep = keep and value != b"close"
        elif name == b"transfer-encoding":
            keep = False
    if length is None:
        return int(status), b"", False  # its body ends with the connection: not worth reading
    if length > MAX_ANSWER:
        raise BadAnswer(f"an answer of {length} bytes, over {MAX_ANSWER}")
    return int(status), await reader.readexactly(length), keep
