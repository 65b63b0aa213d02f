"""The settings the page may change: GET shows them with their help, PUT validates them with
the config schema, writes them into smartcam.conf keeping its comments, and puts [motion] into
effect at once."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from bottle import Bottle

from smartcam.config import SETTINGS
from smartcam.config.edit import set_values
from smartcam.errors import CameraUnavailable, ConfigError
from smartcam.host.api.base import fail, json_body, signed_payload
from smartcam.host.api.schemas import value_kind
from smartcam.system import settings as root_writer

# What the page may change, per section; [motion] goes live, the rest needs a camera restart.
EDITABLE = {
    "motion": tuple(SETTINGS["motion"]),
    "camera": ("pre_record", "post_record", "max_clip", "resolution", "fps", "bitrate", "live_fps"),
}
LIVE_SECTIONS = ("motion",)
log = logging.getLogger(__name__)
_settings_lock = threading.Lock()  # one change at a time, from the page, master or MQTT


def save(path: Path, changes: dict[str, dict[str, Any]]) -> None:
    """Into smartcam.conf: by ourselves, or, where only root may write it (the Pi's FAT boot
    partition), through the root writer's socket when it is there."""
    try:
        set_values(path, changes)
    except PermissionError:
        if not root_writer.SOCKET.exists():
            raise
        root_writer.save(changes)


def add_settings_routes(api: Bottle, host: Any) -> None:
    @api.get("/settings")
    def get_settings() -> dict[str, Any]:
        return settings_view(host)

    @api.put("/settings")
    def put_settings() -> dict[str, Any]:
        return apply_settings(host, settings_changes(json_body(required=True)))

    @api.put("/signed/settings")
    def put_signed_settings() -> dict[str, Any]:
        """The master's change, signed with the group secret: refused when forged, stale or
        replayed (and open without [web] password: the signature is the proof)."""
        data = signed_payload(host, "settings")
        if not isinstance(data.get("changes"), dict):
            fail(400, "a signed settings request carries changes: {section: {key: value}}")
        log.info("settings from %s: %s", data.get("by", "the master"), data["changes"])
        return apply_settings(host, settings_changes(data["changes"]))


def apply_settings(host: Any, changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Validate, save into smartcam.conf, and put [motion] into effect: the page's, the
    master's and MQTT's changes alike. Raises ApiError (4xx) when they cannot be saved."""
    with _settings_lock:
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
            save(host.cfg.path, changes)
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



def settings_view(host: Any) -> dict[str, Any]:
    values: dict[str, dict[str, Any]] = {}
    schema: dict[str, dict[str, Any]] = {}
    for section, keys in EDITABLE.items():
        current = getattr(host.cfg, section)
        values[section], schema[section] = {}, {}
        for key in keys:
            st = SETTINGS[section][key]
            values[section][key] = st.json_value(getattr(current, key))
            schema[section][key] = {
                "help": st.help, "allowed": st.type.allowed, "type": value_kind(st),
                "default": st.json_value(st.default()), "live": section in LIVE_SECTIONS,
            }
    path = host.cfg.path
    return {"values": values, "schema": schema, "file": str(path) if path else None}
