"""The master's web application: pages, the JSON API under /api/, pictures and clips.

Deny by default: every route needs a session unless it is in PUBLIC. One function,
`who()`, reads the session for every request, checks the CSRF token of every state change and
refuses a cross-site one, and `may_see()` checks a user's cameras on every media URL (clip ->
camera -> user): the place three of our anchors shipped CVEs (research/master.md §1.4).
Clip files leave through nginx (X-Accel-Redirect to an internal location on the NAS) after
the check; without nginx in front (tests, a quick try) the app serves them itself.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bottle import Bottle, HTTPResponse, request, response, static_file

from smartcam.clips.library import check_cause, check_day
from smartcam.clips.names import EVENT_ID, NAME, STEM
from smartcam.errors import SmartcamError
from smartcam.httpjson import ApiError, error_reply, fail, json_body, query, reply
from smartcam.master import totp
from smartcam.master.accounts import AccountError, Session, User, check_username
from smartcam.master.export import export_zip
from smartcam.master.fleet import LIVE_EVERY, SKEW_WARN
from smartcam.master.openapi import document

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
COOKIE = "__Host-sc_session"
PIN_COOKIE = "sc_share_pin"  # scoped to one share link's path
PUBLIC = {"/api/login", "/api/setup", "/api/health"}  # pages check for themselves
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
LIVE_SECONDS = 300.0  # a live stream ends after this; the page starts another while shown
ACCEL_BASE = "/_nas/"


def make_app(master: Any) -> Bottle:
    app = Bottle()
    accounts, fleet, index = master.accounts, master.fleet, master.index

    for code, message in ((404, "not found"), (405, "method not allowed here"),
                          (500, "internal error; the master's log has the details")):
        app.error(code)(lambda _err, c=code, m=message: _error_body(c, m))

    @app.hook("after_request")
    def headers() -> None:
        for name, value in HEADERS.items():
            response.set_header(name, value)

    def guarded(admin: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """A route's edge: the session (and role) first, errors as JSON, never a traceback."""
        def decorate(callback: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(callback)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    session = who(accounts, public=request.path in PUBLIC)
                    if admin and (session is None or not session.user.admin):
                        fail(403, "only an admin may do this")
                    out = callback(session, *args, **kwargs)
                except HTTPResponse:
                    raise
                except (ApiError, AccountError) as err:
                    return error_reply(getattr(err, "status", 400), str(err))
                except UnicodeError:
                    return error_reply(400, "the request has text that is not UTF-8")
                except Exception:
                    log.exception("%s %s failed", request.method, request.path)
                    return error_reply(500, "internal error; the master's log has the details")
                if isinstance(out, dict):  # not reply(): its headers would replace Set-Cookie
                    response.content_type = "application/json"
                    response.set_header("Cache-Control", "no-store")
                    return json.dumps(out, separators=(",", ":")) + "\n"
                return out
            return wrapper
        return decorate

    # -- pages ------------------------------------------------------------------------------

    def page(name: str, admin: bool = False) -> Callable[..., HTTPResponse]:
        def show(**_: Any) -> HTTPResponse:
            session = accounts.session(request.get_cookie(COOKIE) or "")
            if session is None:  # relative: behind nginx the app's own idea of the URL is not it
                raise HTTPResponse(status=303, headers={"Location": "/login"})
            if admin and not session.user.admin:
                return error_reply(403, "only an admin may see this page")
            return _static(name)
        return show

    app.get("/")(page("index.html"))
    app.get("/incident/<incident>")(page("incident.html"))
    app.get("/users")(page("users.html", admin=True))
    app.get("/login")(lambda: _static("login.html"))
    app.get("/setup")(lambda: _static("setup.html"))

    @app.get("/static/<name:path>")
    def static(name: str) -> HTTPResponse:
        return _static(name)

    # -- logging in -------------------------------------------------------------------------

    @app.get("/api/health")
    @guarded()
    def health(_: Session | None) -> dict[str, Any]:
        return {"ok": True, "setup_needed": accounts.count() == 0, "index": index.stats()}

    @app.post("/api/setup")
    @guarded()
    def setup(_: Session | None) -> dict[str, Any]:
        body = json_body(required=True)
        name = check_username(body.get("username"))
        address = client_address()
        wait = master.throttle.wait(address, "(setup)")
        if wait > 0:
            too_many(wait)
        try:
            user = accounts.setup(str(body.get("token", "")), name, str(body.get("password", "")))
        except AccountError as err:
            if "setup link" in str(err):
                master.throttle.failed(address, "(setup)")
            accounts.audit(name, address, "setup", str(err), ok=False)
            raise
        accounts.audit(user.name, address, "setup", "first admin created")
        return start_session(user)

    @app.post("/api/login")
    @guarded()
    def login(session: Session | None) -> dict[str, Any]:
        body = json_body(required=True)
        name, password = str(body.get("username", ""))[:64], str(body.get("password", ""))
        address = client_address()
        wait = master.throttle.wait(address, name)
        if wait > 0:
            accounts.audit(name, address, "login", f"refused: wait {wait:.0f} s", ok=False)
            too_many(wait)
        user = accounts.login(name, password)
        if user is None:
            master.throttle.failed(address, name)
            accounts.audit(name, address, "login", "wrong user name or password", ok=False)
            fail(401, "wrong user name or password")
        if user.totp:
            given = str(body.get("code", ""))[:32]
            if not given:
                raise HTTPResponse('{"error": "enter the code from your authenticator app (or '
                                   'a recovery code)", "code_needed": true}\n', 401,
                                   {"Content-Type": "application/json"})
            how = accounts.second_step(user, given)
            if how is None:
                master.throttle.failed(address, name)
                accounts.audit(name, address, "login", "wrong one-time code", ok=False)
                fail(401, "wrong or used one-time code")
            if how == "recovery code":
                accounts.audit(name, address, "login", "with a recovery code")
        master.throttle.succeeded(address, name)
        if session is not None:
            accounts.end_session(request.get_cookie(COOKIE) or "")
        accounts.audit(user.name, address, "login")
        return start_session(user)

    def start_session(user: User) -> dict[str, Any]:
        """A new session id at every login (no fixation), in a __Host- cookie."""
        token = accounts.open_session(user, client_address(),
                                      request.get_header("User-Agent", ""))
        response.add_header("Set-Cookie", cookie(token, int(accounts.lifetime)))
        new = accounts.session(token)
        assert new is not None
        return {"user": user.as_dict(), "csrf": new.csrf}

    @app.post("/api/logout")
    @guarded()
    def logout(session: Session | None) -> dict[str, Any]:
        if session is not None:
            accounts.end_session(request.get_cookie(COOKIE) or "")
            accounts.audit(session.user.name, client_address(), "logout")
        response.add_header("Set-Cookie", cookie("", 0))
        return {"ok": True}

    @app.get("/api/me")
    @guarded()
    def me(session: Session) -> dict[str, Any]:
        return {"user": session.user.as_dict(), "csrf": session.csrf, "session": session.public}

    @app.get("/api/sessions")
    @guarded()
    def sessions(session: Session) -> dict[str, Any]:
        return {"sessions": accounts.sessions_of(session.user), "current": session.public}

    @app.delete("/api/sessions/<public>")
    @guarded()
    def end_one(session: Session, public: str) -> dict[str, Any]:
        if not accounts.end_public(session.user, public):
            fail(404, "no such session of yours")
        accounts.audit(session.user.name, client_address(), "end session", public)
        return {"ok": True}

    @app.post("/api/password")
    @guarded()
    def password(session: Session) -> dict[str, Any]:
        body = json_body(required=True)
        if accounts.login(session.user.name, str(body.get("current", ""))) is None:
            accounts.audit(session.user.name, client_address(), "password", "wrong current "
                           "password", ok=False)
            fail(403, "the current password is wrong")
        accounts.set_password(session.user, str(body.get("new", "")))  # ends every session
        accounts.audit(session.user.name, client_address(), "password", "changed")
        return start_session(session.user)

    # -- the second step (TOTP) -------------------------------------------------------------

    def reauthenticate(session: Session, body: dict[str, Any], action: str) -> None:
        """Changing how one logs in needs the password again (ASVS 7.5.1)."""
        if accounts.login(session.user.name, str(body.get("password", ""))) is None:
            accounts.audit(session.user.name, client_address(), action, "wrong password",
                           ok=False)
            fail(403, "the password is wrong")

    @app.post("/api/totp/offer")
    @guarded()
    def totp_offer(session: Session) -> dict[str, Any]:
        reauthenticate(session, json_body(required=True), "totp offer")
        secret = accounts.totp_offer(session.user)
        link = totp.uri(secret, session.user.name)
        qr = base64.b64encode(totp.qr_svg(link)).decode()
        return {"secret": secret, "uri": link, "qr": f"data:image/svg+xml;base64,{qr}"}

    @app.post("/api/totp/confirm")
    @guarded()
    def totp_confirm(session: Session) -> dict[str, Any]:
        codes = accounts.totp_confirm(session.user, str(json_body(required=True).get("code", "")))
        accounts.audit(session.user.name, client_address(), "totp", "switched on")
        return {"recovery_codes": codes}

    @app.post("/api/totp/off")
    @guarded()
    def totp_off(session: Session) -> dict[str, Any]:
        reauthenticate(session, json_body(required=True), "totp off")
        accounts.totp_off(session.user)
        accounts.audit(session.user.name, client_address(), "totp", "switched off")
        return {"ok": True}

    # -- users (admin) ----------------------------------------------------------------------

    @app.get("/api/users")
    @guarded(admin=True)
    def users(_: Session) -> dict[str, Any]:
        return {"users": [u.as_dict() for u in accounts.users()]}

    @app.post("/api/users")
    @guarded(admin=True)
    def add_user(session: Session) -> HTTPResponse:
        body = json_body(required=True)
        user = accounts.add(str(body.get("username", "")), str(body.get("password", "")),
                            str(body.get("role", "viewer")), cameras_of(body))
        accounts.audit(session.user.name, client_address(), "add user",
                       f"{user.name} ({user.role})")
        return reply({"user": user.as_dict()}, 201)

    @app.put("/api/users/<name>")
    @guarded(admin=True)
    def change_user(session: Session, name: str) -> dict[str, Any]:
        body = json_body(required=True)
        user = accounts.change(name, str(body.get("role", "")), cameras_of(body))
        accounts.audit(session.user.name, client_address(), "change user",
                       f"{user.name} ({user.role}, cameras {user.as_dict()['cameras']})")
        return {"user": user.as_dict()}

    @app.delete("/api/users/<name>")
    @guarded(admin=True)
    def remove_user(session: Session, name: str) -> dict[str, Any]:
        accounts.remove(name)
        accounts.audit(session.user.name, client_address(), "remove user", name)
        return {"ok": True}

    @app.get("/api/openapi.json")
    @guarded()
    def openapi(_: Session) -> dict[str, Any]:
        return document(master.version)

    @app.get("/api/audit")
    @guarded(admin=True)
    def audit(_: Session) -> dict[str, Any]:
        return {"audit": accounts.audit_log()}

    # -- cameras ----------------------------------------------------------------------------

    @app.get("/api/cameras")
    @guarded()
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
    @guarded()
    def picture(session: Session, name: str) -> HTTPResponse:
        pic = fleet.picture(visible_camera(session, name))
        if pic is None or not pic.jpeg:
            fail(503, f"no picture from {name} yet: {pic.error if pic else 'unknown camera'}")
        return HTTPResponse(pic.jpeg, headers={
            "Content-Type": "image/jpeg", "Cache-Control": "no-store",
            "X-Picture-Age": f"{max(0.0, time.time() - pic.taken):.1f}",
            **({"X-Picture-Error": pic.error[:200]} if pic.error else {})})

    @app.get("/api/cameras/<name>/live.mjpg")
    @guarded()
    def live(session: Session, name: str) -> Iterator[bytes]:
        camera = visible_camera(session, name)
        response.content_type = "multipart/x-mixed-replace; boundary=frame"
        response.set_header("Cache-Control", "no-store")
        response.set_header("X-Accel-Buffering", "no")
        return _relay(fleet, camera)

    # -- arming -----------------------------------------------------------------------------

    @app.get("/api/arming")
    @guarded()
    def arming(session: Session) -> dict[str, Any]:
        groups = {t["group"] for t in fleet.overview(session.user.may_see) if t["group"]}
        return {"groups": [master.arming.state(g) for g in sorted(groups)]}

    @app.put("/api/arming/<group>")
    @guarded(admin=True)
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
    @guarded(admin=True)
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
    @guarded(admin=True)
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

    # -- incidents and clips ----------------------------------------------------------------

    @app.get("/api/incidents")
    @guarded()
    def incidents(session: Session) -> dict[str, Any]:
        camera = query("camera", NAME.pattern, "a camera name")
        group = query("group", NAME.pattern, "a group name")
        cause = query("cause", r"[a-z]{1,10}", "a cause")
        day = query("day", r"\d{4}-\d{2}-\d{2}", "a day as YYYY-MM-DD")
        before = query("before", r"\d{1,12}(\.\d{1,6})?", "a time in Unix seconds")
        limit = query("limit", r"\d{1,3}", "a number from 1 to 500")
        try:
            cause = check_cause(cause) if cause else None
            day = check_day(day) if day else None
        except SmartcamError as err:
            fail(400, str(err))
        found = index.timeline(session.user.cameras, camera, group, cause, day,
                               float(before) if before else None, int(limit or 50))
        return {"incidents": found}

    @app.get("/api/incidents/<incident>")
    @guarded()
    def incident(session: Session, incident: str) -> dict[str, Any]:
        if not EVENT_ID.fullmatch(incident):
            fail(404, "no such incident")
        clips = index.incident(incident, session.user.cameras)
        if not clips:
            fail(404, "no such incident")
        return describe_incident(incident, clips, fleet)

    @app.get("/api/incidents/<incident>/export.zip")
    @guarded()
    def export(session: Session, incident: str) -> Iterator[bytes]:
        if not EVENT_ID.fullmatch(incident):
            fail(404, "no such incident")
        clips = index.incident(incident, session.user.cameras)
        if not clips:
            fail(404, "no such incident")
        try:
            stream = export_zip(master.nas.path, describe_incident(incident, clips, fleet),
                                session.user.name)
        except OSError as err:
            fail(409, f"a file of this incident cannot be read on the NAS: {err.strerror}")
        accounts.audit(session.user.name, client_address(), "export",
                       f"incident {incident}, {len(clips)} clip(s)")
        response.content_type = "application/zip"
        response.set_header("Content-Disposition",
                            f'attachment; filename="smartcam-incident-{incident}.zip"')
        response.set_header("Cache-Control", "no-store")
        response.set_header("X-Accel-Buffering", "no")  # nginx passes it on as it is made
        return stream

    # -- share links ------------------------------------------------------------------------

    @app.post("/api/incidents/<incident>/shares")
    @guarded()
    def share(session: Session, incident: str) -> HTTPResponse:
        if not EVENT_ID.fullmatch(incident) or not index.incident(incident,
                                                                  session.user.cameras):
            fail(404, "no such incident")
        body = json_body(required=True)
        seconds, pin = body.get("seconds"), body.get("pin")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            fail(400, "seconds: how long the link works, a number")
        made, link = master.shares.create(incident, session.user.name, float(seconds),
                                          str(pin) if pin not in (None, "") else None)
        accounts.audit(session.user.name, client_address(), "share",
                       f"incident {incident}, link {made.id}, until {time.ctime(made.expires)}"
                       f"{', with a PIN' if made.pin else ''}")
        return reply({"share": made.as_dict(), "link": f"/s/{link}"}, 201)

    @app.get("/api/shares")
    @guarded()
    def shares(session: Session) -> dict[str, Any]:
        mine = None if session.user.admin else session.user.name
        return {"shares": [s.as_dict() for s in master.shares.of(mine)]}

    @app.delete("/api/shares/<share_id>")
    @guarded()
    def revoke(session: Session, share_id: str) -> dict[str, Any]:
        if not master.shares.revoke(share_id, None if session.user.admin else session.user.name):
            fail(404, "no such share of yours")
        accounts.audit(session.user.name, client_address(), "revoke share", share_id)
        return {"ok": True}

    def shared(counts: bool = False, needs_pin: bool = True
               ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """A share link's routes: public, but only what the link opens, said as JSON. A
        route that `counts` is a view; the one that needs no PIN is where the PIN is given."""
        def decorate(callback: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(callback)
            def wrapper(link: str, **kwargs: Any) -> Any:
                try:
                    return opened(callback, link, counts, needs_pin, **kwargs)
                except HTTPResponse:
                    raise
                except (ApiError, AccountError) as err:
                    return error_reply(getattr(err, "status", 400), str(err))
            return wrapper
        return decorate

    def opened(callback: Callable[..., Any], link: str, counts: bool, needs_pin: bool,
               **kwargs: Any) -> Any:
        """The share the link opens, checked, handed to the route with its creator."""
        if request.method != "GET" and cross_site():
            fail(403, "refused: this request came from another site's page")
        share = master.shares.open(link, count=counts)
        response.set_header("X-Robots-Tag", "noindex, nofollow")
        response.set_header("Referrer-Policy", "no-referrer")
        if needs_pin and not master.shares.pin_ok(share, request.get_cookie(PIN_COOKIE) or ""):
            fail(401, "this link needs its PIN")
        creator = accounts.user(share.creator)
        if creator is None:
            fail(410, "the person who shared this link is no longer a user")
        return callback(share, creator, link, **kwargs)

    app.get("/s/<link>")(lambda link: _static("share.html"))

    @app.get("/s/<link>/incident.json")
    @shared(counts=True)
    def share_json(share: Any, creator: User, link: str) -> HTTPResponse:
        clips = index.incident(share.incident, creator.cameras)
        if not clips:
            fail(404, "the clips of this incident are gone")
        data = describe_incident(share.incident, clips, fleet)
        for clip in data["clips"]:
            clip["video"] = f"/s/{link}/media/{clip['stem']}.mp4"
            clip["image"] = f"/s/{link}/media/{clip['stem']}.jpg" if clip["thumbnail"] else None
        accounts.audit(f"share {share.id}", client_address(), "share view",
                       f"incident {share.incident} (shared by {share.creator})")
        return reply({**data, "expires": share.expires})

    @app.post("/s/<link>/pin")
    @shared(needs_pin=False)
    def share_pin(share: Any, creator: User, link: str) -> dict[str, Any]:
        address = client_address()
        wait = master.throttle.wait(address, f"(share {share.id})")
        if wait > 0:
            too_many(wait)
        key = master.shares.pin_key(share, str(json_body(required=True).get("pin", "")))
        if key is None:
            master.throttle.failed(address, f"(share {share.id})")
            accounts.audit(f"share {share.id}", address, "share pin", "wrong", ok=False)
            fail(403, "wrong PIN")
        response.add_header("Set-Cookie", f"{PIN_COOKIE}={key}; Path=/s/{link}; "
                            f"Max-Age={int(share.expires - time.time())}; Secure; HttpOnly; "
                            "SameSite=Strict")
        response.content_type = "application/json"
        return json.dumps({"ok": True})

    @app.get("/s/<link>/media/<stem>.<kind:re:mp4|jpg>")
    @shared()
    def share_media(share: Any, creator: User, link: str, stem: str,
                    kind: str) -> HTTPResponse:
        if not any(c["stem"] == stem for c in index.incident(share.incident, creator.cameras)):
            fail(404, "no such clip in this share")
        return serve_clip(stem, kind, creator)

    @app.get("/media/<stem>.<kind:re:mp4|jpg>")
    @guarded()
    def media(session: Session, stem: str, kind: str) -> HTTPResponse:
        return serve_clip(stem, kind, session.user)

    def serve_clip(stem: str, kind: str, user: User) -> HTTPResponse:
        clip = index.clip(stem) if STEM.fullmatch(stem) else None
        if clip is None or not user.may_see(clip["camera"]):
            fail(404, "no such clip")  # the same answer for a clip you may not see
        if kind == "jpg" and not clip["thumbnail"]:
            fail(404, "this clip has no thumbnail")
        relative = f"{clip['camera']}/{clip['day']}/{stem}.{kind}"
        mimetype = "video/mp4" if kind == "mp4" else "image/jpeg"
        if request.get_header("X-Accel-Base") == ACCEL_BASE:
            return HTTPResponse("", headers={"Content-Type": mimetype,
                                             "X-Accel-Redirect": ACCEL_BASE + relative})
        out = static_file(relative, root=str(master.nas.path), mimetype=mimetype)
        if out.status_code >= 400:
            fail(404, "the clip's file is missing on the NAS")
        out.set_header("Cache-Control", "private, max-age=3600")
        return out

    return app


def describe_incident(incident: str, clips: list[dict[str, Any]], fleet: Any) -> dict[str, Any]:
    """One incident for its page: the span, each clip's offset from the start (by its UTC
    start), the origin, and what makes the alignment doubtful."""
    start = min(c["start"] for c in clips)
    end = max(c["end"] for c in clips)
    warnings = []
    for camera in sorted({c["camera"] for c in clips}):
        status = fleet.status.get(camera)
        offset = status.clock_offset if status else None
        if offset is not None and abs(offset) > SKEW_WARN:
            warnings.append(f"{camera}'s clock is {offset:+.1f} s off the master's: its clip "
                            "may be shown that much early or late")
    if any(c["clock_synced"] is False for c in clips):
        warnings.append("some clips were recorded before their camera's clock was set: their "
                        "place on the scrubber may be wrong")
    origin = next((c["camera"] for c in clips if c["cause"] == "motion"), clips[0]["origin"])
    out = []
    for c in clips:
        out.append({
            **{k: c[k] for k in ("stem", "camera", "day", "group", "cause", "origin", "part",
                                 "pre_record", "interrupted", "motion_peak", "heatmap",
                                 "thumbnail", "size", "sha256")},
            "start": c["start"], "end": c["end"], "trigger": c["trigger"],
            "offset": round(c["start"] - start, 3), "duration": round(c["end"] - c["start"], 3),
            "video": f"/media/{c['stem']}.mp4",
            "image": f"/media/{c['stem']}.jpg" if c["thumbnail"] else None,
        })
    return {"incident": incident, "start": start, "end": end, "origin": origin,
            "cameras": sorted({c["camera"] for c in clips}), "clips": out,
            "warnings": warnings}


def who(accounts: Any, public: bool) -> Session | None:
    """The request's session; a state change must carry its CSRF token and come from our own
    pages. Raises 401 for a route that is not public and has no session."""
    session = accounts.session(request.get_cookie(COOKIE) or "")
    if request.method not in ("GET", "HEAD"):
        if cross_site():
            fail(403, "refused: this request came from another site's page")
        # Logging in needs no token (the login page has none yet); the Origin check holds
        if not public and session is not None \
                and request.get_header("X-CSRF-Token") != session.csrf:
            fail(403, "refused: the request lacks this session's CSRF token (reload the page)")
    if session is None and not public:
        fail(401, "log in first")
    return session


def cross_site() -> bool:
    if request.get_header("Sec-Fetch-Site", "") in ("cross-site", "same-site"):
        return True
    origin = request.get_header("Origin")
    if origin is None:
        return False
    host = request.get_header("X-Forwarded-Host") or request.get_header("Host", "")
    return origin == "null" or urlsplit(origin).netloc != host


def client_address() -> str:
    """The browser's address: waitress takes it from X-Forwarded-For only when the request
    came from the local nginx (trusted_proxy), so a client cannot choose its own."""
    return str(request.environ.get("REMOTE_ADDR", ""))


def cookie(token: str, max_age: int) -> str:
    """Written by hand: bottle's cookies have no SameSite before 0.13 and pickle when signed."""
    return f"{COOKIE}={token}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Lax"


def too_many(wait: float) -> None:
    raise HTTPResponse(
        f'{{"error": "too many failed attempts: try again in {wait:.0f} s"}}\n', 429,
        {"Content-Type": "application/json", "Retry-After": str(int(wait) + 1)})


def cameras_of(body: dict[str, Any]) -> tuple[str, ...] | None:
    cameras = body.get("cameras")
    if cameras is None:
        return None
    if not isinstance(cameras, list) or not all(isinstance(c, str) for c in cameras):
        fail(400, "cameras must be a list of camera names, or null for every camera")
    return tuple(cameras)


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


def _static(name: str) -> HTTPResponse:
    out = static_file(name, root=str(STATIC))
    if out.status_code < 400:
        out.set_header("Cache-Control", "no-cache")
    return out


def _error_body(code: int, message: str) -> str:
    response.content_type = "application/json"
    return f'{{"error": "{message}"}}\n'
