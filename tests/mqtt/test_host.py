"""The host's MQTT side against a real Mosquitto on loopback, with the real camera and host
processes: Home Assistant's device, motion, clips, health and commands; a broker that restarts,
hangs, wants a password or TLS; and the last will when the host is killed."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.host.hostproc import HostProcess
from tests.mqtt.broker import Broker, Listener, requires_mosquitto
from tests.waiting import wait_for

pytestmark = requires_mosquitto
CAMERA = "cam-test"
T = f"smartcam/{CAMERA}"
DISCOVERY = f"homeassistant/device/smartcam_{CAMERA}/config"


def start(tmp_path, broker: Broker, motion: bool = False, extra: str = "") -> HostProcess:
    """A camera and its host talking to `broker`; started by `with`."""
    (tmp_path / "host").mkdir(exist_ok=True)
    host = HostProcess(tmp_path / "host", motion=motion, post_record=1)
    with open(host.conf, "a") as f:
        f.write(broker.conf_lines() + "motion_off_delay = 1\n" + extra)
    return host


@pytest.fixture
def broker(tmp_path):
    server = Broker(tmp_path / "broker").start()
    yield server
    server.stop()


@pytest.fixture
def heard(broker):
    listener = Listener(broker)
    yield listener
    listener.close()


def test_the_camera_shows_up_in_home_assistant_and_reports_motion_and_clips(
        tmp_path, broker, heard):
    with start(tmp_path, broker, motion=True):
        heard.wait(f"{T}/available", "online")
        config = json.loads(heard.wait(DISCOVERY))
        assert config["device"]["identifiers"] == [f"smartcam_{CAMERA}"]
        assert config["components"]["motion"]["state_topic"] == f"{T}/motion"
        for topic in (f"{T}/armed/state", f"{T}/detect/state", f"{T}/snapshot_url", f"{T}/health"):
            assert heard.last(topic) is not None, topic
        assert heard.last(f"{T}/detect/state") == "ON"
        # people walk by: motion ON, a clip starts (new) and ends (end) with its URLs
        heard.wait(f"{T}/motion", "ON", timeout=60)
        heard.wait(f"{T}/recording", "ON", timeout=60)
        ended = wait_for(lambda: [e for e in heard.json(f"{T}/events") if e["type"] == "end"],
                         timeout=120, what="a clip's end event")[0]
        started = {e["event"] for e in heard.json(f"{T}/events") if e["type"] == "new"}
        assert ended["event"] in started and ended["cause"] == "motion"
        updates = [e for e in heard.json(f"{T}/events") if e["type"] == "update"]
        assert all(u["event"] in started and u["motion"] for u in updates)
        assert ended["clip_url"].endswith(f"/api/v1/events/{ended['event']}/clip")
        assert ended["armed"] is True and ended["incident"]
        health = json.loads(heard.last(f"{T}/health"))
        assert {"cpu_temperature", "nas_free_gb", "spool_used_percent", "clips_waiting",
                "nas", "ok"} <= set(health)
        # the availability, discovery and states are retained: a late subscriber gets them
        late = Listener(broker)
        try:
            late.wait(f"{T}/available", "online")
            late.wait(DISCOVERY)
            assert all(retained for t, _, retained in late.messages if t == DISCOVERY)
        finally:
            late.close()
    # a clean stop says offline
    assert heard.wait(f"{T}/available", "offline", timeout=30) == "offline"


def test_motion_goes_off_after_the_delay(tmp_path, broker, heard):
    with start(tmp_path, broker, motion=True):
        heard.wait(f"{T}/motion", "ON", timeout=60)
        on_at = time.monotonic()
        # the scene's walkers come and go: OFF comes, never sooner than the delay after the
        # last motion (1 s here)
        heard.wait(f"{T}/motion", "OFF", timeout=120)
        assert time.monotonic() - on_at >= 1.0


def test_commands_act_on_the_real_camera(tmp_path, broker, heard):
    with start(tmp_path, broker) as host:
        heard.wait(f"{T}/available", "online")
        heard.send(f"{T}/record/set", "PRESS")
        ended = wait_for(lambda: [e for e in heard.json(f"{T}/events")
                                  if e["type"] == "end" and e["cause"] == "manual"],
                         timeout=120, what="the manual clip's end event")[0]
        assert list(host.dir.glob(f"spool/*/*_{ended['event']}.mp4")) or list(
            host.nas.glob(f"*/*/*_{ended['event']}.mp4"))
        assert heard.last(f"{T}/detect/state") == "OFF"  # as smartcam.conf says
        heard.send(f"{T}/detect/set", "ON")
        heard.wait(f"{T}/detect/state", "ON")
        assert "enabled = true" in host.conf.read_text()  # saved as the page saves it
        heard.send(f"{T}/detect/set", "OFF")
        heard.wait(f"{T}/detect/state", "OFF")
        assert "enabled = false" in host.conf.read_text()
        status, settings = host.json("GET", "/api/v1/settings")
        assert settings["values"]["motion"]["enabled"] is False
        heard.send(f"{T}/armed/set", "OFF")
        heard.wait(f"{T}/armed/state", "OFF")
        assert host.json("GET", "/api/v1/health")[1]["arming"]["armed"] is False
        heard.send(f"{T}/record/set", "7 minutes")  # nonsense is refused, not recorded
        heard.send(f"{T}/record/set", "2")
        two = wait_for(lambda: [e for e in heard.json(f"{T}/events")
                                if e["type"] == "new" and e["event"] != ended["event"]],
                       timeout=60, what="the second manual clip")
        assert len(two) == 1 and two[0]["armed"] is False
        assert "neither PRESS nor" in host.output("host")


def test_recording_stays_on_for_the_whole_clip(tmp_path, broker, heard):
    """The camera's status comes every 5 s: it must not flip a clip it has not heard of yet
    back to OFF (and ON again at the next heartbeat)."""
    with start(tmp_path, broker):
        heard.wait(f"{T}/available", "online")
        before = len(heard.on(f"{T}/recording"))
        heard.send(f"{T}/record/set", "12")
        wait_for(lambda: [e for e in heard.json(f"{T}/events") if e["type"] == "end"],
                 timeout=60, what="the clip's end")
        heard.wait(f"{T}/recording", "OFF", timeout=30)
        assert heard.on(f"{T}/recording")[before:] == ["ON", "OFF"]


def test_everything_comes_back_after_the_broker_restarts_and_home_assistant_too(
        tmp_path, broker, heard):
    with start(tmp_path, broker):
        heard.wait(f"{T}/available", "online")
        broker.stop()  # no persistence: it forgets every retained message
        heard.close()
        broker.start()
        again = Listener(broker)
        try:
            again.wait(f"{T}/available", "online", timeout=90)  # reconnects within a minute
            again.wait(DISCOVERY)
            assert again.last(f"{T}/detect/state") == "OFF"  # as smartcam.conf says
            assert again.last(f"{T}/health")
            sent = len(again.on(DISCOVERY))
            again.send("homeassistant/status", "online")  # Home Assistant restarted
            wait_for(lambda: len(again.on(DISCOVERY)) > sent, timeout=30,
                     what="the discovery message again")
        finally:
            again.close()


def test_the_last_will_says_offline_when_the_host_is_killed(tmp_path, broker, heard):
    with start(tmp_path, broker) as host:
        heard.wait(f"{T}/available", "online")
        host.host.send_signal(signal.SIGKILL)
        host.host.wait()
        heard.wait(f"{T}/available", "offline", timeout=60)


def test_a_hung_broker_never_stalls_the_page(tmp_path, broker, heard):
    with start(tmp_path, broker, motion=True) as host:
        heard.wait(f"{T}/available", "online")
        broker.freeze()
        try:
            for _ in range(40):  # motion events keep coming; the host must not wait on MQTT
                started = time.monotonic()
                status, health = host.json("GET", "/api/v1/health")
                assert status == 200
                assert host.json("POST", "/api/v1/record", {"seconds": 1})[0] == 200
                assert time.monotonic() - started < 10  # not hung (a stall would be minutes)
                time.sleep(0.25)
        finally:
            broker.thaw()
        heard.wait(f"{T}/available", "online")


@pytest.mark.parametrize("kind", ["password", "tls"])
def test_a_broker_with_a_password_or_tls(tmp_path, kind):
    broker = Broker(tmp_path / kind, kind).start()
    heard = Listener(broker)
    try:
        with start(tmp_path, broker):
            heard.wait(f"{T}/available", "online")
            heard.wait(DISCOVERY)
    finally:
        heard.close()
        broker.stop()


def test_a_wrong_password_is_said_in_the_log(tmp_path):
    broker = Broker(tmp_path / "pw", "password").start()
    try:
        with start(tmp_path, broker) as host:
            (broker.folder / "password.txt").write_text("wrong\n")
            host.stop()
            host.start()
            wait_for(lambda: "refused us" in host.output("host"), timeout=30,
                     what="the refusal in the host's log")
    finally:
        broker.stop()


def test_an_unreadable_password_file_turns_mqtt_off_and_says_so(tmp_path):
    import threading
    from types import SimpleNamespace

    from smartcam.config import from_text
    from smartcam.host.mqttlink import MqttLink

    cfg = from_text(f"[mqtt]\nenabled = true\nbroker = 127.0.0.1:1\nusername = cam\n"
                    f"password_file = {tmp_path}/missing\n")
    host = SimpleNamespace(cfg=cfg, link=SimpleNamespace(listeners=[]),
                           cooperation=SimpleNamespace(enabled=False))
    link = MqttLink(host)
    stop = threading.Event()
    link.run(stop)  # returns at once: nothing to connect with
    assert f"password_file = {tmp_path}/missing: cannot read it" in link.problem()
