"""mDNS on loopback: two cameras announce themselves and find each other with their TXT records.

Everything stays on lo: zeroconf is bound to 127.0.0.1 (IPv4 only), so no packet reaches a real
network. Multicast on lo needs the interface's MULTICAST flag, which `lo_multicast` switches on
(root only) and restores afterwards.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable

import pytest

from smartcam.coop.mdns import Announcement, Mdns, ipv4_addresses
from smartcam.coop.table import PeerTable

FIND_SECONDS = 30.0  # a functional bound on a loaded machine; how fast it is, is not asserted


@pytest.fixture
def lo_multicast():
    if os.geteuid() != 0:
        pytest.skip("mDNS on lo needs `ip link set lo multicast on`, which needs root")
    with open("/sys/class/net/lo/flags") as f:
        flags = f.read().strip()
    had = int(flags, 16) & 0x1000  # IFF_MULTICAST
    if not had:
        subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=True)
    yield
    if not had:
        subprocess.run(["ip", "link", "set", "lo", "multicast", "off"], check=True)


class Camera:
    """One camera's mDNS side, with a mutable announcement."""

    def __init__(self, name: str, port: int, group: str = "yard"):
        self.table = PeerTable(name)
        self.me = Announcement(name, group, port, "0.1.0", "/api/v1", ("127.0.0.1",))
        self.mdns = Mdns(self.table, lambda: self.me, resolve_timeout=1.0)

    def peer(self, name: str):
        return next((p for p in self.table.peers() if p.name == name), None)


def wait_for(check: Callable[[], object], what: str, timeout: float = FIND_SECONDS) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def cameras(lo_multicast):
    made: list[Camera] = []

    def make(name: str, port: int, group: str = "yard") -> Camera:
        camera = Camera(name, port, group)
        made.append(camera)
        camera.mdns.refresh()
        return camera

    yield make
    for camera in made:
        camera.mdns.close()


def test_interface_names_and_addresses_select_our_ipv4_addresses():
    assert ipv4_addresses(["lo"]) == ("127.0.0.1",)
    assert ipv4_addresses(["127.0.0.1"]) == ("127.0.0.1",)
    assert not any(a.startswith("127.") for a in ipv4_addresses())
    assert ipv4_addresses(["no-such-interface"]) == ()


def test_two_cameras_find_each_other_with_their_txt_records(cameras):
    a = cameras("cam-a", 8001)
    b = cameras("cam-b", 8002)
    wait_for(lambda: a.peer("cam-b") and b.peer("cam-a"), "both see each other")
    pa, pb = b.peer("cam-a"), a.peer("cam-b")
    assert (pb.group, pb.port, pb.addresses, pb.version, pb.api) == (
        "yard", 8002, ("127.0.0.1",), "0.1.0", "/api/v1")
    assert (pa.group, pa.port) == ("yard", 8001)
    assert set(pa.sources) == {"mdns"} and pb.hostname == "smartcam-cam-b.local"
    # never itself (other smartcams announcing on lo, a demo say, are not ours to count)
    assert [p for p in a.table.peers() if p.name.startswith("cam-")] == [pb]


def test_a_changed_announcement_is_followed(cameras):
    a = cameras("cam-a", 8001)
    b = cameras("cam-b", 8002)
    wait_for(lambda: a.peer("cam-b"), "cam-a sees cam-b")
    b.me = Announcement("cam-b", "yard", 8003, "0.1.1", "/api/v1", ("127.0.0.1",))
    b.mdns.refresh()  # re-registers
    wait_for(lambda: (p := a.peer("cam-b")) and p.port == 8003 and p.version == "0.1.1",
             "cam-a follows cam-b's new port")


def test_a_camera_that_leaves_is_withdrawn(cameras):
    a = cameras("cam-a", 8001)
    b = cameras("cam-b", 8002)
    wait_for(lambda: a.peer("cam-b"), "cam-a sees cam-b")
    b.mdns.close()  # goodbye packets
    wait_for(lambda: a.peer("cam-b") is None, "cam-b's goodbye is heard")


def test_other_groups_are_in_the_table_but_not_trigger_targets(cameras):
    a = cameras("cam-a", 8001, "yard")
    cameras("cam-g", 8004, "garage")
    wait_for(lambda: a.peer("cam-g"), "cam-a sees cam-g")
    assert a.peer("cam-g").group == "garage"
    assert [p for p in a.table.targets("yard") if p.name.startswith("cam-")] == []
