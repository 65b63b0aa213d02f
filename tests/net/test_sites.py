"""One group across two sites that share neither a LAN's mDNS nor a NAS: its triggers travel
through MQTT, each site's Mosquitto bridged to the other's.

cam-a (people walk by) and cam-b (an empty yard) are real cameras and hosts in namespaces of
their own on one bridge whose mDNS is dropped (tests/net/netns.py), each with a NAS folder of
its own and a broker of its own on its loopback; site b's broker bridges the group's trigger
topic to site a's over the bridge. Motion on cam-a must make cam-b record, one incident, once;
a trigger delivered twice records once; a forged or replayed one records nothing.
Root only (CI runs as root): skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from smartcam.coop.wire import TriggerMessage, sign
from tests.mqtt.broker import MOSQUITTO, Broker, Listener, free_port
from tests.net import netns
from tests.net.site import ADDRESS, BRIDGE, SECRET, Site, wait_for

pytestmark = pytest.mark.slow
TOPIC = "smartcam/_group/yard/trigger"


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    if reason := netns.problem():
        pytest.skip(reason)
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (Debian: apt-get install mosquitto)")
    root = tmp_path_factory.mktemp("sites")
    lab = netns.Lab(f"st{os.getpid() % 100000}")
    try:
        lab.bridge(f"{BRIDGE}/24")
        for x in "ab":
            lab.host(x, f"{ADDRESS[x]}/24")
        lab.block_mdns()  # two sites: neither sees the other's announcements
        port_a = free_port()

        def broker(x: str, listen: str, extra: str = "", port: int | None = None) -> Broker:
            return Broker(root / f"broker-{x}", listen=listen, extra=extra, port=port,
                          spawn=lambda argv, **kw: lab.popen(x, argv, stdout=kw["stdout"],
                                                             stderr=kw["stderr"]),
                          inside=lambda fn: lab.call(x, fn)).start()

        brokers = {
            "a": broker("a", "0.0.0.0", port=port_a),
            "b": broker("b", "127.0.0.1", extra=(
                f"connection site-a\naddress {ADDRESS['a']}:{port_a}\n"
                "topic smartcam/_group/# both 1\ncleansession true\n")),
        }
        site = {}
        for x, scene in (("a", "walkers"), ("b", "empty")):
            site[x] = Site(lab, root / f"site-{x}", {x: scene}, nas=root / f"nas-{x}",
                           sections=f"[mqtt]\nenabled = true\nbroker = 127.0.0.1:"
                                    f"{brokers[x].port}\ndiscovery = false\n")
        for x in "ab":
            site[x].setup(x)
            site[x].start_camera(x)
            site[x].start_host(x)
        for x in "ab":
            site[x].wait_healthy(x)
        heard = lab.call("b", lambda: Listener(brokers["b"], TOPIC))
        yield site, brokers, heard, lab
        heard.close()
    finally:
        lab.close()


def peer_clips(site: Site, x: str) -> list[dict]:
    return [c for c in site.clips(x) if c.get("cause") == "peer"]


def test_motion_on_one_site_records_the_other_through_the_bridged_brokers(sites):
    site, _, heard, _ = sites
    # neither knows the other: no mDNS across, no shared NAS, no static peers
    assert "cam-b" not in site["a"].peers("a") and "cam-a" not in site["b"].peers("b")
    started = time.monotonic()
    clip = wait_for(lambda: peer_clips(site["b"], "b"), "cam-b recording for cam-a", 180,
                    site["b"])[0]
    assert clip["origin"] == "cam-a"
    ours = {c["incident"] for c in site["a"].clips("a")}
    wait_for(lambda: clip["incident"] in {c["incident"] for c in site["a"].clips("a")}
             or None, "cam-a's clip of the same incident", 120, site["a"])
    assert heard.on(TOPIC), "no trigger went over the bridge"
    assert not any(retained for t, _, retained in heard.messages if t == TOPIC)
    print(f"cross-site: cam-b's first peer clip {time.monotonic() - started:.1f} s in; "
          f"{len(heard.on(TOPIC))} triggers over the bridge; incidents {ours}")


def test_the_same_trigger_twice_records_once_and_a_forged_one_not_at_all(sites):
    site, brokers, heard, lab = sites
    before = site["b"].peers_json("b")["triggers"]["received"]
    now = time.time()
    message = TriggerMessage("feedbeef00", "cam-a", "yard", now + 5, now, os.urandom(8).hex())
    body = message.encode()
    good = json.dumps({"body": body.decode(), "signature": sign(body, SECRET)})
    forged = json.dumps({"body": body.decode().replace("feedbeef00", "feedbeef01"),
                         "signature": sign(body, SECRET)})
    sender = lab.call("a", lambda: Listener(brokers["a"], "nothing/at/all"))
    try:
        for payload in (good, good, forged):  # the bridge (or QoS 1) delivering twice
            sender.send(TOPIC, payload)
    finally:
        sender.close()

    def counted() -> dict | None:
        now = site["b"].peers_json("b")["triggers"]["received"]
        done = now["accepted"] > before["accepted"] and sum(now["rejected"].values()) >= sum(
            before["rejected"].values()) + 2
        return now if done else None

    after = wait_for(counted, "cam-b's receiver to take one and refuse two", 60, site["b"])
    assert after["accepted"] == before["accepted"] + 1
    assert after["rejected"].get("409", 0) == before["rejected"].get("409", 0) + 1  # the copy
    assert after["rejected"].get("401", 0) == before["rejected"].get("401", 0) + 1  # forged
    wait_for(lambda: [c for c in peer_clips(site["b"], "b") if c["incident"] == "feedbeef00"],
             "the clip of the trigger taken", 60, site["b"])
    time.sleep(3)
    assert not [c for c in site["b"].clips("b") if c.get("incident") == "feedbeef01"]
