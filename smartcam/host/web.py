"""The camera's web application: its page, the API under /api/v1/, live MJPEG and snapshots.

Live video is MJPEG: the camera writes live.jpg (atomically, only while its lease is renewed)
and each viewer's response streams that file every time it changes. A viewer holds one of
waitress's threads, so their number is capped; a stream ends when its client goes away
(waitress raises on the write and closes the generator) or the host stops.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bottle import Bottle, HTTPError, HTTPResponse, request, response, static_file

from smartcam.errors import CameraUnavailable, ControlError
from smartcam.host.api import error_reply, make_api

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
MAX_VIEWERS = 12  # each holds one of waitress's 24 threads; the rest serve the page and API
BOUNDARY = "frame"
FRESH_WAIT = 5.0  # seconds a snapshot or a new stream waits for the camera's first picture
STALE_END = 10.0  # a stream with no new picture for this long ends (the page reconnects)
ERROR_MESSAGES = {
    404: "not found",
    405: "method not allowed here",
    413: "the request is too large",
    500: "internal error; the host's log has the details",
}


def make_app(host: Any) -> Bottle:
    app = Bottle()
    app.mount("/api/v1/", make_api(host))
    viewers = threading.BoundedSemaphore(MAX_VIEWERS)

    for code, message in ERROR_MESSAGES.items():
        app.error(code)(_json_error(code, message))

    @app.get("/")
    def index() -> HTTPResponse:
        return _static("index.html")

    @app.get("/static/<name:path>")
    def static(name: str) -> HTTPResponse:
        return _static(name)

    @app.get("/snapshot.jpg")
    def snapshot() -> HTTPResponse:
        started = time.time()
        problem = _watch(host)
        if problem:
            return error_reply(503, problem)
        frame = _wait_for_frame(host, started - _interval(host), FRESH_WAIT)
        if frame is None:
            return error_reply(503, "the camera sent no picture; is it running?")
        return HTTPResponse(frame[1], headers={
            "Content-Type": "image/jpeg", "Cache-Control": "no-store",
        })

    @app.get("/live.mjpg")
    def live() -> Any:
        problem = _watch(host)
        if problem:
            return error_reply(503, problem)
        first = _wait_for_frame(host, time.time() - 1.0, FRESH_WAIT)
        if first is None:
            return error_reply(503, "the camera sent no picture; is it running?")
        if not viewers.acquire(blocking=False):
            return error_reply(503, f"already {MAX_VIEWERS} live viewers; try again later")
        response.content_type = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        response.set_header("Cache-Control", "no-store")
        response.set_header("X-Accel-Buffering", "no")  # nginx passes each frame on at once
        return _stream(host, first, viewers)

    return app


def _json_error(code: int, message: str) -> Any:
    def handler(err: HTTPError) -> str:
        response.content_type = "application/json"
        response.set_header("Cache-Control", "no-store")
        text = f"{message}: {request.method} {request.path}" if code in (404, 405) else message
        return json.dumps({"error": text}) + "\n"

    return handler


def _static(name: str) -> HTTPResponse:
    out = static_file(name, root=str(STATIC))
    if isinstance(out, HTTPError):
        return error_reply(404 if out.status_code == 404 else 403, f"no file {name}")
    out.set_header("Cache-Control", "no-cache")  # revalidate: the page changes with upgrades
    return out


def _interval(host: Any) -> float:
    return 1.0 / float(host.cfg.camera.live_fps)


def _watch(host: Any) -> str | None:
    """Renew the camera's live lease; a reason when it cannot be."""
    if not host.link.connected:
        return "the camera process is not answering (starting or restarting?)"
    try:
        host.link.watch_live()
    except CameraUnavailable as err:
        return str(err)
    except ControlError as err:
        return f"the camera refused to send pictures: {err}"
    return None


def _read_frame(path: Path, newer_than: float) -> tuple[int, bytes] | None:
    """(mtime_ns, jpeg) of live.jpg if it was written after `newer_than` (unix time).

    The file is opened first and its own descriptor stat'ed, so the time and the bytes belong
    to the same picture even when the camera replaces live.jpg in between.
    """
    try:
        with open(path, "rb") as f:
            stamp = os.fstat(f.fileno()).st_mtime_ns
            if stamp / 1e9 <= newer_than:
                return None
            return stamp, f.read()
    except OSError:
        return None


def _wait_for_frame(host: Any, newer_than: float, timeout: float) -> tuple[int, bytes] | None:
    path = Path(host.cfg.camera.live_path)
    deadline = time.monotonic() + timeout
    while True:
        frame = _read_frame(path, newer_than)
        if frame or time.monotonic() > deadline:
            return frame
        time.sleep(min(0.05, _interval(host) / 4))


def _part(jpeg: bytes) -> bytes:
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    return head.encode() + jpeg + b"\r\n"


def _stream(
    host: Any, first: tuple[int, bytes], viewers: threading.BoundedSemaphore
) -> Iterator[bytes]:
    """Bottle starts this generator at once (to peek at its first part), so `finally` runs."""
    path = Path(host.cfg.camera.live_path)
    stop = getattr(host, "stop", None)
    try:
        stamp, jpeg = first
        yield _part(jpeg)
        last_new = time.monotonic()
        while not (stop is not None and stop.is_set()):
            frame = _read_frame(path, stamp / 1e9)
            if frame and frame[0] != stamp:
                stamp, jpeg = frame
                last_new = time.monotonic()
                yield _part(jpeg)
            elif time.monotonic() - last_new > STALE_END:
                log.info("live view: no new picture for %s s; ending the stream", STALE_END)
                return
            if _watch(host):
                return
            time.sleep(_interval(host) / 2)
    finally:
        viewers.release()
