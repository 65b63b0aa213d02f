"""The OpenAPI 3.0 document of /api/v1/ (served at /api/v1/openapi.json, fuzzed by the tests).

Written by hand beside api.py: when a route changes, this changes with it, and the fuzz test
(tests/host/test_fuzz.py) fails on any answer that does not match it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smartcam.camera.clipinfo import CAUSES
from smartcam.config import SETTINGS

JSON = "application/json"
EVENT_ID = "^[0-9a-f]{8,32}$"
NUMBER = {"type": "number"}
TEXT = {"type": "string"}
FLAG = {"type": "boolean"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    return out


def body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return body(ref("Error"), description)


CAMERA_DOWN = error("The camera process is not answering (starting or restarting); retry.")
BAD_REQUEST = error("The request is malformed; `error` says what is allowed.")
NOT_FOUND = error("No such event, or its file is gone.")

STATUS = obj(
    {
        "camera": TEXT,
        "group": TEXT,
        "version": TEXT,
        "state": {"type": "string", "enum": ["idle", "recording"]},
        "clip": nullable(obj({"event": TEXT, "cause": TEXT, "incident": TEXT})),
        "motion": FLAG,
        "score": NUMBER,
        "frames": {"type": "integer"},
        "uptime": NUMBER,
        "preroll_seconds": NUMBER,
        "preroll_bytes": {"type": "integer"},
        "live": FLAG,
        "spool_error": nullable(TEXT),
    },
    ("camera", "state", "motion", "score"),
)

EVENT = obj(
    {
        "event": {"type": "string", "pattern": EVENT_ID},
        "camera": TEXT,
        "group": TEXT,
        "incident": TEXT,
        "incidents": {"type": "array", "items": TEXT,
                      "description": "its incident, then group triggers it also answered"},
        "cause": {"type": "string", "enum": list(CAUSES)},
        "origin": TEXT,
        "part": {"type": "integer"},
        "trigger_time": TEXT,
        "start": {"type": "string", "description": "UTC, ISO 8601"},
        "end": TEXT,
        "pre_record": NUMBER,
        "duration": NUMBER,
        "frames": {"type": "integer"},
        "resolution": {"type": "array", "items": {"type": "integer"}},
        "fps": NUMBER,
        "size": {"type": "integer"},
        "sha256": TEXT,
        "video": TEXT,
        "thumbnail": TEXT,
        "motion_peak": NUMBER,
        "heatmap": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        "interrupted": FLAG,
        "stored": {"type": "string", "enum": ["nas", "spool"]},
        "urls": obj({"clip": TEXT, "thumbnail": TEXT}, ("clip", "thumbnail")),
    },
    ("event", "stored", "urls"),
)

PROBLEM = obj(
    {"level": {"type": "string", "enum": ["error", "warning"]}, "message": TEXT},
    ("level", "message"),
)

CLIP_TROUBLE = obj({"clip": TEXT, "time": TEXT, "bytes": {"type": "integer"}, "reason": TEXT})
STORAGE = obj(
    {
        "nas_path": TEXT,
        "nas_type": TEXT,
        "nas_fstype": nullable(TEXT),
        "nas_mounted": FLAG,
        "nas_writable": FLAG,
        "nas_free_bytes": nullable({"type": "integer"}),
        "nas_total_bytes": nullable({"type": "integer"}),
        "nas_error": nullable(TEXT),
        "nas_checked": nullable(TEXT),
        "spool_budget_bytes": {"type": "integer"},
        "spool_used_bytes": {"type": "integer"},
        "backlog_clips": {"type": "integer"},
        "backlog_bytes": {"type": "integer"},
        "uploading": nullable(TEXT),
        "uploaded": {"type": "integer"},
        "uploaded_bytes": {"type": "integer"},
        "last_upload": nullable({"type": "string", "description": "UTC, ISO 8601"}),
        "last_error": nullable(TEXT),
        "failures": {"type": "integer"},
        "dropped": {"type": "integer", "description": "clips dropped since the host started"},
        "dropped_recent": {"type": "array", "items": CLIP_TROUBLE},
        "rejected": {"type": "integer"},
        "rejected_recent": {"type": "array", "items": CLIP_TROUBLE},
    },
    ("nas_mounted", "backlog_clips", "spool_used_bytes", "spool_budget_bytes"),
)

HEALTH = obj(
    {
        "ok": {"type": "boolean", "description": "no problem of level error"},
        "problems": {"type": "array", "items": ref("Problem")},
        "camera": TEXT,
        "group": TEXT,
        "title": TEXT,
        "version": TEXT,
        "time": NUMBER,
        "uptime": {"type": "number", "description": "seconds since the host started"},
        "camera_connected": FLAG,
        "camera_status": nullable(ref("Status")),
        "storage": nullable(ref("Storage")),
        "cpu_temperature": nullable({"type": "number", "description": "degrees Celsius"}),
        "retention": nullable({"type": "object"}),
        "config_error": nullable(TEXT),
    },
    ("ok", "problems", "camera", "version", "uptime", "camera_connected", "config_error"),
)

SETTING_VALUE = {"oneOf": [TEXT, NUMBER, FLAG]}
SECTION_VALUES = {"type": "object", "additionalProperties": SETTING_VALUE}
SETTING_INFO = obj(
    {
        "help": TEXT,
        "allowed": TEXT,
        "type": {"type": "string", "enum": ["boolean", "integer", "number", "text"]},
        "default": SETTING_VALUE,
        "live": FLAG,
    },
    ("help", "allowed", "type", "default", "live"),
)
SETTINGS_VIEW = {
    "values": obj({"motion": SECTION_VALUES, "camera": SECTION_VALUES}, ("motion", "camera")),
    "schema": obj(
        {
            "motion": {"type": "object", "additionalProperties": SETTING_INFO},
            "camera": {"type": "object", "additionalProperties": SETTING_INFO},
        },
        ("motion", "camera"),
    ),
    "file": nullable({"type": "string", "description": "the smartcam.conf changes go to"}),
}


def settings_change(editable: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """The PUT /settings body: the keys the page may change, each as JSON or as file text.

    A string is parsed as if written in smartcam.conf ("4M", "yes"); the config schema's ranges
    and cross-key rules are richer than JSON Schema, and a 400 answer names what is allowed.
    """
    kinds = {"boolean": [FLAG, TEXT], "integer": [{"type": "integer"}, TEXT],
             "number": [NUMBER, TEXT], "text": [TEXT]}
    sections = {}
    for section, keys in editable.items():
        properties = {}
        for key in keys:
            st = SETTINGS[section][key]
            alternatives = kinds[value_kind(st)]
            one = alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}
            properties[key] = {**one, "description": f"{st.help} Expected {st.type.allowed}."}
        sections[section] = {"type": "object", "properties": properties,
                             "additionalProperties": False}
    sections["motion"]["description"] = "[motion]: in effect at once"
    if "camera" in sections:
        sections["camera"]["description"] = "[camera]: in effect when the camera restarts"
    return {"type": "object", "properties": sections, "additionalProperties": False}


def value_kind(st: Any) -> str:
    """How a setting's value travels in JSON: boolean, integer, number, or text."""
    default = st.default()
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    return "number" if isinstance(default, float) else "text"


