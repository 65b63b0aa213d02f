"""mDNS: announce this camera as `_smartcam._tcp.local.` and browse for the others.

The only module that imports zeroconf (python-zeroconf). IPv4 only, bound to the addresses of the
interfaces given (every interface with an IPv4 address but loopback when none are given; tests
give `127.0.0.1` to stay on lo). TXT records (contract): `name`, `group`, `ver`, `api`.

Address changes, ours: `refresh()` (called every few seconds) compares our addresses with those
announced and, on a change, re-registers on a new Zeroconf bound to the new addresses (the old
one's sockets are bound to addresses that no longer exist); peers then see a goodbye and a new
announcement. Theirs: Updated or Removed + Added arrive from the browser and are re-resolved,
and every known peer is re-read from the cache at each refresh, which also catches a changed
address record that came without a state change. Records carry a 120 s TTL (not zeroconf's
75 minutes for PTR), so a camera that vanished without a goodbye is dropped within minutes.

The SRV target is `smartcam-<name>.local.`, not the hostname: avahi answers for `<hostname>.local`
on the Pi, and hosts in network-namespace tests all share one hostname.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ifaddr  # zeroconf's own dependency, for interface names
from zeroconf import (
    IPVersion,
    ServiceBrowser,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
)

from smartcam.clips.names import NAME
from smartcam.coop.table import API, API_PATH, PeerTable, Sighting

log = logging.getLogger(__name__)
SERVICE = "_smartcam._tcp.local."
TTL = 120
RESOLVE_SECONDS = 3.0


@dataclass(frozen=True)
class Announcement:
    """What we announce; a change of any field re-registers."""

    name: str
    group: str
    port: int
    version: str
    api: str
    addresses: tuple[str, ...]

    def properties(self) -> dict[str, str]:
        return {"name": self.name, "group": self.group, "ver": self.version, "api": self.api}


def ipv4_addresses(interfaces: Sequence[str] = ()) -> tuple[str, ...]:
    """Our IPv4 addresses on `interfaces` (names like eth0, or addresses), or on all but lo."""
    wanted = set(interfaces)
    out: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if not isinstance(ip.ip, str) or ip.ip in out:
                continue  # IPv6 addresses are tuples
            named = adapter.nice_name in wanted or adapter.name in wanted or ip.ip in wanted
            if named if wanted else not ip.ip.startswith("127."):
                out.append(ip.ip)
    return tuple(out)


def sighting_of(info: ServiceInfo, now: float) -> Sighting | None:
    """A resolved service as a sighting; None if it is not a camera we can reach."""
    props: dict[str, str] = {}
    for key, value in (info.properties or {}).items():
        if isinstance(key, bytes) and isinstance(value, bytes):
            props[key.decode(errors="replace")] = value.decode(errors="replace")
    addresses = tuple(info.parsed_addresses(IPVersion.V4Only))
    name, group, api = props.get("name", ""), props.get("group", ""), props.get("api") or API
    if not addresses or not info.port:
        return None
    # Anything on the LAN can announce anything: a name, group or API path that is not one
    # would end up in URLs, log lines and pages.
    if not (NAME.fullmatch(name) and NAME.fullmatch(group) and API_PATH.fullmatch(api)):
        log.debug("ignoring an announcement that is not a camera's: %r", props)
        return None
    return Sighting("mdns", name, group, addresses, int(info.port), api,
                    (info.server or "").rstrip("."), props.get("ver", "")[:32], now)


class Mdns:
    """Our announcement and the browser feeding the peer table; refresh() from one thread."""

    def __init__(
        self,
        table: PeerTable,
        me: Callable[[], Announcement | None],
        resolve_timeout: float = RESOLVE_SECONDS,
        ttl: int = TTL,
    ):
        self.table, self.me = table, me
        self.resolve_timeout, self.ttl = resolve_timeout, ttl
        self.announced: Announcement | None = None
        self._zc: Zeroconf | None = None
        self._browser: ServiceBrowser | None = None
        self._names: dict[str, str] = {}  # service instance name -> camera name
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Follow our own address changes; re-read the peers we know from the cache."""
        wanted = self.me()
        if wanted != self.announced:
            self._stop()
            if wanted is not None and wanted.addresses:
                self._start(wanted)
            return
        zc = self._zc
        if zc is None:
            return
        with self._lock:
            names = list(self._names)
        for name in names:
            info = ServiceInfo(SERVICE, name)
            if info.load_from_cache(zc) and (found := sighting_of(info, time.time())):
                self.table.see(found)

    def close(self) -> None:
        self._stop()

    def _start(self, me: Announcement) -> None:
        """Announce `me` and browse; an announcement without a name only browses (the
        master listens for cameras and is none)."""
        zc = Zeroconf(interfaces=list(me.addresses), ip_version=IPVersion.V4Only)
        if me.name:
            info = ServiceInfo(
                SERVICE,
                f"{me.name}.{SERVICE}",
                addresses=[socket.inet_aton(a) for a in me.addresses],
                port=me.port,
                properties=me.properties(),
                server=f"smartcam-{me.name}.local.",
                host_ttl=self.ttl,
                other_ttl=self.ttl,
            )
            try:
                zc.register_service(info, allow_name_change=True)
            except Exception:
                zc.close()
                raise
            log.info("announcing %s on %s port %d", me.name, ",".join(me.addresses), me.port)
        self._zc, self.announced = zc, me
        self._browser = ServiceBrowser(zc, SERVICE, handlers=[self._on_change])

    def _stop(self) -> None:
        browser, zc = self._browser, self._zc
        self._browser = self._zc = None
        self.announced = None
        if browser is not None:
            browser.cancel()
        if zc is not None:
            zc.close()  # unregisters (goodbye packets) and ends its threads

    def _on_change(self, zeroconf: Zeroconf, service_type: str, name: str,
                   state_change: ServiceStateChange, **_: Any) -> None:
        """On the browser's thread: resolve what appeared or changed, forget what left."""
        if state_change is ServiceStateChange.Removed:
            with self._lock:
                camera = self._names.pop(name, None)
            if camera is not None:
                self.table.withdraw("mdns", camera)
            return
        try:
            info = zeroconf.get_service_info(service_type, name,
                                             timeout=int(self.resolve_timeout * 1000))
        except Exception as err:  # zeroconf closing under us, a malformed record
            log.debug("cannot resolve %s: %s", name, err)
            return
        found = sighting_of(info, time.time()) if info is not None else None
        if found is None:
            return
        with self._lock:
            old = self._names.get(name)
            self._names[name] = found.name
        if old is not None and old != found.name:
            self.table.withdraw("mdns", old)
        self.table.see(found)
