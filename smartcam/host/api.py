"""The REST API under /api/v1/ (documented in openapi.py, which the tests fuzz).

Every answer is JSON, and every error is `{"error": "..."}` with a 4xx status, or 503 while
the camera process is not answering: the boundary below turns our own exceptions into those,
so a request never sees a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

from bottle import Bottle, HTTPResponse, parse_range_header, request, static_file

from smartcam.config import SETTINGS
from smartcam.config.edit import set_values
from smartcam.errors import ConfigError, ControlError
from smartcam.host.camlink import CameraUnavailable
from smartcam.host.events import BadQuery, Clip, EventIndex, NasSlow
from smartcam.host.health import health
from smartcam.host.openapi import document, value_kind
from smartcam.host.peers import peers_json

log = logging.getLogger(__name__)
PREFIX = "/api/v1/"
MAX_BODY = 64 * 1024
MAX_LIMIT = 200
RECORD_SECONDS = (1.0, 600.0)
# What the page may change, per section; [motion] goes live, the rest needs a camera restart.
EDITABLE = {
    "motion": tuple(SETTINGS["motion"]),
    "camera": ("pre_record", "post_record", "max_clip", "resolution", "fps", "bitrate", "live_fps"),
}
LIVE_SECTIONS = ("motion",)
ACCEL_BASE = re.compile(r"/[A-Za-z0-9._~/-]*/")


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def fail(status: int, message: str) -> NoReturn:
    raise ApiError(status, message)


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    body = json.dumps(data, separators=(",", ":")) + "\n"
    head = {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})}
    return HTTPResponse(body, status=status, headers=head)


def error_reply(status: int, message: str) -> HTTPResponse:
    headers = {"Retry-After": "5"} if status == 503 else {}
    return reply({"error": message}, status, headers)


def boundary(callback: Callable[..., Any]) -> Callable[..., Any]:
    """The API's edge: our exceptions become JSON errors, dicts become JSON."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            out = callback(*args, **kwargs)
        except HTTPResponse:
            raise
        except ApiError as err:
            return error_reply(err.status, str(err))
        except BadQuery as err:
            return error_reply(400, str(err))
        except (CameraUnavailable, NasSlow) as err:
            return error_reply(503, str(err))
        except ControlError as err:
            return error_reply(409, f"the camera refused: {err}")
        except Exception:  # a bug: logged with its traceback, answered without one
            log.exception("%s %s failed", request.method, request.path)
            return error_reply(500, "internal error; the host's log has the details")
        return reply(out) if isinstance(out, dict) else out

    return wrapper


def json_body(required: bool) -> dict[str, Any]:
    """The request's JSON object ({} when there is no body and none is required)."""
    if request.content_length > MAX_BODY:
        fail(413, f"the body is larger than {MAX_BODY} bytes")
    raw = request.body.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:  # sent chunked, without a Content-Length
        fail(413, f"the body is larger than {MAX_BODY} bytes")
    if not raw:
        if required:
            fail(400, "this needs a JSON object in the body")
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        fail(400, f"the body is not valid JSON: {err}")
    except RecursionError:
        fail(400, "the body is nested too deeply")
    if not isinstance(data, dict):
        fail(400, "the body must be a JSON object")
    return data


def query(name: str, pattern: str, meaning: str) -> str | None:
    value = request.query.getunicode(name)
    if value is None:
        return None
    if not re.fullmatch(pattern, value):
        fail(400, f"{name} must be {meaning}")
    return value


