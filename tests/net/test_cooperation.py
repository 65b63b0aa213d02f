"""Three real cameras and hosts in network namespaces on one bridge: they find each other and
record together.

Each of cam-a, cam-b and cam-c is a real `smartcam camera` (cam-a watches the synthetic walkers,
the others an empty yard) and a real `smartcam host`, run with `ip netns exec` in a namespace of
its own whose eth0 is wired into a bridge in a fourth namespace (tests/net/site.py). They share
a NAS folder (type = local). The test talks to the hosts' APIs from the bridge's namespace
(`POST /api/v1/trigger`, `GET /api/v1/peers`) and reads the clips' sidecars.
Root only (CI runs as root): skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from datetime import datetime
from typing import Any

import pytest

from smartcam.coop.wire import TriggerMessage
from tests.net import netns
from tests.net.site import ADDRESS, PORT, Site, wait_for

pytestmark = pytest.mark.slow
CAMERAS = {"a": "walkers", "b": "empty", "c": "empty"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if reason := netns.problem():
        pytest.skip(reason)
    lab = netns.Lab(f"sc{os.getpid() % 100000}")
    try:
        s = Site.wired(lab, tmp_path_factory.mktemp("coop"), CAMERAS)
        s.start()
        yield s
    finally:
        lab.close()


def others(x: str) -> list[str]:
    return [y for y in CAMERAS if y != x]


def test_mdns_finds_every_camera_within_seconds(site):
    def everyone() -> bool:
        for x in CAMERAS:
            peers = site.peers(x)
            for y in others(x):
                row = peers.get(f"cam-{y}")
                if not row or "mdns" not in row["sources"] or row["addresses"][0] != ADDRESS[y]:
                    return False
        return True

    start = time.monotonic()
    wait_for(everyone, "every host sees the other two over mDNS", 20, site)
    row = site.peers("a")["cam-b"]
    assert (row["group"], row["port"], row["api"]) == ("yard", PORT, "/api/v1")
    print(f"found over mDNS within {time.monotonic() - start:.1f} s of the hosts answering")


def test_avahi_browse_lists_every_camera_with_its_txt_records(site, tmp_path):
    missing = [t for t in ("avahi-daemon", "avahi-browse", "dbus-daemon") if not shutil.which(t)]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (Debian: avahi-daemon avahi-utils dbus)")
    conf = tmp_path / "avahi-daemon.conf"
    conf.write_text(
        "[server]\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=br0\nenable-dbus=yes\n"
        "[wide-area]\nenable-wide-area=no\n[publish]\ndisable-publishing=yes\n"
    )
    # A private /run (tmpfs, in the mount namespace `ip netns exec` makes) holds the system bus
    # socket and avahi's pid file, so nothing clashes with daemons the machine may run.
    script = f"""
set -e
mount -t tmpfs smartcam-test /run
mkdir -p /run/dbus /run/avahi-daemon
cleanup() {{
    avahi-daemon --kill 2>/dev/null || true
    kill $(cat /run/dbus/pid) 2>/dev/null || true
}}
trap cleanup EXIT
dbus-daemon --system --fork
avahi-daemon --daemonize --no-drop-root --no-chroot --file={conf}
timeout 10 avahi-browse --resolve --parsable --no-db-lookup _smartcam._tcp || true
"""
    out = site.lab.exec("br", ["sh", "-c", script], timeout=60).stdout
    found: dict[str, tuple[str, str, dict[str, str]]] = {}
    for line in out.splitlines():
        fields = line.split(";")
        if fields[0] == "=" and len(fields) >= 10:
            txt = dict(t.split("=", 1) for t in re.findall(r'"([^"]*)"', fields[9]) if "=" in t)
            found[fields[3]] = (fields[7], fields[8], txt)
    for x in CAMERAS:
        assert f"cam-{x}" in found, f"avahi-browse did not list cam-{x}:\n{out}"
        address, port, txt = found[f"cam-{x}"]
        assert (address, port) == (ADDRESS[x], str(PORT))
        assert txt["name"] == f"cam-{x}" and txt["group"] == "yard"
        assert txt["api"] == "/api/v1" and txt["ver"]


def incident_recorded_by_all(site: Site, since: float) -> str | None:
    """An incident of cam-a's own motion clip that cam-b and cam-c recorded as peers."""
    own = {c["incident"] for c in site.clips("a") if c["cause"] == "motion"
           and c["origin"] == "cam-a" and _start(c) >= since}
    for incident in sorted(own):
        if all(any(c["incident"] == incident and c["cause"] == "peer" and c["origin"] == "cam-a"
                   for c in site.clips(y)) for y in "bc"):
            return incident
    return None


