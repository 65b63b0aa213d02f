"""The camera's control socket: JSON lines both ways over a local Unix socket.

Requests are objects with a "cmd" (and an optional "id" echoed in the reply); replies carry
"ok" and either the result or an "error". Events ({"event": ...}) go to every client. One thread
runs a selector over all clients, so a slow or stuck client never blocks the camera: its
backlog is capped and it is dropped past that. The messages are listed in docs/architecture.md
("The control socket").

A client that sends {"cmd": "video"} turns into a video client: after the reply line it gets
the camera's encoded packets as a binary stream (camera/feed.py) and nothing else. The camera
hands the server what the client must start with inside its own lock, the same one its frame
loop holds while it broadcasts packets, so a new client misses no packet and gets none twice.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smartcam.errors import ControlError

log = logging.getLogger(__name__)
MAX_LINE = 64 * 1024
MAX_BACKLOG = 1 << 20  # bytes queued for one client before we give up on it
VIDEO_BACKLOG = 4 << 20  # a video client's: seconds of video at any bitrate a Pi records

Handler = Callable[[dict[str, Any]], dict[str, Any]]
# Called with a start(reply, first_bytes) function, which it must call under the camera's lock.
VideoStart = Callable[[Callable[[dict[str, Any], bytes], None]], None]


class _Client:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.inbuf = b""
        self.outbuf = bytearray()
        self.events = True  # False after {"cmd": "mute"}: a client that only sends requests
        self.video = False  # True after {"cmd": "video"}: it gets the packet stream instead


class ControlServer:
    def __init__(self, path: Path, handler: Handler, video: VideoStart | None = None):
        self.path = Path(path)
        self._handler = handler
        self._video = video
        self.video_clients = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)  # a socket left by a killed process
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        os.chmod(self.path, 0o660)
        self._listener.listen(8)
        self._listener.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._clients: dict[socket.socket, _Client] = {}
        self._lock = threading.Lock()  # guards the clients' output buffers
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="control", daemon=True)
        self._thread.start()

    def broadcast(self, event: dict[str, Any]) -> None:
        """Send an event to every client; callable from any thread, never blocks."""
        line = (json.dumps(event) + "\n").encode()
        with self._lock:
            for client in self._clients.values():
                if client.events:
                    client.outbuf += line
        self._wake()

    def broadcast_video(self, data: bytes) -> None:
        """Send encoded packets (camera/feed.py's frames) to every video client."""
        with self._lock:
            for client in self._clients.values():
                if client.video:
                    client.outbuf += data
        self._wake()

    def close(self) -> None:
        self._closing = True
        self._wake()
        self._thread.join()
        for client in list(self._clients.values()):
            client.sock.close()
        self._selector.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        self.path.unlink(missing_ok=True)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already pending

    def _run(self) -> None:
        while not self._closing:
            for key, mask in self._selector.select(timeout=1.0):
                if key.fileobj is self._listener:
                    self._accept()
                elif key.data == "wake":
                    self._drain_wake()
                else:
                    client = self._clients.get(key.fileobj)  # type: ignore[call-overload]
                    if client and mask & selectors.EVENT_READ:
                        self._read(client)
            self._flush_all()

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        with self._lock:  # broadcast() walks the clients from the camera's frame loop
            self._clients[sock] = _Client(sock)
        self._selector.register(sock, selectors.EVENT_READ, "client")

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _read(self, client: _Client) -> None:
        try:
            data = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        client.inbuf += data
        while b"\n" in client.inbuf:
            line, client.inbuf = client.inbuf.split(b"\n", 1)
            if line.strip() and not client.video:
                reply = self._answer(line, client)
                if reply is not None:
                    self._reply(client, reply)
        if len(client.inbuf) > MAX_LINE:
            self._reply(client, {"ok": False, "error": f"line longer than {MAX_LINE} bytes"})
            client.inbuf = b""

    def _answer(self, line: bytes, client: _Client) -> dict[str, Any] | None:
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError) as err:
            return {"ok": False, "error": f"not JSON: {err}"}
        if not isinstance(request, dict):
            return {"ok": False, "error": "a request is a JSON object with a 'cmd'"}
        reply: dict[str, Any] = {"id": request["id"]} if "id" in request else {}
        if request.get("cmd") == "mute":  # this connection's own business, not the camera's
            client.events = False
            return {**reply, "ok": True, "events": False}
        if request.get("cmd") == "video" and self._video is not None:
            try:
                self._video(lambda info, first: self._start_video(client, {**reply, **info}, first))
                return None
            except Exception as err:
                log.exception("starting a video client failed")
                return {**reply, "ok": False, "error": f"internal error: {err}"}
        try:
            reply.update(ok=True, **self._handler(request))
        except ControlError as err:
            reply.update(ok=False, error=str(err))
        except Exception as err:  # the camera must never die of a message
            log.exception("control request %r failed", request.get("cmd"))
            reply.update(ok=False, error=f"internal error: {err}")
        return reply

    def _start_video(self, client: _Client, reply: dict[str, Any], first: bytes) -> None:
        with self._lock:
            client.outbuf += (json.dumps({**reply, "ok": True}) + "\n").encode() + first
            client.events, client.video = False, True
            self.video_clients += 1

    def _reply(self, client: _Client, reply: dict[str, Any]) -> None:
        with self._lock:
            client.outbuf += (json.dumps(reply) + "\n").encode()

    def _flush_all(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
        for client in clients:
            with self._lock:
                pending = bytes(client.outbuf)
            if not pending:
                continue
            try:
                sent = client.sock.send(pending)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._drop(client)
                continue
            with self._lock:
                del client.outbuf[:sent]
                backlog = len(client.outbuf)
            if backlog > (VIDEO_BACKLOG if client.video else MAX_BACKLOG):
                log.warning("dropping a control client that stopped reading")
                self._drop(client)

    def _drop(self, client: _Client) -> None:
        with self._lock:
            if self._clients.pop(client.sock, None) is not None and client.video:
                self.video_clients -= 1
        try:
            self._selector.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        client.sock.close()