EVENT_PATH = {
    "name": "event",
    "in": "path",
    "required": True,
    "description": "event id",
    "schema": {"type": "string", "pattern": EVENT_ID},
}


def _file_operation(summary: str, mimetype: str, ranges: bool) -> dict[str, Any]:
    binary = {"type": "string", "format": "binary"}
    responses: dict[str, Any] = {
        "200": {
            "description": summary + ". With header X-Accel-Base (set by nginx) and the file "
            "on the NAS: an empty body and X-Accel-Redirect for nginx to serve it.",
            "content": {mimetype: {"schema": binary}},
        },
        "304": {"description": "Not modified since If-Modified-Since / If-None-Match."},
        "400": BAD_REQUEST,
        "404": NOT_FOUND,
    }
    parameters: list[dict[str, Any]] = [EVENT_PATH]
    if ranges:
        parameters.append({
            "name": "Range",
            "in": "header",
            "required": False,
            "description": "bytes=START-END, for seeking",
            "schema": {"type": "string", "pattern": "^bytes=[0-9]*-[0-9]*$"},
        })
        responses["206"] = {
            "description": "Part of the file (Content-Range says which).",
            "content": {mimetype: {"schema": binary}},
        }
        responses["416"] = error("The range lies outside the file.")
    return {"summary": summary, "parameters": parameters, "responses": responses}


