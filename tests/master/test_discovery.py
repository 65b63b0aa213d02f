"""The master finds cameras by mDNS on loopback, announces nothing itself, and drops an
announcement whose name is not a camera's (HTML, script) rather than carry it to any page."""

from __future__ import annotations

import socket

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, Zeroconf

from smartcam.coop.mdns import SERVICE, Announcement, Mdns
from smartcam.coop.table import PeerTable
from tests.coop.test_mdns import lo_multicast, wait_for  # noqa: F401 - the fixture

EVIL = "<img src=x onerror=alert(1)>"


def announce(zc: Zeroconf, instance: str, name: str, port: int) -> None:
    zc.register_service(ServiceInfo(
        SERVICE, f"{instance}.{SERVICE}", addresses=[socket.inet_aton("127.0.0.1")], port=port,
        properties={"name": name, "group": "yard", "ver": "<b>1</b>", "api": "/api/v1"},
        server=f"{instance}.local."))


def test_the_master_browses_and_keeps_only_camera_names(lo_multicast):  # noqa: F811
    table = PeerTable("@master")
    master = Mdns(table, lambda: Announcement("", "", 0, "", "/api/v1", ("127.0.0.1",)),
                  resolve_timeout=1.0)
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    seen: list[str] = []
    listener = ServiceBrowser(zc, SERVICE, handlers=[
        lambda zeroconf, service_type, name, state_change: seen.append(name)])
    try:
        master.refresh()
        announce(zc, "evil", EVIL, 8101)
        announce(zc, "porch", "porch", 8102)
        wait_for(lambda: [p.name for p in table.peers()] == ["porch"], "porch in the table")
        (porch,) = table.peers()
        assert porch.version == "<b>1</b>"  # kept as text: the pages show it with textContent
        assert all(p.name != EVIL for p in table.peers())
        assert set(seen) == {f"evil.{SERVICE}", f"porch.{SERVICE}"}  # the master announces none
    finally:
        listener.cancel()
        master.close()
        zc.close()
