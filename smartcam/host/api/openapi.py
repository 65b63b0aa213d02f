"""The OpenAPI 3.0 document of /api/v1/ (served at /api/v1/openapi.json, fuzzed by the tests).

Written by hand beside the routes (host/api/): when a route changes, this changes with it, and
the fuzz test (tests/host/test_fuzz.py) fails on any answer that does not match it. The
answers' schemas are in schemas.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smartcam.clips.names import CAUSES, EVENT_PATTERN, STAMP_PATTERN
from smartcam.host.api.schemas import (
    BAD_REQUEST,
    CAMERA_DOWN,
    EVENT,
    EVENT_ID,
    FLAG,
    HEALTH,
    JSON,
    NOT_FOUND,
    NUMBER,
    PROBLEM,
    SETTINGS_VIEW,
    STATUS,
    STORAGE,
    TEXT,
    body,
    error,
    nullable,
    obj,
    ref,
    settings_change,
)

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
            "/live": {"get": {
                "summary": "Where the page finds the live view: the H.264 WebSocket (fMP4 for "
                "Media Source Extensions) and the MJPEG fallback.",
                "responses": {"200": body(obj({
                    "websocket": obj({
                        "path": TEXT,
                        "port": nullable({"type": "integer", "description": "null behind "
                                          "nginx (the page's own port), else the server's"}),
                    }, ("path", "port")),
                    "mjpeg": TEXT,
                }, ("websocket", "mjpeg")), "The live view's addresses.")},
            }},
            "/events": {"get": {
                "summary": "This camera's clips, newest first, a page at a time.",
                "parameters": [
                    _query("day", "only this UTC day", {"type": "string", "format": "date"}),
                    _query("cause", "only this cause", {"type": "string", "enum": list(CAUSES)}),
                    _query("limit", "clips per page",
                           {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}),
                    _query("cursor", "`next` of the previous page",
                           {"type": "string", "pattern": f"^{STAMP_PATTERN}_{EVENT_PATTERN}$"}),
                    _query("offset", "clips to skip", {"type": "integer", "minimum": 0,
                                                       "maximum": 9999999}),
                ],
                "responses": {
                    "200": body(obj({
                        "events": {"type": "array", "items": ref("Event")},
                        "next": nullable({"type": "string", "description": "cursor of the "
                                          "next page; null on the last"}),
                        "listed_at": nullable({"type": "string", "description": "when the "
                                               "clips were last looked at (UTC): the list is "
                                               "as of then; null before the first look"}),
                    }, ("events", "next", "listed_at")), "One page of clips."),
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
                    "409": error("A replayed nonce (the body says \"replayed\": true: a copy "
                                 "of a trigger already taken, over MQTT say), or the camera "
                                 "cannot record now."),
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
            "/signed/settings": {"put": {
                "summary": "The master's settings change: `{changes, sent_at, nonce, by}` "
                "signed with the group secret in X-Smartcam-Signature (HMAC-SHA256 of the "
                "body); open without [web] password, refused when forged, stale or replayed.",
                "requestBody": {"required": True, "content": {JSON: {"schema": obj({
                    "changes": settings_change(editable), "sent_at": NUMBER, "nonce": TEXT,
                    "by": TEXT}, ("changes", "sent_at", "nonce"))}}},
                "responses": {
                    "200": body({"type": "object"}, "Saved, as PUT /settings answers."),
                    "400": BAD_REQUEST,
                    "401": error("No signature, or another key's."),
                    "403": error("sent_at too far from our clock, or no group secret here."),
                    "409": error("Replayed (its nonce was used), or smartcam.conf cannot be "
                                 "written."),
                    "413": error("The body is too large."),
                    "429": error("Too many nonces to remember; later."),
                },
            }},
            "/signed/arming": {"put": {
                "summary": "The master says whether this camera's group is armed: `{armed, "
                "group, mode, by, sent_at, nonce}` signed like /signed/settings. Shown on the "
                "page and in health; the camera records the same either way.",
                "requestBody": {"required": True, "content": {JSON: {"schema": obj({
                    "armed": FLAG, "group": TEXT, "mode": TEXT, "by": TEXT,
                    "sent_at": NUMBER, "nonce": TEXT}, ("armed", "group", "sent_at",
                                                        "nonce"))}}},
                "responses": {
                    "200": body(obj({"armed": FLAG, "mode": TEXT, "by": TEXT, "at": NUMBER}),
                                "Taken."),
                    "400": BAD_REQUEST,
                    "401": error("No signature, or another key's."),
                    "403": error("sent_at too far from our clock, or no group secret here."),
                    "409": error("Replayed (its nonce was used)."),
                    "413": error("The body is too large."),
                    "429": error("Too many nonces to remember; later."),
                },
            }},
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
