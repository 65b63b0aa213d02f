"""The fleet: its cameras with their pictures and live view, arming by group, and what the
master tells cameras to do (signed with the group secret, so hosts know it is the master)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from bottle import Bottle, HTTPResponse, response

from smartcam.clips.names import NAME
from smartcam.httpjson import fail, json_body, reply
from smartcam.master.accounts import Session
from smartcam.master.api.base import client_address, guarded
from smartcam.master.fleet import LIVE_EVERY

LIVE_SECONDS = 300.0  # a live stream ends after this; the page starts another while shown


def add_cameras_routes(app: Bottle, master: Any) -> None:
    accounts, fleet, index = master.accounts, master.fleet, master.index

    # -- cameras ----------------------------------------------------------------------------

    @app.get("/api/cameras")
    @guarded(accounts)
    def cameras(session: Session) -> dict[str, Any]:
        last = index.cameras()
        tiles = fleet.overview(session.user.may_see)
        for tile in tiles:
            tile.update(last.get(tile["name"], {"clips": 0, "last_clip_end": None}))
            tile["silent"] = bool(tile.get("silent") and tile["online"])
        return {"cameras": tiles, "time": time.time(), "index": index.stats()}

    def visible_camera(session: Session, name: str) -> str:
        # a name the table holds (a camera's, or a static entry's host:port), never a path
        if not session.user.may_see(name) or fleet.peer(name) is None:
            fail(404, "no such camera")  # the same answer for one you may not see
        return name

    @app.get("/api/cameras/<name>/picture.jpg")
    @guarded(accounts)
    def picture(session: Session, name: str) -> HTTPResponse:
        pic = fleet.picture(visible_camera(session, name))
        if pic is None or not pic.jpeg:
            fail(503, f"no picture from {name} yet: {pic.error if pic else 'unknown camera'}")
        return HTTPResponse(pic.jpeg, headers={
            "Content-Type": "image/jpeg", "Cache-Control": "no-store",
            "X-Picture-Age": f"{max(0.0, time.time() - pic.taken):.1f}",
            **({"X-Picture-Error": pic.error[:200]} if pic.error else {})})

    @app.get("/api/cameras/<name>/live.mjpg")
    @guarded(accounts)
    def live(session: Session, name: str) -> Iterator[bytes]:
        camera = visible_camera(session, name)
        response.content_type = "multipart/x-mixed-replace; boundary=frame"
        response.set_header("Cache-Control", "no-store")
        response.set_header("X-Accel-Buffering", "no")
        return _relay(fleet, camera)

    # -- arming -----------------------------------------------------------------------------

    @app.get("/api/arming")
    @guarded(accounts)
    def arming(session: Session) -> dict[str, Any]:
        groups = {t["group"] for t in fleet.overview(session.user.may_see) if t["group"]}
        return {"groups": [master.arming.state(g) for g in sorted(groups)]}

    @app.put("/api/arming/<group>")
    @guarded(accounts, admin=True)
    def arm(session: Session, group: str) -> dict[str, Any]:
        if not NAME.fullmatch(group):
            fail(404, "no such group")
        body = json_body(required=True)
        state = master.arming.set(group, str(body.get("mode", "")), body.get("schedule"),
                                  session.user.name)
        threading.Thread(target=master.tell_arming, args=(True,), daemon=True).start()
        accounts.audit(session.user.name, client_address(), "arming",
                       f"group {group}: {state['mode']}"
                       + (f" {json.dumps(state['schedule'])}" if state["schedule"] else ""))
        return state

    # -- acting on cameras (signed with the group secret, so hosts know it is the master) ---

    @app.post("/api/groups/<group>/record")
    @guarded(accounts, admin=True)
    def record_group(session: Session, group: str) -> dict[str, Any]:
        seconds = json_body(required=False).get("seconds", 30)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) \
                or not 1 <= seconds <= 600:
            fail(400, "seconds: how long to record, 1 to 600")
        answers = master.actions.record_group(group, float(seconds))
        accounts.audit(session.user.name, client_address(), "record group",
                       f"{group} for {seconds} s: {answers}")
        return {"group": group, "cameras": answers}

    @app.put("/api/cameras/<name>/settings")
    @guarded(accounts, admin=True)
    def camera_settings(session: Session, name: str) -> HTTPResponse:
        peer = fleet.peer(name)
        if peer is None:
            fail(404, "no such camera")
        body = json_body(required=True)
        if set(body) - {"motion"} or not isinstance(body.get("motion"), dict):
            fail(400, "the master changes [motion] only: {\"motion\": {key: value}}")
        status, answer = master.actions.settings(peer, body, session.user.name)
        accounts.audit(session.user.name, client_address(), "camera settings",
                       f"{name}: {json.dumps(body['motion'])} -> {status}", ok=status < 300)
        return reply(answer, status if status < 500 else 502)


def _relay(fleet: Any, camera: str) -> Iterator[bytes]:
    """MJPEG from the master's copy: every viewer shares one fetch per LIVE_EVERY."""
    ends, last = time.monotonic() + LIVE_SECONDS, 0.0
    while time.monotonic() < ends:
        pic = fleet.picture(camera, fresh_within=LIVE_EVERY)
        if pic is not None and pic.jpeg and pic.taken != last:
            last = pic.taken
            yield (b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                   + str(len(pic.jpeg)).encode() + b"\r\n\r\n" + pic.jpeg + b"\r\n")
        time.sleep(LIVE_EVERY)


