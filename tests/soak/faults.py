"""The fault script: each fault breaks one thing the way the field does, waits, mends it, and
records when cooperation could not have worked (a window) so the reckoning can excuse it.

Faults that cut a camera off from the group (its process killed, its address changing) make a
window on that camera; faults the design must ride through (the NAS going away, a squeezed
spool, a clock stepped within the group's tolerance, a peer that answers garbage) make windows
that excuse nothing.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tests.net.site import ADDRESS, Site, wait_for
from tests.soak.stage import SPOOL_SIZE, Stage

OUTAGE = (8.0, 20.0)  # seconds the NAS stays away
RESTART = (1.0, 4.0)  # seconds until a killed process is started again, as systemd would
SQUEEZE = (10.0, 20.0)
CLOCK_AHEAD, CLOCK_BEHIND = 20, -10  # within the group's 30 s tolerance
CLOCK_HOLD = (8.0, 15.0)
CLOCK_CLIP = 45.0  # at most this much longer, until a clip begins under the stepped clock
BEFORE, AFTER = 2.0, 5.0  # a trigger this close to a cut-off window may fall in it


@dataclass
class Window:
    kind: str
    camera: str | None  # the camera it cuts off from the group; "*" everyone; None nobody
    start: float  # wall clock
    end: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def excuses(self, cameras: tuple[str, ...], t: float) -> bool:
        """Whether a trigger at t between these cameras could be missed because of this."""
        if self.camera != "*" and self.camera not in cameras:
            return False
        return self.start - BEFORE <= t <= (self.end or time.time()) + AFTER


class Faults:
    def __init__(self, site: Site, stage: Stage, rng: random.Random,
                 say: Callable[[str], None] = lambda line: None):
        self.site, self.stage, self.rng, self.say = site, stage, rng, say
        self.windows: list[Window] = []

    def round(self) -> list[Callable[[], None]]:
        """Every kind once, in an order that touches each camera."""
        return [self.nas_outage, lambda: self.kill_camera("b"), lambda: self.squeeze("a"),
                lambda: self.kill_host("c"), lambda: self.clock_steps("c"),
                lambda: self.renumber("b"), lambda: self.kill_camera("c"),
                lambda: self.kill_host("b")]

    def _open(self, kind: str, cuts_off: str | None, **detail: Any) -> Window:
        window = Window(kind, cuts_off, time.time(), detail=detail)
        self.windows.append(window)
        self.say(f"{kind} {cuts_off or ''} {detail or ''}".strip())
        return window

    def _pause(self, span: tuple[float, float]) -> None:
        time.sleep(self.rng.uniform(*span))

    # -- the NAS ------------------------------------------------------------------------------

    def nas_outage(self) -> None:
        """Unmounted, when possible while a clip waits to be uploaded (or is being)."""
        waiting = wait_until(lambda: any(
            any(n.endswith(".json") for n in os.listdir(self.stage.spool(x) / "outbox"))
            for x in self.site.scenes), timeout=20)
        window = self._open("nas_outage", None, mid_upload=bool(waiting))
        self.stage.unmount_nas()
        self._pause(OUTAGE)
        self.stage.mount_nas()
        window.end = time.time()

    # -- processes ----------------------------------------------------------------------------

    def recording(self, x: str) -> set[str]:
        """The clips cam-x is recording now."""
        return {n for n in os.listdir(self.stage.spool(x) / "recording") if n.endswith(".meta")}

    def kill_camera(self, x: str) -> None:
        """SIGKILL, if it comes soon while recording (the clip must come back interrupted)."""
        recording = wait_until(lambda: self.recording(x), timeout=25)
        if recording:
            time.sleep(self.rng.uniform(0.3, 1.0))  # the clip goes on >= post_record (2 s)
        window = self._open("kill_camera", f"cam-{x}", mid_clip=bool(recording))
        kill(self.site.cameras[x])
        self._pause(RESTART)
        self.site.start_camera(x)
        wait_for(lambda: self.site.http(x, "GET", "/snapshot.jpg")[0] == 200,
                 f"cam-{x}'s host shows pictures again", 40, self.site)
        window.end = time.time()

    def kill_host(self, x: str) -> None:
        window = self._open("kill_host", f"cam-{x}")
        kill(self.site.hosts[x])
        self._pause(RESTART)
        self.site.start_host(x)
        self.site.wait_healthy(x)
        self.wait_known(x)
        window.end = time.time()

    def wait_known(self, x: str) -> None:
        """Until x knows every other camera where it is, and they know x where it is."""
        def known(viewer: str, camera: str) -> bool:
            status, body = self.site.http(viewer, "GET", "/api/v1/peers")
            rows = {row["name"]: row for row in body["peers"]} if status == 200 else {}
            return rows.get(f"cam-{camera}", {}).get("addresses", [""])[0] \
                == self.site.address[camera]

        others = [y for y in self.site.scenes if y != x]
        wait_for(lambda: all(known(x, y) and known(y, x) for y in others),
                 f"cam-{x} and the others find each other again", 60, self.site)

    # -- the network and the clock ------------------------------------------------------------

    def renumber(self, x: str) -> None:
        """A new address, as from DHCP; the group must follow it."""
        new = ADDRESS[x] if self.site.address[x] != ADDRESS[x] else f"192.0.2.{10 + ord(x) - 96}"
        window = self._open("renumber", f"cam-{x}", address=new)
        self.site.renumber(x, new)
        self.wait_known(x)
        window.end = time.time()

    def clock_steps(self, x: str) -> None:
        """The clock stepped forward, then back behind the truth, then right again. Each step
        holds until the camera has begun a clip under it (the group's walkers make it record
        every 20 s or so), so its clips' names show the step."""
        window = self._open("clock_steps", None, camera=f"cam-{x}",
                            steps=[CLOCK_AHEAD, CLOCK_BEHIND, 0])
        for offset in (CLOCK_AHEAD, CLOCK_BEHIND):
            before = self.recording(x)
            self.stage.set_clock(x, offset)
            self._pause(CLOCK_HOLD)
            wait_until(lambda seen=before: bool(self.recording(x) - seen), timeout=CLOCK_CLIP)
        self.stage.set_clock(x, 0)
        window.end = time.time()

    def squeeze(self, x: str) -> None:
        """The spool's filesystem shrinks to a little more than it holds (RAM is short)."""
        window = self._open("squeeze_spool", None, camera=f"cam-{x}")
        self.stage.resize_spool(x, 0)
        window.detail["free_kib"] = self.stage.spool_free(x) >> 10
        self._pause(SQUEEZE)
        self.stage.resize_spool(x, SPOOL_SIZE)
        window.end = time.time()

    def as_list(self) -> list[dict[str, Any]]:
        return [{**asdict(w), "seconds": round(w.end - w.start, 1)} for w in self.windows]


def kill(proc: Any) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.1) -> bool:
    """Whether check() came true within timeout seconds (not an error if it did not)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except OSError:
            pass
        time.sleep(every)
    return False
