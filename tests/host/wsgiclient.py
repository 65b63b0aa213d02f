"""Calling the web app in-process, as a WSGI server would (under wsgiref.validate), and
putting a clip on the NAS folder the way the uploader would."""

from __future__ import annotations

import io
import json
import shutil
import time
import urllib.parse
from pathlib import Path
from types import SimpleNamespace
from wsgiref.headers import Headers
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

MOTION_SECTION = """
[motion]
# How much of the frame has to change, in percent.
min_area = 0.5
# three frames in a row
min_frames = 3

; the mask stays empty
"""


class Client:
    """Calls a WSGI app the way a server does (PATH_INFO percent-decoded), closing every body."""

    def __init__(self, app):
        self.app = validator(app)

    def open(self, method, url, body=None, headers=None):
        path, _, query = url.partition("?")
        environ: dict = {}
        setup_testing_defaults(environ)
        if isinstance(body, bytes):
            data = body
        else:
            data = b"" if body is None else json.dumps(body).encode()
        environ.update({
            "REQUEST_METHOD": method,
            "PATH_INFO": urllib.parse.unquote(path, encoding="latin-1"),
            "QUERY_STRING": query,
            "wsgi.input": io.BytesIO(data),
            "CONTENT_LENGTH": str(len(data)),
        })
        if body is not None:
            environ["CONTENT_TYPE"] = "application/json"
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        started = {}

        def start_response(status, headerlist, exc_info=None):
            started["status"], started["headers"] = status, headerlist
            return lambda chunk: None

        return environ, start_response, started

    def request(self, method, url, body=None, headers=None):
        environ, start_response, started = self.open(method, url, body, headers)
        result = self.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            result.close()
        status = int(started["status"].split()[0])
        return SimpleNamespace(status=status, headers=Headers(started["headers"]), body=content)

    def json(self, method, url, body=None, headers=None):
        r = self.request(method, url, body, headers)
        assert r.headers["Content-Type"].startswith("application/json"), r
        assert b"Traceback" not in r.body
        return r.status, json.loads(r.body)

    def stream(self, url):
        """(status, headers, iterator, close) for a streaming response."""
        environ, start_response, started = self.open("GET", url)
        result = self.app(environ, start_response)
        status = int(started["status"].split()[0])
        return status, Headers(started["headers"]), iter(result), result.close


def wait_connected(host, timeout=10):
    deadline = time.monotonic() + timeout
    while not host.link.connected:
        assert time.monotonic() < deadline, "the camera link did not connect"
        time.sleep(0.02)


def upload(world, stem: str) -> Path:
    """Copy a clip to its NAS day folder as the uploader does (the sidecar last)."""
    stamp = stem.split("_")[1]
    day = world.nas / f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
    day.mkdir(parents=True, exist_ok=True)
    for suffix in (".mp4", ".jpg", ".json"):
        shutil.copy2(world.camera.outbox / f"{stem}{suffix}", day / f"{stem}{suffix}")
    world.host.library.scan()  # as the uploader wakes the list's indexer
    return day