def document(version: str, editable: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """The document; `editable` is what PUT /settings takes, by section."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "smartcam camera API",
            "version": version,
            "description": "One camera's REST API. Every error is JSON {\"error\": \"...\"}.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/health": {"get": {
                "summary": "Health of the camera, storage and host (never waits on either).",
                "responses": {"200": body(ref("Health"), "The host's health.")},
            }},
            "/status": {"get": {
                "summary": "The camera's live status and its motion level per second.",
                "responses": {
                    "200": body(obj({
                        "status": ref("Status"),
                        "levels": {
                            "type": "array",
                            "description": "[unix time, score] per second, last 10 minutes",
                            "items": {"type": "array", "items": NUMBER,
                                      "minItems": 2, "maxItems": 2},
                        },
                        "threshold": {"type": "number", "description": "[motion] min_area"},
                    }, ("status", "levels", "threshold")), "The camera's status."),
                    "503": CAMERA_DOWN,
                },
            }},
            "/events": {"get": {
                "summary": "This camera's clips, newest first, a page at a time.",
                "parameters": [
                    _query("day", "only this UTC day", {"type": "string", "format": "date"}),
                    _query("cause", "only this cause", {"type": "string", "enum": list(CAUSES)}),
                    _query("limit", "clips per page",
                           {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}),
                    _query("cursor", "`next` of the previous page",
                           {"type": "string", "pattern": r"^\d{8}T\d{6}Z_[0-9a-f]{8,32}$"}),
                    _query("offset", "clips to skip", {"type": "integer", "minimum": 0,
                                                       "maximum": 9999999}),
                ],
                "responses": {
                    "200": body(obj({
                        "events": {"type": "array", "items": ref("Event")},
                        "next": nullable({"type": "string", "description": "cursor of the "
                                          "next page; null on the last"}),
                    }, ("events", "next")), "One page of clips."),
                    "400": BAD_REQUEST,
                },
            }},
            "/events/{event}": {"get": {
                "summary": "One clip's sidecar (with its heat map) and where its files are.",
                "parameters": [EVENT_PATH],
                "responses": {"200": body(ref("Event"), "The clip."),
                              "400": BAD_REQUEST, "404": NOT_FOUND},
            }},
            "/incidents/{incident}": {"get": {
                "summary": "This camera's clips of one incident (a group trigger), newest first; "
                "empty when it recorded none.",
                "parameters": [{**EVENT_PATH, "name": "incident", "description": "incident id"}],
                "responses": {
                    "200": body(obj({
                        "incident": TEXT,
                        "events": {"type": "array", "items": ref("Event")},
                    }, ("incident", "events")), "The clips."),
                    "400": BAD_REQUEST,
                },
            }},
            "/events/{event}/clip": {"get": _file_operation("The clip (MP4)", "video/mp4", True)},
            "/events/{event}/thumbnail": {
                "get": _file_operation("The clip's thumbnail (JPEG)", "image/jpeg", False)
            },
            "/record": {"post": {
                "summary": "Record now (cause manual), with the camera's own pre-roll.",
                "requestBody": {"required": False, "content": {JSON: {"schema": {
                    "type": "object",
                    "properties": {"seconds": {
                        "type": "number", "minimum": 1, "maximum": 600,
                        "description": "record at least this long (default: post_record)",
                    }},
                    "additionalProperties": False,
                }}}},
                "responses": {
                    "200": body(obj({"event": TEXT, "incident": TEXT, "cause": TEXT},
                                    ("event", "incident", "cause")),
                                "Recording; the clip is listed once it is finished."),
                    "400": BAD_REQUEST,
                    "409": error("The camera cannot record now (its spool failed)."),
                    "413": error("The body is too large."),
                    "503": CAMERA_DOWN,
                },
            }},
            "/trigger": {"post": {
                "summary": "A peer's group trigger: record (with our own pre-roll) until `until`.",
                "description": "Signed with HMAC-SHA256 over the body with the group secret; "
                "bad signatures, clock skew over 30 s and replayed nonces are refused. "
                "404 when cooperation is off on this camera.",
                "parameters": [{
                    "name": "X-Smartcam-Signature", "in": "header", "required": False,
                    "description": "hex HMAC-SHA256 of the body", "schema": TEXT,
                }],
                "requestBody": {"required": True, "content": {JSON: {"schema": obj({
                    "incident": TEXT, "origin": TEXT, "group": TEXT, "until": NUMBER,
                    "sent_at": NUMBER, "nonce": TEXT,
                }, ("incident", "origin", "group", "until", "sent_at", "nonce"))}}},
                "responses": {
                    "200": body(obj({"accepted": FLAG, "event": nullable(TEXT),
                                     "incident": nullable(TEXT), "until": NUMBER},
                                    ("accepted",)), "Recording."),
                        "400": BAD_REQUEST,
                    "401": error("Missing or bad signature."),
                    "403": error("Another group, clock skew, or our own trigger."),
                    "404": error("Cooperation is off on this camera."),
                    "409": error("A replayed nonce, or the camera cannot record now."),
                    "413": error("The body is too large."),
                    "429": error("Too many triggers from this origin."),
                    "503": CAMERA_DOWN,
                },
            }},
            "/peers": {"get": {
                "summary": "The cameras this one found (mDNS, the NAS discovery files, static "
                "peers): name, addresses, port, group, which sources saw it, last seen.",
                "responses": {"200": body(obj({
                    "enabled": FLAG,
                    "self": nullable({"type": "object"}),
                    "peers": {"type": "array", "items": {"type": "object"}},
                    "triggers": nullable({"type": "object"}),
                }, ("enabled", "peers")), "The peer table.")},
            }},
            "/settings": {
                "get": {
                    "summary": "The settings the page may change, with their help and limits.",
                    "responses": {"200": body(obj(SETTINGS_VIEW, ("values", "schema", "file")),
                                              "The settings.")},
                },
                "put": {
                    "summary": "Change settings: validated, saved into smartcam.conf keeping its "
                    "comments, [motion] applied to the running camera at once.",
                    "requestBody": {"required": True,
                                    "content": {JSON: {"schema": settings_change(editable)}}},
                    "responses": {
                        "200": body(obj({
                            **SETTINGS_VIEW,
                            "saved": FLAG,
                            "applied": {"type": "array", "items": TEXT},
                            "restart": {"type": "array", "items": TEXT,
                                        "description": "section.key in effect after a restart"},
                            "message": TEXT,
                        }, ("values", "saved", "applied", "restart", "message")), "Saved."),
                        "400": error("A value is not allowed: `error` names the file, section, "
                                     "key, value and what is allowed."),
                        "409": error("smartcam.conf cannot be written (it has problems, or "
                                     "there is none)."),
                        "413": error("The body is too large."),
                    },
                },
            },
            "/openapi.json": {"get": {
                "summary": "This document.",
                "responses": {"200": body({"type": "object"}, "OpenAPI 3.0")},
            }},
        },
        "components": {"schemas": {
            "Error": obj({"error": TEXT}, ("error",)),
            "Problem": PROBLEM,
            "Status": STATUS,
            "Event": EVENT,
            "Storage": STORAGE,
            "Health": HEALTH,
        }},
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}
