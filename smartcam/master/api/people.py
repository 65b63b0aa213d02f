"""Logging in and who may: the first admin's setup, login with its second step, sessions,
passwords, TOTP, users (admins only), the audit log, health and the API's own description."""

from __future__ import annotations

import base64
from typing import Any

from bottle import Bottle, HTTPResponse, request, response

from smartcam.httpjson import fail, json_body, reply
from smartcam.master import totp
from smartcam.master.accounts import AccountError, Session, User, check_username
from smartcam.master.api.base import COOKIE, client_address, cookie, guarded, too_many
from smartcam.master.openapi import document


def add_people_routes(app: Bottle, master: Any) -> None:
    accounts, index = master.accounts, master.index

    # -- logging in -------------------------------------------------------------------------

    @app.get("/api/health")
    @guarded(accounts)
    def health(_: Session | None) -> dict[str, Any]:
        return {"ok": True, "setup_needed": accounts.count() == 0, "index": index.stats()}

    @app.post("/api/setup")
    @guarded(accounts)
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
    @guarded(accounts)
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
    @guarded(accounts)
    def logout(session: Session | None) -> dict[str, Any]:
        if session is not None:
            accounts.end_session(request.get_cookie(COOKIE) or "")
            accounts.audit(session.user.name, client_address(), "logout")
        response.add_header("Set-Cookie", cookie("", 0))
        return {"ok": True}

    @app.get("/api/me")
    @guarded(accounts)
    def me(session: Session) -> dict[str, Any]:
        return {"user": session.user.as_dict(), "csrf": session.csrf, "session": session.public}

    @app.get("/api/sessions")
    @guarded(accounts)
    def sessions(session: Session) -> dict[str, Any]:
        return {"sessions": accounts.sessions_of(session.user), "current": session.public}

    @app.delete("/api/sessions/<public>")
    @guarded(accounts)
    def end_one(session: Session, public: str) -> dict[str, Any]:
        if not accounts.end_public(session.user, public):
            fail(404, "no such session of yours")
        accounts.audit(session.user.name, client_address(), "end session", public)
        return {"ok": True}

    @app.post("/api/password")
    @guarded(accounts)
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
    @guarded(accounts)
    def totp_offer(session: Session) -> dict[str, Any]:
        reauthenticate(session, json_body(required=True), "totp offer")
        secret = accounts.totp_offer(session.user)
        link = totp.uri(secret, session.user.name)
        qr = base64.b64encode(totp.qr_svg(link)).decode()
        return {"secret": secret, "uri": link, "qr": f"data:image/svg+xml;base64,{qr}"}

    @app.post("/api/totp/confirm")
    @guarded(accounts)
    def totp_confirm(session: Session) -> dict[str, Any]:
        codes = accounts.totp_confirm(session.user, str(json_body(required=True).get("code", "")))
        accounts.audit(session.user.name, client_address(), "totp", "switched on")
        return {"recovery_codes": codes}

    @app.post("/api/totp/off")
    @guarded(accounts)
    def totp_off(session: Session) -> dict[str, Any]:
        reauthenticate(session, json_body(required=True), "totp off")
        accounts.totp_off(session.user)
        accounts.audit(session.user.name, client_address(), "totp", "switched off")
        return {"ok": True}

    # -- users (admin) ----------------------------------------------------------------------

    @app.get("/api/users")
    @guarded(accounts, admin=True)
    def users(_: Session) -> dict[str, Any]:
        return {"users": [u.as_dict() for u in accounts.users()]}

    @app.post("/api/users")
    @guarded(accounts, admin=True)
    def add_user(session: Session) -> HTTPResponse:
        body = json_body(required=True)
        user = accounts.add(str(body.get("username", "")), str(body.get("password", "")),
                            str(body.get("role", "viewer")), cameras_of(body))
        accounts.audit(session.user.name, client_address(), "add user",
                       f"{user.name} ({user.role})")
        return reply({"user": user.as_dict()}, 201)

    @app.put("/api/users/<name>")
    @guarded(accounts, admin=True)
    def change_user(session: Session, name: str) -> dict[str, Any]:
        body = json_body(required=True)
        user = accounts.change(name, str(body.get("role", "")), cameras_of(body))
        accounts.audit(session.user.name, client_address(), "change user",
                       f"{user.name} ({user.role}, cameras {user.as_dict()['cameras']})")
        return {"user": user.as_dict()}

    @app.delete("/api/users/<name>")
    @guarded(accounts, admin=True)
    def remove_user(session: Session, name: str) -> dict[str, Any]:
        accounts.remove(name)
        accounts.audit(session.user.name, client_address(), "remove user", name)
        return {"ok": True}

    @app.get("/api/openapi.json")
    @guarded(accounts)
    def openapi(_: Session) -> dict[str, Any]:
        return document(master.version)

    @app.get("/api/audit")
    @guarded(accounts, admin=True)
    def audit(_: Session) -> dict[str, Any]:
        return {"audit": accounts.audit_log()}


def cameras_of(body: dict[str, Any]) -> tuple[str, ...] | None:
    cameras = body.get("cameras")
    if cameras is None:
        return None
    if not isinstance(cameras, list) or not all(isinstance(c, str) for c in cameras):
        fail(400, "cameras must be a list of camera names, or null for every camera")
    return tuple(cameras)


