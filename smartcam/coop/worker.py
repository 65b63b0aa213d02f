"""The host's cooperation worker: wires the peer table, mDNS, the NAS notes and the triggers.

The only module of coop/ that imports its siblings (table, mdns, notes, wire, receiver,
sender); they know nothing of each other beyond the table and the wire format.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from smartcam import __version__
from smartcam.config import Config
from smartcam.coop.mdns import Announcement, Mdns, ipv4_addresses
from smartcam.coop.notes import NasDiscovery, Record
from smartcam.coop.receiver import Receiver
from smartcam.coop.sender import Fanout, MotionLease
from smartcam.coop.table import API, STATIC_PORT, PeerTable, static_sightings
from smartcam.coop.wire import TriggerMessage, sign
from smartcam.errors import SmartcamError
from smartcam.storage.mount import Nas
from smartcam.timing import Timing

log = logging.getLogger(__name__)
CLOCK_WARNING = 5.0  # seconds between two cameras' clocks worth telling the user


def announced_port(cfg: Any) -> int:
    """The port peers reach our API on: [peers] port, else nginx's 80 or the listen port."""
    if cfg.peers.port:
        return int(cfg.peers.port)
    listen = cfg.web.listen
    loopback = listen.host in ("127.0.0.1", "localhost", "::1") or listen.host.startswith("127.")
    return STATIC_PORT if loopback else int(listen.port or 8080)


