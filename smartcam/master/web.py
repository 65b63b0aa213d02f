"""The master's web application: its pages, their static files, and the API (smartcam.master.api,
one module per group of routes). Every route is guarded at the API's edge (api/base.py), and
`serve_clip` checks a user's cameras on every media URL (clip -> camera -> user): the place
three of our anchors shipped CVEs (research/master.md §1.4). Clip files leave through nginx
(X-Accel-Redirect to an internal location on the NAS) after the check; without nginx in front
(tests, a quick try) the app serves them itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bottle import Bottle, HTTPResponse, request, response, static_file

from smartcam.httpjson import error_reply
from smartcam.master.api.base import COOKIE
from smartcam.master.api.cameras import add_cameras_routes
from smartcam.master.api.incidents import add_incidents_routes
from smartcam.master.api.people import add_people_routes
from smartcam.master.api.shares import add_shares_routes

STATIC = Path(__file__).with_name("static")
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def make_app(master: Any) -> Bottle:
    app = Bottle()
    accounts = master.accounts

    for code, message in ((404, "not found"), (405, "method not allowed here"),
                          (500, "internal error; the master's log has the details")):
        app.error(code)(lambda _err, c=code, m=message: _error_body(c, m))

    @app.hook("after_request")
    def headers() -> None:
        for name, value in HEADERS.items():
            response.set_header(name, value)

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
    app.get("/s/<link>")(lambda link: _static("share.html"))  # it asks for its PIN itself

    @app.get("/static/<name:path>")
    def static(name: str) -> HTTPResponse:
        return _static(name)

    for add_routes in (add_people_routes, add_cameras_routes, add_incidents_routes,
                       add_shares_routes):
        add_routes(app, master)
    return app


def _static(name: str) -> HTTPResponse:
    out = static_file(name, root=str(STATIC))
    if out.status_code < 400:
        out.set_header("Cache-Control", "no-cache")
    return out


def _error_body(code: int, message: str) -> str:
    response.content_type = "application/json"
    return f'{{"error": "{message}"}}\n'
