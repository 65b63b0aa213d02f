"""The clips: /events (paged, by day and cause), one event, its clip and thumbnail (with
ranges, or through nginx's X-Accel-Redirect when the file is on the NAS), and /incidents."""

from __future__ import annotations

import logging
import re
from typing import Any

from bottle import Bottle, HTTPResponse, parse_range_header, request, static_file

from smartcam.clips.library import Clip, ClipLibrary
from smartcam.clips.names import EVENT_ID, utc
from smartcam.host.api.base import PREFIX, fail, query, reply

log = logging.getLogger(__name__)
MAX_LIMIT = 200
ACCEL_BASE = re.compile(r"/[A-Za-z0-9._~/-]*/")


def add_event_routes(api: Bottle, host: Any) -> None:
    index: ClipLibrary = host.library  # answers from its last look: no request waits on the NAS

    def card(clip: Clip, data: dict[str, Any]) -> dict[str, Any]:
        urls = {
            "clip": f"{PREFIX}events/{clip.event}/clip",
            "thumbnail": f"{PREFIX}events/{clip.event}/thumbnail",
        }
        return {**data, "event": clip.event, "stored": clip.stored, "urls": urls}

    @api.get("/events")
    def list_events() -> dict[str, Any]:
        limit = int(query("limit", r"[0-9]{1,4}", f"a whole number from 1 to {MAX_LIMIT}") or 20)
        offset = int(query("offset", r"[0-9]{1,7}", "a whole number from 0") or 0)
        if not 1 <= limit <= MAX_LIMIT:
            fail(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
        found, following = index.page(
            day=request.query.getunicode("day"),  # given but empty: refused, as documented
            cause=request.query.getunicode("cause"),
            limit=limit,
            cursor=request.query.getunicode("cursor"),
            offset=offset,
        )
        listed = index.snapshot.listed_at
        return {"events": [card(c, d) for c, d in found], "next": following,
                "listed_at": utc(listed) if listed else None}

    def lookup(event: str) -> tuple[Clip, dict[str, Any]]:
        if not EVENT_ID.fullmatch(event):
            fail(400, "an event id is 8 to 32 hexadecimal digits (0-9, a-f)")
        found = index.get(event)
        if found is None:
            fail(404, f"no clip of event {event} (it may have been deleted by retention)")
        return found

    @api.get("/incidents/<incident>")
    def get_incident(incident: str) -> dict[str, Any]:
        clips = index.incident(incident)
        return {"incident": incident, "events": [card(c, d) for c, d in clips]}

    @api.get("/events/<event>")
    def get_event(event: str) -> dict[str, Any]:
        clip, data = lookup(event)
        return card(clip, data)

    def serve_file(event: str, kind: str, mimetype: str) -> HTTPResponse:
        clip, _ = lookup(event)
        if clip.stored == "nas" and not index.answering():
            # Reading a dead share would hang nginx's worker or this thread for a minute.
            spare = index.spool_copy(event)
            if spare is None:
                fail(503, f"the NAS is not answering, and the spool keeps no copy of this "
                     f"{kind}: try again when the NAS is back")
            clip = spare
        path = clip.video if kind == "clip" else clip.thumbnail
        base = request.get_header("X-Accel-Base")
        if base and clip.stored == "nas" and ACCEL_BASE.fullmatch(base) and ".." not in base:
            # nginx reads the NAS (and refuses symlinks there); this thread touches nothing
            target = base + clip.relative(path)
            return HTTPResponse("", headers={"Content-Type": mimetype, "X-Accel-Redirect": target})
        try:
            size = path.stat().st_size
        except OSError:
            fail(404, f"the {kind} of event {event} is missing")
        if not index.holds(path):
            log.warning("not serving %s: it leads out of the camera's folders", path)
            fail(404, f"the {kind} of event {event} is missing")
        wanted = request.environ.get("HTTP_RANGE")
        if wanted and not wanted.startswith("bytes="):
            del request.environ["HTTP_RANGE"]  # a unit we do not know: the whole file (RFC 9110)
        elif wanted and not list(parse_range_header(wanted, size)):
            # checked here: static_file would leave the file it opened for a 416 unclosed
            return reply({"error": f"the range {wanted!r} is outside the file (0 to {size - 1})"},
                         416, {"Content-Range": f"bytes */{size}"})
        out = static_file(path.name, root=str(path.parent), mimetype=mimetype)
        if out.status_code >= 400:
            fail(out.status_code, f"cannot read the {kind} of event {event}")
        out.set_header("Cache-Control", "private, max-age=3600")
        return out

    @api.get("/events/<event>/clip")
    def get_clip(event: str) -> HTTPResponse:
        return serve_file(event, "clip", "video/mp4")

    @api.get("/events/<event>/thumbnail")
    def get_thumbnail(event: str) -> HTTPResponse:
        return serve_file(event, "thumbnail", "image/jpeg")
