"""The peer table: every other camera this host knows of, merged from mDNS, the NAS and the config.

Each source reports sightings (`Sighting`: what it saw, when, and until when it holds). The table
keeps the newest sighting per (source, peer) and merges them per camera name: the freshest
sighting decides group, port and the addresses tried first, the others' addresses follow as
fallbacks. So an address change seen by any source is followed at once, and a peer disappears
when its last sighting is withdrawn (mDNS goodbye or expiry) or goes stale (a NAS discovery.txt
older than five minutes). Static peers from `[peers] static` have no name or group until another
source sees the same address; until then they are trigger targets of unknown group (the
receiver checks the group and the signature anyway).

A leaf: it imports nothing of smartcam, so every source (coop.mdns, coop.notes), the worker
and the master can use it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

log = logging.getLogger(__name__)
SOURCES = ("mdns", "nas", "static")
NAMESAKE_SECONDS = 600.0  # a camera with our name is reported this long after it was seen
STATIC_PORT = 80  # [peers] static entries without a port: nginx in front of the peer's API
API = "/api/v1"
API_PATH = re.compile(r"/[A-Za-z0-9._~/-]{0,64}", re.ASCII)  # what a peer may announce as its API


@dataclass(frozen=True)
class Sighting:
    """What one source says about one peer (a JSON-able record that crosses threads)."""

    source: str  # mdns | nas | static
    name: str  # the camera's name; for a static entry, host or host:port as written
    group: str  # "" when unknown (static)
    addresses: tuple[str, ...]
    port: int
    api: str = API
    hostname: str = ""
    version: str = ""
    seen: float = 0.0  # wall clock of the source's last confirmation
    expires: float | None = None  # wall clock after which it is stale; None: until withdrawn


@dataclass(frozen=True)
class Peer:
    """One camera as the table knows it now: the merge of its sightings."""

    name: str
    group: str
    addresses: tuple[str, ...]  # the freshest source's first, then the others'
    port: int
    api: str
    hostname: str
    version: str
    sources: dict[str, float] = field(default_factory=dict)  # source -> last seen (wall)
    static: bool = False  # only known from [peers] static: name and group unknown

    @property
    def last_seen(self) -> float:
        return max(self.sources.values(), default=0.0)

    def url(self, address: str, path: str) -> tuple[str, int, str]:
        """(host, port, request path) of one of the peer's API paths on one address."""
        return address, self.port, f"{self.api.rstrip('/')}/{path.lstrip('/')}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group or None,
            "addresses": list(self.addresses),
            "port": self.port,
            "api": self.api,
            "hostname": self.hostname,
            "version": self.version,
            "sources": {s: round(t, 3) for s, t in sorted(self.sources.items())},
            "last_seen": round(self.last_seen, 3),
            "static": self.static,
        }


