"""Network test helpers: namespaces (netns.py) and a stand-in for the host's trigger route.

`TriggerServer` puts a `Receiver` behind the standard library's HTTP server, answering
`POST /api/v1/trigger` exactly as the host's API does (body bytes and headers in, status and
JSON out), so trigger tests and the benchmark need no web framework. It listens on loopback.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class TriggerServer:
    def __init__(self, receiver: Any, host: str = "127.0.0.1", port: int = 0):
        self.receiver = receiver

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path != "/api/v1/trigger":
                    status, reply = 404, {"error": "not found"}
                else:
                    status, reply = receiver.handle_trigger(body, dict(self.headers.items()),
                                                            remote=self.client_address[0])
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.host, self.port = self.server.server_address[:2]
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, name="trigger-httpd")

    def __enter__(self) -> TriggerServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()
