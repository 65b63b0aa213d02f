"""GET /api/v1/health: how this camera is doing, and what a person should fix.

It never blocks on the camera or the NAS: the host's watchdog self-check calls it.
"""

from __future__ import annotations

import glob
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
RECENT_TROUBLE = 86400.0  # dropped or rejected clips are shown for a day
STALLED = 60.0  # an uploader waiting this long in one NAS call: the NAS hangs (a hard mount)



def health(host: Any) -> dict[str, Any]:
    """Never blocks on the camera or the NAS: the watchdog's self-check calls this."""
    connected = bool(host.link.connected)
    status = host.link.last_status if connected else None
    try:
        storage = dict(host.uploader.health())
    except Exception as err:  # the uploader's bug must not hide the rest of the page
        log.exception("uploader.health() failed")
        storage, storage_error = None, str(err)
    else:
        storage_error = None
    temperature = cpu_temperature()
    problems = _problems(host, connected, status, storage, storage_error, temperature)
    cfg = host.cfg
    return {
        "ok": not any(p["level"] == "error" for p in problems),
        "problems": problems,
        "camera": cfg.camera.name,
        "group": cfg.camera.group,
        "title": cfg.web.title or cfg.camera.name,
        "version": host.version,
        "time": time.time(),
        "uptime": round(time.time() - host.started, 1),
        "camera_connected": connected,
        "camera_status": status,
        "storage": storage,
        "cpu_temperature": temperature,
        "retention": getattr(host.retention, "last", None),
        "config_error": host.config_error,
        "arming": getattr(host, "arming", None),
    }


def _problems(
    host: Any,
    connected: bool,
    status: dict[str, Any] | None,
    storage: dict[str, Any] | None,
    storage_error: str | None,
    temperature: float | None,
) -> list[dict[str, str]]:
    """What is wrong, each said as what to do about it, for the page's banners."""
    out: list[dict[str, str]] = []

    def say(level: str, message: str) -> None:
        out.append({"level": level, "message": message})

    if host.config_error:
        say("error", "smartcam.conf has problems, so the host runs on defaults until they are "
            f"fixed (edit the file, then reboot):\n{host.config_error}")
    if not connected:
        say("error", "The camera process is not answering. It restarts by itself; if this "
            "lasts, see `journalctl -u smartcam-camera`.")
    elif status and status.get("spool_error"):
        say("error", f"The camera cannot write to its spool: {status['spool_error']}")
    if connected and status and status.get("source_problem"):
        say("error", f"No pictures from the camera's source: {status['source_problem']}. It "
            "keeps trying; after [camera] stall_timeout the camera process restarts.")
    if storage_error:
        say("error", f"The uploader cannot report its state: {storage_error}")
    if storage:
        for key, what in (("dropped_recent", "dropped"), ("rejected_recent", "rejected")):
            recent = [d for d in storage.get(key) or () if isinstance(d, dict)
                      and _age(d.get("time")) < RECENT_TROUBLE]
            if recent:
                say(*_clip_trouble(what, recent, host))
        _nas_trouble(storage, host, say)
        used, budget = storage.get("spool_used_bytes"), storage.get("spool_budget_bytes")
        if isinstance(used, int | float) and isinstance(budget, int | float) and budget > 0:
            if used / budget > 0.8:
                say("warning", f"The spool is {used / budget:.0%} full; the oldest waiting "
                    "clip is dropped when it is full.")
    retention = getattr(host.retention, "last", None) or {}
    if retention.get("space_error"):
        say("error", f"Retention: {retention['space_error']}")
    if retention.get("skipped"):
        say("warning", f"Retention could not delete {retention['skipped']} entries on the NAS "
            f"and goes on without them (the first: {retention.get('skipped_first')}).")
    for level, message in host.cooperation.problems():
        say(level, message)
    rtsp = getattr(host, "rtsp", None)
    if rtsp is not None and rtsp.problem:
        say("error", f"RTSP out is not running: {rtsp.problem}")
    mqtt = getattr(host, "mqtt", None)
    if mqtt is not None and (why := mqtt.problem()):
        say("warning", f"MQTT (Home Assistant) is not connected: {why}. Check [mqtt] broker, "
            "username and password_file, and that the broker runs.")
    if temperature is not None and temperature >= 80:
        say("warning", f"The CPU is hot ({temperature:.0f} °C) and may slow down: "
            "give the Pi some air or a heatsink.")
    return out


def _nas_trouble(storage: dict[str, Any], host: Any, say: Any) -> None:
    """What is wrong with the NAS, told apart: down, full, over quota, read-only, refused."""
    nas = storage.get("nas_path") or host.cfg.storage.nas
    backlog = storage.get("backlog_clips") or 0
    kind = storage.get("nas_trouble")
    why = storage.get("last_error") or storage.get("nas_error") or f"{nas} is not mounted"
    waiting = f"{backlog} clip(s) wait in the spool"
    stalled = storage.get("stalled_seconds") or 0
    if stalled > STALLED:
        why = f"the uploader has waited {stalled:.0f} s for it"
    if storage.get("nas_mounted") is False or kind == "down" or stalled > STALLED:
        say("warning", f"The NAS is not answering ({why}): {waiting}. Check that it is on and "
            "on the network, and [storage] share.")
    elif kind == "full":
        say("error", f"The NAS is full ({why}): {waiting}. Retention deletes this camera's "
            "oldest clips to keep [storage] min_free; make room on the NAS for more.")
    elif kind == "over quota":
        say("error", f"This camera's user is over its quota on the NAS ({why}): {waiting}. "
            "Raise the quota, or lower [storage] retention_days.")
    elif kind == "read-only":
        say("error", f"The NAS share is read-only ({why}): {waiting}. Make it writable on "
            "the NAS.")
    elif kind == "refused" or storage.get("nas_writable") is False:
        say("warning", f"The NAS refuses this camera's writes ({why}): {waiting}. Check "
            "[storage] username and password and the share's permissions for that user.")


def _age(stamp: Any) -> float:
    """Seconds since an ISO 8601 UTC time (infinite when it is not one)."""
    try:
        then = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    return time.time() - then.timestamp()


def _clip_trouble(what: str, recent: list[dict[str, Any]], host: Any) -> tuple[str, str]:
    last = recent[-1]
    head = f"{len(recent)} clip(s) {what} in the last day, the last {last.get('clip')} " \
        f"at {last.get('time')}: {last.get('reason')}."
    if what == "dropped":
        return ("error", f"{head} They are lost. Bring the NAS back (power, network, [storage] "
                "share and credentials) so that the spool empties, or lower [camera] bitrate.")
    rejected = Path(host.cfg.storage.spool) / "rejected"
    return ("warning", f"{head} Kept in {rejected} for a look; they are not uploaded.")


def cpu_temperature(pattern: str = "/sys/class/thermal/thermal_zone*") -> float | None:
    """Degrees Celsius of the CPU's thermal zone (the first zone if none says cpu), or None."""
    zones = sorted(glob.glob(pattern))
    preferred = [z for z in zones if "cpu" in _read(Path(z, "type")).lower()]
    for zone in preferred + zones:
        text = _read(Path(zone, "temp"))
        try:
            return round(int(text) / 1000, 1)
        except ValueError:
            continue
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
