"""Every camera the master knows, how each is doing, and one picture of each for all viewers.

Cameras are found the way hosts find each other (coop: mDNS browsing, the NAS discovery notes,
`[peers] static`), and their announced names are untrusted: the table keeps only names that
match the camera-name pattern, and the page shows every string as text.

A camera's health is asked every `every` seconds by one thread. Its picture is fetched only
while someone looks, and at most once per `picture_every` seconds whatever the number of
viewers: each browser reads the master's copy, so a Pi's cost does not grow with the audience.
Browsers never reach a camera: the master fetches, on the LAN, from the addresses it found.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smartcam.apiclient import CameraApi
from smartcam.coop.mdns import Announcement, Mdns, ipv4_addresses
from smartcam.coop.notes import NasDiscovery
from smartcam.coop.table import API, Peer, PeerTable, static_sightings
from smartcam.errors import SmartcamError
from smartcam.storage.mount import Nas

log = logging.getLogger(__name__)
HEALTH_EVERY = 10.0
PICTURE_EVERY = 2.0  # seconds a picture is served before a viewer's request fetches a new one
LIVE_EVERY = 0.25  # the same while someone watches the live view
TIMEOUT = 5.0
SKEW_WARN = 0.5  # seconds of clock difference that make the incident page warn


@dataclass
class Picture:
    jpeg: bytes = b""
    taken: float = 0.0  # wall clock
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Status:
    """What the master last heard from one camera."""

    online: bool = False
    checked: float = 0.0
    error: str | None = None
    health: dict[str, Any] = field(default_factory=dict)
    clock_offset: float | None = None  # camera's clock minus ours, seconds


class Fleet:
    def __init__(self, table: PeerTable, every: float = HEALTH_EVERY,
                 picture_every: float = PICTURE_EVERY, clock: Callable[[], float] = time.time):
        self.table, self.every, self.picture_every, self.clock = (
            table, every, picture_every, clock)
        self.status: dict[str, Status] = {}
        self.pictures: dict[str, Picture] = {}
        self.fetches = 0  # pictures asked of cameras, for the benchmark
        self.alive = time.monotonic()
        self._lock = threading.Lock()

    # -- who is there -----------------------------------------------------------------------

    def peer(self, name: str) -> Peer | None:
        return next((p for p in self.table.peers() if p.name == name), None)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.table.peers())

    def api(self, peer: Peer, timeout: float = TIMEOUT) -> CameraApi:
        host = peer.addresses[0]
        return CameraApi(f"http://{host}:{peer.port}" if ":" not in host
                         else f"http://[{host}]:{peer.port}", timeout=timeout)

    # -- health -----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.alive = time.monotonic()
            self.table.expire()
            for peer in self.table.peers():
                if stop.is_set():
                    break
                self.check(peer)
            stop.wait(self.every)

    def check(self, peer: Peer) -> Status:
        asked = self.clock()
        try:
            health = self.api(peer).health()
        except SmartcamError as err:
            old = self.status.get(peer.name, Status())
            status = Status(False, asked, str(err), old.health, old.clock_offset)
        else:
            answered = self.clock()
            offset = None
            if isinstance(health.get("time"), (int, float)):
                offset = round(float(health["time"]) - (asked + answered) / 2, 3)
            status = Status(True, answered, None, health, offset)
        with self._lock:
            self.status[peer.name] = status
        return status

    def overview(self, allowed: Callable[[str], bool]) -> list[dict[str, Any]]:
        """One entry per camera this user may see: what the grid's tiles show."""
        out = []
        for peer in sorted(self.table.peers(), key=lambda p: p.name):
            if not allowed(peer.name):
                continue
            status = self.status.get(peer.name, Status())
            h = status.health
            storage = h.get("storage") or {}
            out.append({
                "name": peer.name,
                "group": peer.group or h.get("group"),
                "title": h.get("title") or peer.name,
                "online": status.online,
                "checked": status.checked or None,
                "error": status.error,
                "version": h.get("version") or peer.version,
                "recording": (h.get("camera_status") or {}).get("state") == "recording",
                "problems": h.get("problems") or [],
                "temperature": h.get("cpu_temperature"),
                "clock_offset": status.clock_offset,
                "clock_warning": status.clock_offset is not None
                and abs(status.clock_offset) > SKEW_WARN,
                "dropped_recent": len(storage.get("dropped_recent") or []),
                "backlog_clips": storage.get("backlog_clips"),
                "nas_mounted": storage.get("nas_mounted"),
                "sources": sorted(peer.sources),
            })
        return out

    # -- pictures ---------------------------------------------------------------------------

    def picture(self, name: str, fresh_within: float | None = None) -> Picture | None:
        """The camera's newest picture, fetched if the copy is older than `fresh_within`
        (picture_every by default). One fetch at a time per camera: viewers asking meanwhile
        wait for it and share it."""
        peer = self.peer(name)
        if peer is None:
            return None
        with self._lock:
            pic = self.pictures.setdefault(name, Picture())
        fresh_within = self.picture_every if fresh_within is None else fresh_within
        with pic.lock:
            if self.clock() - pic.taken < fresh_within and (pic.jpeg or pic.error):
                return pic
            self.fetches += 1
            try:
                pic.jpeg, pic.error = self.api(peer).snapshot(), None
            except SmartcamError as err:
                pic.error = str(err)
            pic.taken = self.clock()
        return pic


class Discovery:
    """The master's sources of cameras, each on its own thread: it browses mDNS (announcing
    nothing) and reads the NAS notes (writing none)."""

    def __init__(self, table: PeerTable, nas: Nas, static: Any, interfaces: tuple[str, ...],
                 mdns: bool = True):
        self.table, self.nas, self.interfaces, self.use_mdns = table, nas, interfaces, mdns
        self.table.replace_source("static", static_sightings(static))
        self.alive = time.monotonic()

    def listening(self) -> Announcement | None:
        addresses = ipv4_addresses(self.interfaces)
        return Announcement("", "", 0, "", API, addresses) if addresses else None

    def run(self, stop: threading.Event) -> None:
        notes = NasDiscovery(self.nas, lambda: None, self.table)
        mdns = Mdns(self.table, self.listening) if self.use_mdns else None
        try:
            while not stop.is_set():
                self.alive = time.monotonic()
                try:
                    notes.tick()
                    if mdns is not None:
                        mdns.refresh()
                except Exception:  # a strange network or NAS must not end discovery
                    log.exception("camera discovery failed")
                stop.wait(2.0)
        finally:
            if mdns is not None:
                mdns.close()