def _time(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _start(clip: dict[str, Any]) -> float:
    return _time(clip["start"])


def test_a_walker_on_a_makes_b_and_c_record_the_same_incident(site):
    since = time.time() - 120
    incident = wait_for(lambda: incident_recorded_by_all(site, since),
                        "cam-b and cam-c record cam-a's incident", 90, site)
    for y in "bc":
        clip = next(c for c in site.clips(y) if c["incident"] == incident)
        assert clip["camera"] == f"cam-{y}"
        assert clip["pre_record"] >= 0.9, "each peer keeps its own pre-roll"
        assert _start(clip) < _time(clip["trigger_time"]) - 0.9
    sent = site.http("a", "GET", "/api/v1/peers")[1]["triggers"]["sent"]
    assert sent["episodes"] >= 1 and sent["messages"] >= 2
    for y in "bc":
        assert site.http(y, "GET", "/api/v1/peers")[1]["triggers"]["received"]["accepted"] >= 1


def quiet(site: Site) -> bool:
    return all(site.state(x)["state"] == "idle" for x in CAMERAS)


def test_forged_stale_replayed_or_foreign_triggers_make_nobody_record(site):
    a = site.camera("a")
    try:
        a.request("set", motion={"enabled": False})
        wait_for(lambda: quiet(site), "every camera idle", 40, site)

        def msg(**changes: Any) -> TriggerMessage:
            now = time.time()
            fields = dict(incident=secrets.token_hex(6), origin="cam-z", group="yard",
                          until=now + 3, sent_at=now, nonce=secrets.token_hex(16))
            fields.update(changes)
            return TriggerMessage(**fields)

        bad = [
            (site.trigger("b", msg(), secret="not-the-group-secret-at-all"), 401),
            (site.trigger("c", msg(sent_at=time.time() - 60, until=time.time() + 5)), 403),
            (site.trigger("b", msg(group="garage")), 403),
            (site.trigger("c", msg(origin="cam-c")), 403),
        ]
        for (status, body), expected in bad:
            assert status == expected, body
            assert body["error"]
        time.sleep(2)
        assert quiet(site), "a rejected trigger made a camera record"

        good = msg()  # the control: the same path with a real signature does record
        status, body = site.trigger("b", good)
        assert status == 200, body
        assert site.state("b")["clip"]["incident"] == good.incident
        wait_for(lambda: quiet(site), "cam-b's lease runs out", 30, site)
        status, body = site.trigger("b", good)  # the very same bytes again
        assert status == 409 and "replayed" in body["error"]
        time.sleep(2)
        assert quiet(site), "a replayed trigger made a camera record"
        rejected = site.http("b", "GET", "/api/v1/peers")[1]["triggers"]["received"]["rejected"]
        assert rejected.get("401") and rejected.get("403") and rejected.get("409")
    finally:
        a.request("set", motion={"enabled": True})
        a.close()


def test_an_address_change_is_followed_by_the_others(site):
    site.renumber("b", "192.0.2.12")
    try:
        wait_for(lambda: all(site.peers(x).get("cam-b", {}).get("addresses", [""])[0]
                             == "192.0.2.12" for x in "ac"),
                 "cam-a and cam-c follow cam-b to its new address", 40, site)
        note = (site.nas / "cam-b" / "discovery.txt").read_text()
        assert "addresses=192.0.2.12\n" in note
    finally:
        site.renumber("b", ADDRESS["b"])


def test_without_multicast_they_find_each_other_through_the_nas(site):
    site.lab.block_mdns()
    try:
        for x in CAMERAS:  # fresh hosts: nothing remembered from mDNS
            site.stop_host(x)
        for x in CAMERAS:
            site.start_host(x)
        for x in CAMERAS:
            site.wait_healthy(x)
        since = time.time()

        def through_nas() -> bool:
            for x in CAMERAS:
                peers = site.peers(x)
                for y in others(x):
                    row = peers.get(f"cam-{y}")
                    if not row or "nas" not in row["sources"] or row["addresses"][0] != ADDRESS[y]:
                        return False
            return True

        wait_for(through_nas, "every host sees the other two through the NAS", 40, site)
        assert site.lab.mdns_dropped() > 0, "the block never saw an mDNS packet"
        for x in CAMERAS:
            assert all("mdns" not in row["sources"] for row in site.peers(x).values())
        wait_for(lambda: incident_recorded_by_all(site, since),
                 "cam-b and cam-c still record cam-a's incidents", 90, site)
    finally:
        site.lab.unblock_mdns()
