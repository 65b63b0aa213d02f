"""The OpenAPI 3.0 document of the master's API (served at /api/openapi.json once logged in).

Written by hand beside the routes (web.py); tests/master/test_fuzz.py runs schemathesis on it
with a session, and fails on any 5xx or any answer the document does not describe.
"""

from __future__ import annotations

from typing import Any

from smartcam.clips.names import CAUSES, EVENT_PATTERN, NAME, STEM
from smartcam.httpjson import JSON, body, error, nullable, obj, ref
from smartcam.master.accounts import ROLES

NUMBER, TEXT, FLAG = {"type": "number"}, {"type": "string"}, {"type": "boolean"}
INTEGER = {"type": "integer"}
ERRORS = {
    "400": error("The request is malformed; `error` says what is allowed."),
    "401": error("Log in first."),
    "403": error("Not allowed: another site's page, no CSRF token, or not an admin."),
    "404": error("No such thing (or not one of your cameras)."),
}
NAMES = {"type": "array", "items": TEXT}
USER = obj({"name": TEXT, "role": {"type": "string", "enum": list(ROLES)},
            "cameras": nullable(NAMES), "totp": FLAG}, ("name", "role", "cameras"))
LOGGED_IN = obj({"user": ref("User"), "csrf": TEXT}, ("user", "csrf"))
CREDENTIALS = obj({"username": TEXT, "password": TEXT}, ("username", "password"))
CAMERA = obj({
    "name": TEXT, "group": nullable(TEXT), "title": TEXT, "online": FLAG,
    "checked": nullable(NUMBER), "error": nullable(TEXT), "version": nullable(TEXT),
    "recording": FLAG, "problems": {"type": "array", "items": obj({"level": TEXT,
                                                                 "message": TEXT})},
    "temperature": nullable(NUMBER), "clock_offset": nullable(NUMBER), "clock_warning": FLAG,
    "dropped_recent": INTEGER, "backlog_clips": nullable(INTEGER),
    "nas_mounted": nullable(FLAG), "sources": NAMES, "clips": INTEGER,
    "last_clip_end": nullable(NUMBER), "ingest_lag": nullable(NUMBER),
    "usual_gap": nullable(NUMBER), "silent": FLAG,
}, ("name", "online", "silent", "clips"))
INCIDENT = obj({
    "incident": TEXT, "start": NUMBER, "end": NUMBER, "clips": INTEGER, "cameras": NAMES,
    "causes": NAMES, "interrupted": FLAG, "clock_unsynced": FLAG,
}, ("incident", "start", "end", "clips", "cameras"))
CLIP = obj({
    "stem": TEXT, "camera": TEXT, "group": TEXT, "cause": TEXT, "origin": TEXT,
    "part": INTEGER, "pre_record": NUMBER, "interrupted": FLAG, "motion_peak": NUMBER,
    "heatmap": nullable({"type": "array", "items": {"type": "array", "items": INTEGER}}),
    "thumbnail": FLAG, "size": INTEGER, "sha256": TEXT, "start": NUMBER, "end": NUMBER,
    "day": TEXT, "trigger": nullable(NUMBER), "offset": NUMBER, "duration": NUMBER, "video": TEXT,
    "image": nullable(TEXT),
}, ("stem", "camera", "offset", "duration", "video"))
REPLAY = obj({"incident": TEXT, "start": NUMBER, "end": NUMBER, "origin": TEXT,
              "cameras": NAMES, "clips": {"type": "array", "items": ref("Clip")},
              "warnings": NAMES}, ("incident", "clips", "warnings"))
OK = obj({"ok": FLAG}, ("ok",))
ARMING = obj({"group": TEXT, "mode": TEXT, "armed": FLAG, "schedule": {"type": "array"},
              "changed": nullable(NUMBER), "by": nullable(TEXT)}, ("group", "mode", "armed"))
SHARE = obj({"id": TEXT, "incident": TEXT, "creator": TEXT, "created": NUMBER,
             "expires": NUMBER, "revoked": FLAG, "pin": FLAG, "views": INTEGER},
            ("id", "incident", "expires", "revoked"))


