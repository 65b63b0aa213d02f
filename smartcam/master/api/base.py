"""The edge every route of the master shares: who is asking (the session, checked once for every
request, with the CSRF token of every state change and a refusal of any cross-site one), errors
as JSON (never a traceback), and the session cookie. Deny by default: a route needs a session
unless it is in PUBLIC."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bottle import HTTPResponse, request, response

from smartcam.httpjson import ApiError, error_reply, fail
from smartcam.master.accounts import AccountError, Session

log = logging.getLogger(__name__)
COOKIE = "__Host-sc_session"
PUBLIC = {"/api/login", "/api/setup", "/api/health"}  # pages check for themselves


def guarded(accounts: Any, admin: bool = False
            ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
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
