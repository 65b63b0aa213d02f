"""The peer table: sources merged per camera, address changes followed, stale peers dropped."""

from __future__ import annotations

import json
import threading

import pytest

from smartcam.config.values import HostPort
from smartcam.coop.table import PeerTable, Sighting, static_sightings
from tests.waiting import NOW, Clock


def mdns(name="cam-b", addresses=("192.0.2.2",), seen=NOW, group="yard", port=80):
    return Sighting("mdns", name, group, addresses, port, hostname=f"smartcam-{name}.local",
                    version="0.1.0", seen=seen)


def nas(name="cam-b", addresses=("192.0.2.2",), updated=NOW - 30, group="yard", port=80):
    return Sighting("nas", name, group, addresses, port, seen=updated, expires=updated + 300)


@pytest.fixture
def table():
    return PeerTable("cam-a", Clock())


def test_one_camera_seen_by_two_sources_is_one_peer(table):
    table.see(nas())
    table.see(mdns())
    (peer,) = table.peers()
    assert peer.name == "cam-b" and peer.addresses == ("192.0.2.2",)
    assert peer.sources == {"mdns": NOW, "nas": NOW - 30}
    assert peer.last_seen == NOW


def test_our_own_announcement_is_not_a_peer(table):
    table.see(mdns("cam-a"))
    table.see(nas("cam-a"))
    assert table.peers() == []


def test_an_address_change_is_followed_at_once_and_the_old_one_kept_as_a_fallback(table):
    table.see(nas(addresses=("192.0.2.2",), updated=NOW - 20))
    table.see(mdns(addresses=("192.0.2.2",), seen=NOW - 100))
    assert table.peers()[0].addresses == ("192.0.2.2",)
    table.see(mdns(addresses=("192.0.2.20",), seen=NOW))  # DHCP gave it a new address
    assert table.peers()[0].addresses == ("192.0.2.20", "192.0.2.2")
    table.see(nas(addresses=("192.0.2.20",), updated=NOW))  # its next discovery.txt
    assert table.peers()[0].addresses == ("192.0.2.20",)


def test_a_port_change_is_followed(table):
    table.see(mdns(port=80, seen=NOW - 5))
    table.see(nas(port=8080, updated=NOW))
    assert table.peers()[0].port == 8080


def test_stale_notes_are_dropped_and_a_peer_without_sightings_is_gone(table):
    table.see(nas("cam-b", updated=NOW - 100))
    table.see(nas("cam-c", updated=NOW - 299))
    table.see(mdns("cam-c"))
    table.clock.t = NOW + 201  # cam-b's note is now 301 s old, cam-c's 500 s
    assert table.expire() == ["cam-b"]
    (peer,) = table.peers()
    assert peer.name == "cam-c" and set(peer.sources) == {"mdns"}  # mDNS still sees it


def test_mdns_goodbye_withdraws_only_that_source(table):
    table.see(mdns())
    table.see(nas())
    table.withdraw("mdns", "cam-b")
    assert set(table.peers()[0].sources) == {"nas"}
    table.withdraw("nas", "cam-b")
    assert table.peers() == []


def test_replacing_a_source_withdraws_what_it_no_longer_sees(table):
    table.replace_source("nas", [nas("cam-b"), nas("cam-c")])
    table.replace_source("nas", [nas("cam-c")])
    assert [p.name for p in table.peers()] == ["cam-c"]


def test_static_entries_fold_into_the_camera_they_are(table):
    table.replace_source("static", static_sightings(
        [HostPort("192.0.2.2"), HostPort("smartcam-cam-c.local", 8080), HostPort("192.0.2.9")],
        Clock()))
    table.see(mdns("cam-b", ("192.0.2.2",)))
    table.see(mdns("cam-c", ("192.0.2.3",), port=8080))
    peers = {p.name: p for p in table.peers()}
    assert set(peers) == {"cam-b", "cam-c", "192.0.2.9"}  # cam-c's entry was host:port
    assert set(peers["cam-b"].sources) == {"mdns", "static"}
    assert set(peers["cam-c"].sources) == {"mdns", "static"}
    assert peers["192.0.2.9"].static and peers["192.0.2.9"].port == 80


def test_triggers_go_to_our_group_and_to_static_peers_of_unknown_group(table):
    table.see(mdns("cam-b", group="yard"))
    table.see(mdns("cam-c", group="garage", addresses=("192.0.2.3",)))
    table.replace_source("static", static_sightings([HostPort("192.0.2.9", 8080)], Clock()))
    assert [p.name for p in table.targets("yard")] == ["192.0.2.9:8080", "cam-b"]
    assert [p.name for p in table.targets("garage")] == ["192.0.2.9:8080", "cam-c"]


def test_the_snapshot_is_json_for_the_api(table):
    table.see(mdns())
    table.see(nas())
    (row,) = json.loads(json.dumps(table.snapshot()))
    assert row["name"] == "cam-b" and row["group"] == "yard"
    assert row["addresses"] == ["192.0.2.2"] and row["port"] == 80
    assert row["sources"] == {"mdns": NOW, "nas": NOW - 30} and row["last_seen"] == NOW


def test_static_entries_on_one_host_with_other_ports_are_other_peers(table):
    table.replace_source("static", static_sightings(
        [HostPort("192.0.2.9", 8081), HostPort("192.0.2.9", 8082)], Clock()))
    assert [(p.name, p.port) for p in table.peers()] == [
        ("192.0.2.9:8081", 8081), ("192.0.2.9:8082", 8082)]


def test_sources_write_from_many_threads(table):
    def writer(source, k):
        for i in range(300):
            table.see(Sighting(source, f"cam-{i % 7}", "yard", (f"192.0.2.{k}",), 80,
                               seen=NOW + i))
            table.peers()

    threads = [threading.Thread(target=writer, args=(s, k)) for k, s in enumerate(SOURCE_LIST)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(table.peers()) == 7


SOURCE_LIST = ("mdns", "nas", "mdns", "nas")


def test_a_camera_with_our_name_elsewhere_is_a_namesake_not_a_peer():
    clock = Clock()
    table = PeerTable("cam-a", clock, ours=lambda: {"192.0.2.1"})
    table.see(mdns("cam-a", ("192.0.2.1",)))  # our own announcement, heard back
    assert table.namesakes() == [] and table.peers() == []
    table.see(mdns("cam-a", ("192.0.2.9",)))  # a second camera left on the same name
    table.see(nas("cam-a", ("192.0.2.9",)))  # and its note in "our" NAS folder
    (other,) = table.namesakes()
    assert other.addresses == ("192.0.2.9",) and table.peers() == []
    clock.t += 601
    assert table.namesakes() == []  # gone quiet: no longer reported