def _path(name: str, pattern: str | None = None) -> dict[str, Any]:
    schema = {"type": "string", **({"pattern": pattern} if pattern else {})}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _op(summary: str, answer: dict[str, Any] | None = None, status: str = "200",
        request: dict[str, Any] | None = None, params: list[dict[str, Any]] | None = None,
        also: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": summary, "responses": {
        status: body(answer or ref("Ok"), summary), **ERRORS,
        **{code: error({"410": "Revoked or expired.",
                        "409": "Not possible now (no group secret, a file gone).",
                        "502": "The camera did not answer."}.get(
            code, "Too many attempts; wait Retry-After seconds.")) for code in also}}}
    if request is not None:
        out["requestBody"] = {"required": True, "content": {JSON: {"schema": request}}}
    if params:
        out["parameters"] = params
    return out


def _binary(summary: str, mimetype: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    return {"summary": summary, "parameters": params, "responses": {
        "200": {"description": summary, "content": {mimetype: {"schema": {
            "type": "string", "format": "binary"}}}},
        "206": {"description": "Part of it (a Range request)."},
        "416": error("The range is outside the file."),
        "503": error("No picture from this camera yet."), **ERRORS}}


def document(version: str) -> dict[str, Any]:
    camera = _path("name")
    incident = _path("incident", f"^{EVENT_PATTERN}$")
    return {
        "openapi": "3.0.3",
        "info": {"title": "smartcam master", "version": version, "description":
                 "Every camera of the network behind a login. Every request but health, login "
                 "and setup needs the session cookie; every state change also needs its "
                 "X-CSRF-Token header (from login or /api/me)."},
        "paths": {
            "/api/health": {"get": _op("Whether the master runs and needs its first admin",
                                       obj({"ok": FLAG, "setup_needed": FLAG,
                                            "index": {"type": "object"}}))},
            "/api/setup": {"post": _op(
                "Create the first admin with the one-time token", ref("LoggedIn"),
                request=obj({"token": TEXT, "username": TEXT, "password": TEXT},
                            ("token", "username", "password")), also=("429",))},
            "/api/login": {"post": _op(
                "Log in (a new session cookie); `code` is the authenticator's code when the "
                "user has two-step login", ref("LoggedIn"),
                request=obj({**CREDENTIALS["properties"], "code": TEXT}, ("username",
                                                                           "password")),
                also=("429",))},
            "/api/logout": {"post": _op("End this session")},
            "/api/me": {"get": _op("Who is logged in, and the CSRF token", obj(
                {"user": ref("User"), "csrf": TEXT, "session": TEXT}))},
            "/api/sessions": {"get": _op("Your sessions", obj({
                "sessions": {"type": "array", "items": {"type": "object"}},
                "current": TEXT}))},
            "/api/sessions/{public}": {"delete": _op("End one of your sessions",
                                                     params=[_path("public")])},
            "/api/password": {"post": _op(
                "Change your password (ends your other sessions)", ref("LoggedIn"),
                request=obj({"current": TEXT, "new": TEXT}, ("current", "new")))},
            "/api/totp/offer": {"post": _op(
                "A new authenticator key (needs the password again)", obj(
                    {"secret": TEXT, "uri": TEXT, "qr": TEXT}),
                request=obj({"password": TEXT}, ("password",)))},
            "/api/totp/confirm": {"post": _op(
                "Switch two-step login on with a code; ten recovery codes, shown once",
                obj({"recovery_codes": NAMES}), request=obj({"code": TEXT}, ("code",)))},
            "/api/totp/off": {"post": _op("Switch two-step login off (needs the password)",
                                          request=obj({"password": TEXT}, ("password",)))},
            "/api/users": {
                "get": _op("Every user (admin)", obj({"users": {"type": "array",
                                                               "items": ref("User")}})),
                "post": _op("Add a user (admin)", obj({"user": ref("User")}), "201",
                            request=obj({"username": TEXT, "password": TEXT, "role": TEXT,
                                         "cameras": nullable(NAMES)},
                                        ("username", "password")))},
            "/api/users/{name}": {
                "put": _op("Change a user's role and cameras (admin)",
                           obj({"user": ref("User")}), params=[_path("name")],
                           request=obj({"role": TEXT, "cameras": nullable(NAMES)},
                                       ("role",))),
                "delete": _op("Remove a user (admin)", params=[_path("name")])},
            "/api/audit": {"get": _op("The audit log, newest first (admin)", obj(
                {"audit": {"type": "array", "items": {"type": "object"}}}))},
            "/api/cameras": {"get": _op("Every camera you may see, with its state", obj(
                {"cameras": {"type": "array", "items": ref("Camera")}, "time": NUMBER,
                 "index": {"type": "object"}}))},
            "/api/cameras/{name}/picture.jpg": {"get": _binary(
                "The camera's newest picture (shared by all viewers)", "image/jpeg",
                [camera])},
            "/api/arming": {"get": _op("Each group's arming", obj(
                {"groups": {"type": "array", "items": ref("Arming")}}))},
            "/api/arming/{group}": {"put": _op(
                "Arm, disarm, or follow a weekly schedule (admin); disarmed groups record but "
                "tell nobody", ref("Arming"), params=[_path("group")],
                request=obj({"mode": {"type": "string", "enum": ["armed", "disarmed",
                                                                 "schedule"]},
                             "schedule": {"type": "array", "items": {"type": "object"}}},
                            ("mode",)))},
            "/api/groups/{group}/record": {"post": _op(
                "Make every camera of the group record now (admin; signed with the group "
                "secret)", obj({"group": TEXT, "cameras": {"type": "object"}}),
                request=obj({"seconds": NUMBER}), params=[_path("group")],
                also=("409",))},
            "/api/cameras/{name}/settings": {"put": _op(
                "Change a camera's [motion] through its host (admin; signed with the group "
                "secret); the host's own answer", {"type": "object"},
                request=obj({"motion": {"type": "object"}}, ("motion",)),
                params=[camera], also=("409", "502"))},
            "/api/incidents": {"get": _op("Incidents, newest first", obj(
                {"incidents": {"type": "array", "items": ref("Incident")}}), params=[
                _query("camera", {"type": "string", "pattern": f"^{NAME.pattern}$"}),
                _query("group", {"type": "string", "pattern": f"^{NAME.pattern}$"}),
                _query("cause", {"type": "string", "enum": list(CAUSES)}),
                _query("day", {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}),
                _query("before", {"type": "number", "minimum": 0}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500})])},
            "/api/incidents/{incident}": {"get": _op(
                "One incident: every clip you may see, aligned by UTC start", ref("Replay"),
                params=[incident])},
            "/api/incidents/{incident}/export.zip": {"get": _binary(
                "The incident as a zip: clips, thumbnails, sidecars, manifest.json, "
                "SHA256SUMS and an offline player (index.html)", "application/zip",
                [incident])},
            "/api/incidents/{incident}/shares": {"post": _op(
                "A view-only link to this incident (`seconds` it lasts, at most 30 days; an "
                "optional PIN of 4 to 12 digits)", obj({"share": ref("Share"), "link": TEXT}),
                "201", request=obj({"seconds": NUMBER, "pin": TEXT}, ("seconds",)),
                params=[incident])},
            "/api/shares": {"get": _op("Your share links (an admin's: everyone's)", obj(
                {"shares": {"type": "array", "items": ref("Share")}}))},
            "/api/shares/{share_id}": {"delete": _op("Revoke a share link",
                                                     params=[_path("share_id")])},
            "/s/{link}/incident.json": {"get": _op(
                "What a share link shows: one incident (no session; 401 until its PIN is "
                "given, 410 once revoked or expired)", ref("Replay"), params=[_path("link")],
                also=("410",))},
            "/s/{link}/pin": {"post": _op("Give a share link's PIN (sets a cookie for it)",
                                          request=obj({"pin": TEXT}, ("pin",)),
                                          params=[_path("link")], also=("410", "429"))},
            "/media/{stem}.mp4": {"get": _binary("A clip", "video/mp4",
                                                 [_path("stem", f"^{STEM.pattern}$")])},
            "/media/{stem}.jpg": {"get": _binary("A clip's thumbnail", "image/jpeg",
                                                 [_path("stem", f"^{STEM.pattern}$")])},
        },
        "components": {"schemas": {
            "Error": obj({"error": TEXT}, ("error",)), "Ok": OK, "User": USER,
            "LoggedIn": LOGGED_IN, "Camera": CAMERA, "Incident": INCIDENT, "Clip": CLIP,
            "Replay": REPLAY, "Share": SHARE, "Arming": ARMING,
        }},
    }
