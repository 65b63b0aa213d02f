"""Arming per group: armed, disarmed, or armed inside weekly windows in the local time zone.

Disarming silences notifications only: the cameras record all the same (a recording nobody
was told about is still evidence). A group never set is armed. Kept in master.db.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from smartcam.master.accounts import AccountError
from smartcam.master.sqlite import Store

MODES = ("armed", "disarmed", "schedule")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
SCHEMA = """
CREATE TABLE IF NOT EXISTS arming (
    grp TEXT PRIMARY KEY, mode TEXT NOT NULL, schedule TEXT NOT NULL, changed REAL NOT NULL,
    by TEXT NOT NULL
);
"""


def check_schedule(windows: Any) -> list[dict[str, Any]]:
    """[{"days": ["mon", ...], "from": "HH:MM", "to": "HH:MM"}, ...]; `to` before `from` runs
    past midnight into the next day; `from` equal to `to` is the whole day."""
    if not isinstance(windows, list) or len(windows) > 50:
        raise AccountError("schedule: a list of at most 50 windows")
    out = []
    for w in windows:
        if not (isinstance(w, dict) and isinstance(w.get("days"), list)
                and all(d in DAYS for d in w["days"])
                and all(isinstance(w.get(k), str) and CLOCK.fullmatch(w[k])
                        for k in ("from", "to"))):
            raise AccountError('a window is {"days": ["mon", ...], "from": "HH:MM", '
                               '"to": "HH:MM"}')
        out.append({"days": sorted(set(w["days"]), key=DAYS.index), "from": w["from"],
                    "to": w["to"]})
    return out


def inside(windows: list[dict[str, Any]], local: datetime) -> bool:
    now = local.strftime("%H:%M")
    today, yesterday = DAYS[local.weekday()], DAYS[(local.weekday() - 1) % 7]
    for w in windows:
        if w["from"] == w["to"]:  # the whole day
            if today in w["days"]:
                return True
        elif w["from"] < w["to"]:
            if today in w["days"] and w["from"] <= now < w["to"]:
                return True
        elif (today in w["days"] and now >= w["from"]) or (yesterday in w["days"]
                                                              and now < w["to"]):
            return True
    return False


class Arming(Store):
    schema = SCHEMA

    def __init__(self, path: Path, timezone: str = ""):
        super().__init__(path)
        self.zone = ZoneInfo(timezone) if timezone else None  # None: the machine's own

    def set(self, group: str, mode: str, schedule: Any, by: str) -> dict[str, Any]:
        if mode not in MODES:
            raise AccountError(f"mode is one of {', '.join(MODES)}, not {mode!r}")
        windows = check_schedule(schedule if schedule is not None else [])
        if mode == "schedule" and not windows:
            raise AccountError("a schedule needs at least one window")
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO arming VALUES (?, ?, ?, ?, ?)",
                       (group, mode, json.dumps(windows), time.time(), by))
        return self.state(group)

    def state(self, group: str, now: float | None = None) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT mode, schedule, changed, by FROM arming WHERE grp = ?",
                                   (group,)).fetchone()
        mode, windows, changed, by = row if row else ("armed", "[]", None, None)
        windows = json.loads(windows)
        local = datetime.fromtimestamp(now if now is not None else time.time(), self.zone)
        armed = mode == "armed" or (mode == "schedule" and inside(windows, local))
        return {"group": group, "mode": mode, "schedule": windows, "armed": armed,
                "changed": changed, "by": by}
