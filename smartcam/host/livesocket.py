"""/live.ws: the live H.264 view over a WebSocket (websockets' threaded server, behind nginx).

waitress cannot hold WebSockets (a streamed response ties up one of its threads and it has no
upgrade), so they get a small server of their own on [web] video_listen. Every viewer's
handshake passes the same gate as the web app's requests (host name, password), and is checked
like a write for its origin: another site's page must not open a camera's video. Messages to the
browser: one text message describing the stream (its MIME type and size), then binary fMP4: the
init segment, then a fragment per frame (host/video.py). The server never reads from the page.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from smartcam.host.gate import Gate
from smartcam.host.video import VideoHub

log = logging.getLogger(__name__)
# websockets logs every connection at INFO: a journal line per page view is noise here
connections = logging.getLogger(f"{__name__}.connections")
connections.setLevel(logging.WARNING)
PATH = "/live.ws"
MAX_VIEWERS = 20  # each is a thread here and one fMP4 stream's bytes; the camera pays nothing
STALE_SECONDS = 10.0  # no video for this long ends a viewer's stream (the page opens a new one)
CAMERA_RESTARTED = 1012  # WebSocket close code "service restart": the page reconnects


class LiveSocket:
    def __init__(self, host: Any, gate: Gate, hub: VideoHub):
        self.host, self.gate, self.hub = host, gate, hub
        listen = host.cfg.web.video_listen
        self.server: Server = serve(
            self._stream, listen.host, listen.port, process_request=self._admit,
            compression=None,  # H.264 does not compress; deflate would only cost the Pi CPU
            server_header="smartcam", logger=connections,
        )
        self.port = int(self.server.socket.getsockname()[1])
        self._thread = threading.Thread(target=self.server.serve_forever, name="livesocket",
                                        daemon=True)

    def start(self) -> LiveSocket:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=5)

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.partition("?")[0] != PATH:
            return _refuse(connection, 404, f"not found: {request.path}; the live video is {PATH}")
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": PATH}  # checked like a write
        for name in ("Host", "Origin", "Authorization", "Sec-Fetch-Site"):
            values = request.headers.get_all(name)
            if len(values) > 1:
                return _refuse(connection, 400, f"more than one {name} header")
            if values:
                environ[f"HTTP_{name.upper().replace('-', '_')}"] = values[0]
        problem = self.gate.problem(environ)
        if problem is not None:
            status, message, extra = problem
            response = _refuse(connection, int(status.split()[0]), message)
            for name, value in extra:
                response.headers[name] = value
            return response
        if not self.host.link.connected:
            return _refuse(connection, 503, "the camera process is not answering (starting or "
                           "restarting?)")
        if self.hub.viewers >= MAX_VIEWERS:
            return _refuse(connection, 503, f"already {MAX_VIEWERS} live viewers; try again later")
        return None

    def _stream(self, connection: ServerConnection) -> None:
        viewer = self.hub.join()
        try:
            while True:
                message = viewer.take(STALE_SECONDS)
                if message is None:
                    connection.close(CAMERA_RESTARTED, "the camera's stream restarted")
                    return
                connection.send(message)
        except TimeoutError:
            connection.close(1011, f"no video for {STALE_SECONDS:.0f} s")
        except ConnectionClosed:
            pass  # the viewer went away
        finally:
            self.hub.leave(viewer)


def _refuse(connection: ServerConnection, status: int, message: str) -> Response:
    response = connection.respond(status, json.dumps({"error": message}) + "\n")
    response.headers["Content-Type"] = "application/json"
    return response