class Cooperation:
    """The host's cooperation worker: peer table, mDNS, NAS notes, triggers out and in.

    Wiring: `Host.__init__` makes `self.cooperation = Cooperation(cfg, link)`; `serve()` starts
    it with `host.start_worker("peers", host.cooperation)`; the API answers
    `POST /api/v1/trigger` with `cooperation.receiver.handle_trigger(body, headers)` and
    `GET /api/v1/peers` with `cooperation.as_json()`. With `[peers] enabled = false` it only
    waits, and the trigger route answers 404.
    """

    def __init__(
        self,
        cfg: Config,
        link: Any,  # the camera: .request(cmd, **fields) and .listeners (host.CameraLink)
        nas: Nas | None = None,  # where the discovery notes are; default: cfg's NAS
        timing: Timing | None = None,
        clock: Callable[[], float] = time.time,
    ):
        cam, peers = cfg.camera, cfg.peers
        self.cfg, self.link, self.timing = cfg, link, timing or Timing()
        self.enabled = bool(peers.enabled)
        self.name, self.group, self.version = cam.name, cam.group, __version__
        self.port = announced_port(cfg)
        self.interfaces = tuple(peers.interfaces)
        self.table = PeerTable(cam.name, clock, ours=self.addresses)
        self.receiver = Receiver(cam.name, cam.group, peers.secret, link,
                                 enabled=self.enabled, clock=clock)
        self.fanout = Fanout(peers.secret)
        self.lease = MotionLease(cam.name, cam.group, cam.post_record, self._send,
                                 self._incident, clock)
        self.nas = nas or Nas(cfg)
        # More ways our triggers leave (the host's MQTT link: sites one LAN does not reach),
        # each given the signed body and its signature; they never deliver to us.
        self.transports: list[Callable[[bytes, str], None]] = []
        self.alive = time.monotonic()
        self._wake = threading.Event()
        self.table.replace_source("static", static_sightings(peers.static, clock))

    # -- who we are -------------------------------------------------------------------------------

    def addresses(self) -> tuple[str, ...]:
        return ipv4_addresses(self.interfaces)

    def announcement(self) -> Announcement:
        return Announcement(self.name, self.group, self.port, self.version, API, self.addresses())

    def note(self) -> Record | None:
        addresses = self.addresses()
        if not addresses:
            return None
        return Record(self.name, self.group, socket.gethostname(), addresses, self.port,
                      self.version, time.time())

    # -- running ----------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        if not self.enabled:
            log.info("cooperation is off ([peers] enabled = false)")
            while not stop.wait(1.0):
                self.alive = time.monotonic()
            return
        t = self.timing
        halt = threading.Event()
        mdns = Mdns(self.table, self.announcement)
        discovery = NasDiscovery(self.nas, self.note, self.table, write_every=t.discovery_write,
                                 read_every=t.discovery_read, stale=t.discovery_stale)
        helpers = [
            threading.Thread(target=self._mdns_loop, args=(mdns, halt), name="mdns", daemon=True),
            threading.Thread(target=discovery.run, args=(halt, t.discovery_tick),
                             name="discovery", daemon=True),
        ]
        self.link.listeners.append(self._on_event)
        for thread in helpers:
            thread.start()
        log.info("cooperating as %s in group %s (API port %d)", self.name, self.group, self.port)
        due = 0.5
        try:
            while not stop.is_set():
                self.alive = time.monotonic()
                self._wake.wait(min(0.5, due))
                self._wake.clear()
                try:
                    due = self.lease.step()
                    self.table.expire()
                except Exception:  # a bug here must not end triggers for good
                    log.exception("cooperation step failed")
                    due = 0.5
        finally:
            self.link.listeners.remove(self._on_event)
            halt.set()
            for thread in helpers:
                thread.join(timeout=10)
            self.fanout.close()

    def _mdns_loop(self, mdns: Mdns, halt: threading.Event) -> None:
        try:
            while not halt.is_set():
                try:
                    mdns.refresh()
                except Exception:  # no address yet, a socket error: try again next time
                    log.exception("mDNS refresh failed")
                halt.wait(self.timing.mdns_refresh)
        finally:
            mdns.close()

    def _on_event(self, event: dict[str, Any]) -> None:
        if self.lease.on_event(event):
            self._wake.set()

    def _incident(self) -> str | None:
        """The incident of the clip our camera is recording now (it started it on motion)."""
        try:
            clip = self.link.request("status")["status"].get("clip")
        except (SmartcamError, KeyError, TypeError):
            return None
        return clip.get("incident") if isinstance(clip, dict) else None

    def _send(self, message: TriggerMessage) -> int:
        sent = self.fanout.send(message, self.table.targets(self.group))
        if self.transports:
            body = message.encode()
            signature = sign(body, self.cfg.peers.secret)
            for transport in self.transports:
                transport(body, signature)
        return sent + len(self.transports)

    def problems(self) -> list[tuple[str, str]]:
        """(level, what to do) for the page and health: peers triggers do not reach, clocks."""
        if not self.enabled:
            return []
        out = []
        for other in self.table.namesakes():
            out.append(("error", f"Another camera is also named {self.name} (at "
                        f"{', '.join(other.addresses)}): each camera needs its own [camera] name, "
                        "or they ignore each other's triggers and share one NAS folder."))
        for peer, why in sorted(self.fanout.failing().items()):
            out.append(("warning", f"Group triggers do not reach {peer} ({why}): it will not "
                        "record with this camera. Check that it is on and reachable."))
        for origin, offset in sorted(self.receiver.stats()["clock_offsets"].items()):
            if abs(offset) > CLOCK_WARNING:
                out.append(("warning", f"{origin}'s clock is {offset:+.0f} s off this one's: "
                            "clip times will not line up. Give both a time source (NTP)."))
        return out

    def as_json(self) -> dict[str, Any]:
        """The body of GET /api/v1/peers: who we are, whom we know, what the triggers did."""
        me = {"name": self.name, "group": self.group, "port": self.port, "api": API,
              "addresses": list(self.addresses()) if self.enabled else []}
        return {
            "enabled": self.enabled,
            "self": me,
            "peers": self.table.snapshot() if self.enabled else [],
            "triggers": {"sent": self.lease.stats(), "received": self.receiver.stats(),
                         "failing": self.fanout.failing()},
        }
