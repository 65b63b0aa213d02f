"""The schemas of the OpenAPI document (host/api/openapi.py): what each answer's JSON holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smartcam.clips.names import CAUSES, EVENT_PATTERN
from smartcam.config import SETTINGS
from smartcam.httpjson import (  # noqa: F401 - openapi.py imports them from here
    JSON,
    body,
    error,
    nullable,
    obj,
    ref,
)

EVENT_ID = f"^{EVENT_PATTERN}$"
NUMBER = {"type": "number"}
TEXT = {"type": "string"}
FLAG = {"type": "boolean"}


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
        "source_problem": nullable(TEXT),
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
        "nas_trouble": nullable({"type": "string", "enum": [
            "down", "full", "over quota", "read-only", "refused", None],
            "description": "what is wrong with the NAS, if anything"}),
        "nas_checked": nullable(TEXT),
        "spool_budget_bytes": {"type": "integer"},
        "spool_used_bytes": {"type": "integer",
                             "description": "recording and waiting clips (not kept copies)"},
        "kept_clips": {"type": "integer", "description": "uploaded clips whose spool copy is "
                       "kept until the NAS has surely written them (or the room is needed)"},
        "kept_bytes": {"type": "integer"},
        "reuploaded": {"type": "integer", "description": "clips the NAS lost after they were "
                       "uploaded (a power cut?), uploaded again from the kept copy"},
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
