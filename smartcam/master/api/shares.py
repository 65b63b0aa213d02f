"""Share links: an incident opened to someone without an account, for a while, maybe behind
a PIN; public routes under /s/<link>/ that open only what the link names."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any

from bottle import Bottle, HTTPResponse, request, response

from smartcam.clips.names import EVENT_ID
from smartcam.httpjson import ApiError, error_reply, fail, json_body, reply
from smartcam.master.accounts import AccountError, Session, User
from smartcam.master.api.base import client_address, cross_site, guarded, too_many
from smartcam.master.api.incidents import describe_incident, serve_clip

PIN_COOKIE = "sc_share_pin"  # scoped to one share link's path


def add_shares_routes(app: Bottle, master: Any) -> None:
    accounts, fleet, index = master.accounts, master.fleet, master.index

    # -- share links ------------------------------------------------------------------------

    @app.post("/api/incidents/<incident>/shares")
    @guarded(accounts)
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
    @guarded(accounts)
    def shares(session: Session) -> dict[str, Any]:
        mine = None if session.user.admin else session.user.name
        return {"shares": [s.as_dict() for s in master.shares.of(mine)]}

    @app.delete("/api/shares/<share_id>")
    @guarded(accounts)
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
        return serve_clip(master, stem, kind, creator)