def make_api(host: Any) -> Bottle:
    api = Bottle()
    api.install(boundary)
    index = EventIndex(host.cfg)
    settings_lock = threading.Lock()

    @api.get("/openapi.json")
    def openapi() -> dict[str, Any]:
        return document(host.version, EDITABLE)

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

    # -- events --------------------------------------------------------------------------------

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
        return {"events": [card(c, d) for c, d in found], "next": following}

    def lookup(event: str) -> tuple[Clip, dict[str, Any]]:
        if not re.fullmatch(r"[0-9a-f]{8,32}", event):
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
        path = clip.video if kind == "clip" else clip.thumbnail
        try:
            size = path.stat().st_size
        except OSError:
            fail(404, f"the {kind} of event {event} is missing")
        base = request.get_header("X-Accel-Base")
        if base and clip.stored == "nas" and ACCEL_BASE.fullmatch(base) and ".." not in base:
            target = base + clip.relative(path)
            return HTTPResponse("", headers={"Content-Type": mimetype, "X-Accel-Redirect": target})
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

    # -- recording -----------------------------------------------------------------------------

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
        remote = request.get_header("X-Real-IP") or request.remote_addr or ""
        status, answer = coop.receiver.handle_trigger(
            request.body.read(MAX_BODY + 1), dict(request.headers), remote)
        return reply(answer, status)

    @api.get("/peers")
    def get_peers() -> dict[str, Any]:
        return peers_json(host)

    # -- settings ------------------------------------------------------------------------------

    @api.get("/settings")
    def get_settings() -> dict[str, Any]:
        return settings_view(host)

    @api.put("/settings")
    def put_settings() -> dict[str, Any]:
        changes = settings_changes(json_body(required=True))
        with settings_lock:
            cfg = host.cfg
            try:
                for section, values in changes.items():
                    cfg = cfg.replace(section, **values)
            except ConfigError as err:
                fail(400, str(err))
            if not any(changes.values()):
                return {**settings_view(host), "saved": False, "applied": [], "restart": [],
                        "message": "Nothing to change."}
            if host.cfg.path is None:
                problem = host.config_error or "the host runs on built-in defaults"
                fail(409, f"There is no valid smartcam.conf to save into: {problem}")
            try:
                set_values(host.cfg.path, changes)
            except ConfigError as err:
                fail(409, f"smartcam.conf has problems; fix them first:\n{err}")
            except OSError as err:
                fail(409, f"cannot write {host.cfg.path}: {err.strerror or err}")
            host.cfg = cfg
            applied, notes = [], ["Saved."]
            if changes.get("motion"):
                try:
                    host.link.request("set", motion=changes["motion"])
                    applied.append("motion")
                    notes.append("The motion settings are in effect now.")
                except CameraUnavailable:
                    notes.append("The camera is not running; it uses them when it starts.")
            restart = [f"{s}.{k}" for s, v in changes.items() if s not in LIVE_SECTIONS for k in v]
            if restart:
                notes.append(f"{', '.join(restart)}: in effect when the camera process restarts.")
        return {**settings_view(host), "saved": True, "applied": applied, "restart": restart,
                "message": " ".join(notes)}

    return api


def settings_changes(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{section: {key: value}} from a PUT body, checked against what the page may change."""
    changes: dict[str, dict[str, Any]] = {}
    for section, values in body.items():
        if section not in EDITABLE:
            fail(400, f"unknown section {section!r}; these can be changed: {', '.join(EDITABLE)}")
        if not isinstance(values, dict):
            fail(400, f"{section} must be an object of key: value")
        changes[section] = {}
        for key, value in values.items():
            if key not in EDITABLE[section]:
                known = key in SETTINGS[section]
                why = "is changed only in smartcam.conf" if known else "is not a setting"
                fail(400, f"[{section}] {key} {why}; here: {', '.join(EDITABLE[section])}")
            kind = value_kind(SETTINGS[section][key])
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not isinstance(value, str) and not (
                (kind == "boolean" and isinstance(value, bool))
                or (kind in ("integer", "number") and number)
            ):
                also = {"boolean": " or true/false", "integer": " or a number",
                        "number": " or a number"}.get(kind, "")
                fail(400, f"[{section}] {key} must be a string{also}")
            if kind == "integer" and isinstance(value, float) and value.is_integer():
                value = int(value)  # 4.0 from JSON is the whole number 4
            changes[section][key] = value
    return changes



def _jsonable(value: Any, st: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    return st.type.format(value)


def settings_view(host: Any) -> dict[str, Any]:
    values: dict[str, dict[str, Any]] = {}
    schema: dict[str, dict[str, Any]] = {}
    for section, keys in EDITABLE.items():
        current = getattr(host.cfg, section)
        values[section], schema[section] = {}, {}
        for key in keys:
            st = SETTINGS[section][key]
            values[section][key] = _jsonable(getattr(current, key), st)
            schema[section][key] = {
                "help": st.help, "allowed": st.type.allowed, "type": value_kind(st),
                "default": _jsonable(st.default(), st), "live": section in LIVE_SECTIONS,
            }
    path = host.cfg.path
    return {"values": values, "schema": schema, "file": str(path) if path else None}