class PeerTable:
    """Thread-safe: sources write from their own threads, triggers and the API read."""

    def __init__(self, me: str, clock: Callable[[], float] = time.time,
                 ours: Callable[[], Collection[str]] | None = None):
        self.me = me
        self.clock = clock
        self.ours = ours  # our addresses, to tell our own sightings from a namesake's
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], Sighting] = {}
        self._namesakes: dict[tuple[str, ...], Sighting] = {}  # addresses -> the last sighting
        self.version = 0  # bumped on every change the peers would notice

    # -- sources write ---------------------------------------------------------------------------

    def see(self, sighting: Sighting) -> None:
        """Record a sighting (replacing that source's previous one of the same peer)."""
        if sighting.source not in SOURCES:
            raise ValueError(f"unknown peer source {sighting.source!r}")
        if sighting.name == self.me and sighting.source != "static":
            self._namesake(sighting)  # our own announcement or note, or another camera's
            return
        if not sighting.seen:
            sighting = replace(sighting, seen=self.clock())
        key = (sighting.source, sighting.name)
        with self._lock:
            old = self._seen.get(key)
            self._seen[key] = sighting
            if old is None or _shape(old) != _shape(sighting):
                self.version += 1
        if old is None:
            log.info("peer %s (group %s) at %s:%s, seen by %s", sighting.name,
                     sighting.group or "?", ",".join(sighting.addresses), sighting.port,
                     sighting.source)
        elif old.addresses != sighting.addresses or old.port != sighting.port:
            log.info("peer %s moved from %s:%s to %s:%s (%s)", sighting.name,
                     ",".join(old.addresses), old.port, ",".join(sighting.addresses),
                     sighting.port, sighting.source)

    def _namesake(self, sighting: Sighting) -> None:
        """A sighting with our name from addresses that are not ours: another camera with
        the same [camera] name, which would share our NAS folder and ignore our triggers."""
        if self.ours is None or set(sighting.addresses) & set(self.ours()):
            return
        if not sighting.seen:
            sighting = replace(sighting, seen=self.clock())
        with self._lock:
            new = sighting.addresses not in self._namesakes
            self._namesakes[sighting.addresses] = sighting
        if new:
            log.error("another camera is also named %s (at %s, seen by %s): give each camera its "
                      "own [camera] name", self.me, ",".join(sighting.addresses), sighting.source)

    def namesakes(self) -> list[Sighting]:
        """Other cameras with our name seen in the last NAMESAKE_SECONDS."""
        cutoff = self.clock() - NAMESAKE_SECONDS
        with self._lock:
            self._namesakes = {k: s for k, s in self._namesakes.items() if s.seen >= cutoff}
            return sorted(self._namesakes.values(), key=lambda s: s.addresses)

    def withdraw(self, source: str, name: str) -> None:
        with self._lock:
            gone = self._seen.pop((source, name), None)
            if gone is not None:
                self.version += 1
        if gone is not None:
            log.info("peer %s withdrawn by %s", name, source)

    def replace_source(self, source: str, sightings: Iterable[Sighting]) -> None:
        """Make `sightings` everything `source` knows (a NAS scan, the static list)."""
        fresh = {s.name: s for s in sightings}
        with self._lock:
            stale = [k for k in self._seen if k[0] == source and k[1] not in fresh]
        for _, name in stale:
            self.withdraw(source, name)
        for sighting in fresh.values():
            self.see(sighting)

    def expire(self) -> list[str]:
        """Drop sightings past their expiry; the names of peers that went away entirely."""
        now = self.clock()
        with self._lock:
            before = {name for _, name in self._seen}
            dead = [k for k, s in self._seen.items() if s.expires is not None and s.expires < now]
            for key in dead:
                del self._seen[key]
            after = {name for _, name in self._seen}
            if dead:
                self.version += 1
        for source, name in dead:
            log.info("peer %s: the %s sighting went stale", name, source)
        return sorted(before - after)

    # -- readers ----------------------------------------------------------------------------------

    def peers(self) -> list[Peer]:
        """Every known peer, merged, by name; static entries folded into the peer they are."""
        with self._lock:
            seen = list(self._seen.values())
        named: dict[str, list[Sighting]] = {}
        static: list[Sighting] = []
        for s in seen:
            (static if s.source == "static" else named.setdefault(s.name, [])).append(s)
        out = {name: _merge(group) for name, group in named.items()}
        for s in static:
            twin = next((p for p in out.values() if _same_place(p, s)), None)
            if twin is not None:
                out[twin.name] = replace(twin, sources={**twin.sources, "static": s.seen})
            else:
                out[s.name] = replace(_merge([s]), static=True)
        return sorted(out.values(), key=lambda p: p.name)

    def targets(self, group: str) -> list[Peer]:
        """Where a trigger of `group` goes: that group's peers, and static ones of unknown group."""
        return [p for p in self.peers() if p.group == group or (p.static and not p.group)]

    def snapshot(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.peers()]


def _shape(s: Sighting) -> tuple[Any, ...]:
    return (s.group, s.addresses, s.port, s.api, s.expires is None)


def _merge(sightings: list[Sighting]) -> Peer:
    ordered = sorted(sightings, key=lambda s: s.seen, reverse=True)
    first = ordered[0]
    addresses: list[str] = []
    for s in ordered:
        addresses += [a for a in s.addresses if a not in addresses]
    return Peer(
        name=first.name,
        group=first.group,
        addresses=tuple(addresses),
        port=first.port,
        api=first.api,
        hostname=next((s.hostname for s in ordered if s.hostname), ""),
        version=next((s.version for s in ordered if s.version), ""),
        sources={s.source: s.seen for s in ordered},
    )


def _same_place(peer: Peer, static: Sighting) -> bool:
    host = static.addresses[0].lower().removesuffix(".")
    names = {peer.hostname.lower(), peer.hostname.lower().removesuffix(".local"), peer.name}
    return static.port == peer.port and (host in peer.addresses or host in names)


def static_sightings(
    entries: Iterable[Any], clock: Callable[[], float] = time.time
) -> list[Sighting]:
    """`[peers] static` (HostPort entries) as sightings that never go stale."""
    now = clock()
    return [  # named as written: host, or host:port
        Sighting("static", str(e), "", (str(e.host),), e.port or STATIC_PORT, seen=now)
        for e in entries
    ]
