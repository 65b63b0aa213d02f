"""The camera and its group: health, live status with the motion levels, record now, a peer's
signed trigger, the peers this camera knows."""

from __future__ import annotations

import time
from typing import Any

from bottle import Bottle, HTTPResponse, request

from smartcam.coop.wire import HEADER
from smartcam.errors import CameraUnavailable
from smartcam.host.api.base import MAX_BODY, fail, json_body, reply, signed_payload
from smartcam.host.health import health

RECORD_SECONDS = (1.0, 600.0)


def add_camera_routes(api: Bottle, host: Any) -> None:
    @api.get("/health")
    def get_health() -> dict[str, Any]:
        return health(host)

    @api.get("/status")
    def get_status() -> dict[str, Any]:
        if not host.link.connected:
            raise CameraUnavailable("the camera process is not answering")
        status = host.link.status()  # shared by every viewer for half a second
        cutoff = time.time() - 600
        levels = [[round(t, 3), s] for t, s in tuple(host.link.levels) if t >= cutoff]
        return {"status": status, "levels": levels, "threshold": host.cfg.motion.min_area}

    @api.get("/live")
    def get_live() -> dict[str, Any]:
        # Behind nginx (it sets X-Accel-Base) the WebSocket is on the page's own port at
        # /live.ws; reached directly (the demo), it is on its own server's port.
        proxied = bool(request.get_header("X-Accel-Base"))
        port = None if proxied else getattr(host, "video_port", None)
        return {"websocket": {"path": "/live.ws", "port": port}, "mjpeg": "/live.mjpg"}

    @api.post("/record")
    def record() -> dict[str, Any]:
        body = json_body(required=False)
        extra = set(body) - {"seconds"}
        if extra:
            fail(400, f"unknown field {sorted(extra)[0]!r}; the body is {{\"seconds\": n}}")
        fields: dict[str, Any] = {}
        if "seconds" in body:
            seconds = body["seconds"]
            low, high = RECORD_SECONDS
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not (
                low <= seconds <= high
            ):
                fail(400, f"seconds must be a number from {low:g} to {high:g}")
            fields["seconds"] = float(seconds)
        answer = host.link.request("trigger", cause="manual", **fields)
        return {"event": answer["event"], "incident": answer["incident"], "cause": "manual"}

    @api.post("/trigger")
    def trigger() -> HTTPResponse:
        """A peer's signed group trigger (contract: DESIGN.md), checked by the receiver."""
        coop = host.cooperation
        if request.content_length > MAX_BODY:
            fail(413, f"the body is larger than {MAX_BODY} bytes")
        # Headers as the server read them (latin-1): bottle's own view decodes them as UTF-8
        # and raises on anything else, which a forged signature may well be.
        environ = request.environ
        signature = environ.get("HTTP_" + HEADER.upper().replace("-", "_"))
        remote = environ.get("HTTP_X_REAL_IP") or request.remote_addr or ""
        status, answer = coop.receiver.handle_trigger(
            request.body.read(MAX_BODY + 1), {HEADER: signature} if signature else {}, remote)
        return reply(answer, status)

    @api.put("/signed/arming")
    def put_arming() -> dict[str, Any]:
        """The master says whether the group is armed (signed): shown on the page and in
        health. Disarmed silences the master's notifications; this camera records the same."""
        data = signed_payload(host, "arming")
        if not isinstance(data.get("armed"), bool) or data.get("group") != host.cfg.camera.group:
            fail(400, f"arming carries armed (true/false) and group ({host.cfg.camera.group})")
        host.arming = {"armed": data["armed"], "mode": str(data.get("mode", ""))[:16],
                       "by": str(data.get("by", "the master"))[:64], "at": time.time()}
        return host.arming

    @api.get("/peers")
    def get_peers() -> dict[str, Any]:
        return host.cooperation.as_json()
