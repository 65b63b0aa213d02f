"""The API's camera routes: health, status, record, a peer's trigger, the camera away."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import pytest

from smartcam.config import from_text, load
from smartcam.host import health as health_module
from smartcam.host.process import Host
from smartcam.host.web import make_app
from tests.camera.camproc import CameraProcess
from tests.host.wsgiclient import Client, wait_connected

# -- health and status ------------------------------------------------------------------------


def test_health(world):
    status, health = world.client.json("GET", "/api/v1/health")
    assert status == 200
    assert health["camera"] == "cam-test" and health["version"] == world.host.version
    assert health["camera_connected"] is True
    assert health["config_error"] is None
    assert health["uptime"] >= 0
    assert {"nas_mounted", "backlog_clips", "spool_used_bytes", "spool_budget_bytes"} <= set(
        health["storage"])
    assert health["cpu_temperature"] is None or isinstance(health["cpu_temperature"], float)
    assert isinstance(health["problems"], list)


def test_status_has_the_camera_state_and_its_motion_levels(world):
    deadline = time.monotonic() + 10
    while True:
        status, data = world.client.json("GET", "/api/v1/status")
        assert status == 200
        if data["levels"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert data["status"]["camera"] == "cam-test"
    assert data["status"]["state"] in ("idle", "recording")
    assert data["levels"] and all(len(p) == 2 for p in data["levels"])
    assert data["threshold"] == world.host.cfg.motion.min_area


def test_cpu_temperature_reads_the_cpu_zone(tmp_path):
    for n, (kind, temp) in enumerate([("acpitz", "30000"), ("cpu-thermal", "51234")]):
        zone = tmp_path / f"thermal_zone{n}"
        zone.mkdir()
        (zone / "type").write_text(kind + "\n")
        (zone / "temp").write_text(temp + "\n")
    assert health_module.cpu_temperature(str(tmp_path / "thermal_zone*")) == 51.2
    assert health_module.cpu_temperature(str(tmp_path / "nothing*")) is None


def test_health_says_what_to_fix_for_dropped_clips_and_config_problems():
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    storage = {"nas_path": "/mnt/nas", "nas_mounted": False, "nas_error": "/mnt/nas is not mounted",
               "backlog_clips": 3, "spool_used_bytes": 90, "spool_budget_bytes": 100,
               "dropped": 1, "dropped_recent": [{"clip": "cam_20260101T000000Z_abcdef12",
                                                 "time": now, "bytes": 5, "reason": "full"}],
               "rejected_recent": [{"clip": "old", "time": "2020-01-01T00:00:00.000Z"}]}
    host = SimpleNamespace(
        cfg=from_text(""), config_error="/boot/firmware/smartcam.conf:3: [camera] fps = 0: bad",
        version="9", started=time.time(), retention=SimpleNamespace(last=None),
        link=SimpleNamespace(connected=False, last_status=None),
        uploader=SimpleNamespace(health=lambda: storage),
        cooperation=SimpleNamespace(problems=lambda: [("warning", "cam-b's clock is +20 s off")]),
    )
    health = health_module.health(host)
    assert health["ok"] is False
    text = "\n".join(p["message"] for p in health["problems"])
    assert "fps = 0" in text and "not answering" in text
    assert "cam_20260101T000000Z_abcdef12" in text and "dropped" in text
    assert "not mounted" in text and "3 clip(s) wait" in text and "90% full" in text
    assert "rejected" not in text  # only the last day's trouble is shown
    assert "cam-b's clock is +20 s off" in text  # cooperation says what is wrong with it
    # Retention that cannot make room, or cannot delete something, says so.
    host.retention.last = {"space_error": "deleting clips does not free space on the NAS",
                           "skipped": 2, "skipped_first": "2026-03-01: Directory not empty"}
    text = "\n".join(p["message"] for p in health_module.health(host)["problems"])
    assert "Retention: deleting clips does not free space" in text
    assert "could not delete 2 entries" in text and "Directory not empty" in text


def test_a_signature_header_that_is_not_ascii_is_a_json_4xx_without_a_traceback(world):
    r = world.client.request("POST", "/api/v1/trigger", body=b'{"group":"test"}',
                             headers={"X-Smartcam-Signature": "sha256=\u00e9\u00e9"})
    assert 400 <= r.status < 500 and b"Traceback" not in r.body
    assert "error" in json.loads(r.body)


def test_trigger_is_404_json_while_cooperation_is_off(world):
    status, data = world.client.json("POST", "/api/v1/trigger", {"incident": "abcdef12"})
    assert status == 404 and "enabled = false" in data["error"]
    status, data = world.client.json("GET", "/api/v1/peers")
    assert status == 200 and data["enabled"] is False and data["peers"] == []


def test_trigger_goes_to_the_receiver_with_the_raw_body_and_headers(world):
    seen = {}

    def handle_trigger(body, headers, remote=""):
        seen.update(body=body, signature=headers.get("X-Smartcam-Signature"), remote=remote)
        return 403, {"error": "group other is not ours (test)"}

    receiver = SimpleNamespace(handle_trigger=handle_trigger)
    real, world.host.cooperation = world.host.cooperation, SimpleNamespace(receiver=receiver)
    try:
        r = world.client.request("POST", "/api/v1/trigger", body=b'{"group":"other"}',
                                 headers={"X-Smartcam-Signature": "00ff", "X-Real-IP": "10.0.0.9"})
    finally:
        world.host.cooperation = real
    assert r.status == 403 and json.loads(r.body) == {"error": "group other is not ours (test)"}
    assert seen == {"body": b'{"group":"other"}', "signature": "00ff", "remote": "10.0.0.9"}


# -- the camera away --------------------------------------------------------------------------


@pytest.fixture
def no_camera(tmp_path):
    """A host whose camera is not running (and which runs on defaults: no file to save into)."""
    cfg = from_text(
        f"[camera]\nname = lonely\ncontrol_socket = {tmp_path}/control.sock\n"
        f"live_path = {tmp_path}/live.jpg\n[storage]\nspool = {tmp_path}/spool\n"
        f"nas = {tmp_path}/nas\ntype = local\n"
    )
    host = Host(cfg, config_error="smartcam.conf:1: [camera] fps = fast: expected a number")
    host.link.start()
    try:
        yield SimpleNamespace(host=host, client=Client(make_app(host)))
    finally:
        host.close()


def test_camera_down_is_503_json_not_500(no_camera):
    client = no_camera.client
    for method, url, body in (("GET", "/api/v1/status", None), ("POST", "/api/v1/record", {}),
                              ("GET", "/snapshot.jpg", None), ("GET", "/live.mjpg", None)):
        r = client.request(method, url, body)
        assert r.status == 503, url
        assert "not answering" in json.loads(r.body)["error"]
        assert r.headers["Retry-After"]
    status, health = client.json("GET", "/api/v1/health")
    assert status == 200 and health["camera_connected"] is False and health["ok"] is False
    assert health["config_error"] and any("fps = fast" in p["message"] for p in health["problems"])
    status, events = client.json("GET", "/api/v1/events")
    assert status == 200 and (events["events"], events["next"]) == ([], None)
    status, data = client.json("PUT", "/api/v1/settings", {"motion": {"min_area": 1}})
    assert status == 409 and "fps = fast" in data["error"]


def test_camera_going_away_mid_stream_ends_the_stream(tmp_path):
    camera = CameraProcess(tmp_path, source="synthetic:empty")
    camera.start()
    host = Host(load(camera.conf))
    host.link.start()
    try:
        wait_connected(host)
        client = Client(make_app(host))
        deadline = time.monotonic() + 30  # a busy machine may take a while to start the camera
        while client.request("GET", "/snapshot.jpg").status != 200:
            assert time.monotonic() < deadline, "no picture from the camera"
        status, _, iterator, close = client.stream("/live.mjpg")
        try:
            assert status == 200
            next(iterator)
            camera.kill()
            ended = threading.Event()

            def drain():
                for _ in iterator:
                    pass
                ended.set()

            reader = threading.Thread(target=drain)
            reader.start()
            reader.join(timeout=30)
            assert ended.is_set(), "the stream went on without a camera"
        finally:
            close()
        r = client.request("GET", "/api/v1/status")
        assert r.status == 503 and json.loads(r.body)["error"]
    finally:
        host.close()
        camera.stop()


@pytest.mark.parametrize(("mounted", "kind", "error", "said"), [
    (False, "down", "/mnt/nas is not mounted", "not answering"),
    (True, "down", "[Errno 112] Host is down", "not answering"),
    (True, "full", "[Errno 28] No space left on device", "The NAS is full"),
    (True, "over quota", "[Errno 122] Disk quota exceeded", "over its quota"),
    (True, "read-only", "[Errno 30] Read-only file system", "read-only"),
    (True, "refused", "[Errno 13] Permission denied", "refuses this camera's writes"),
    # a hard mount (or an NFS one) never answers with an error: the uploader just waits
    (True, None, "the uploader has waited 75 s for it", "not answering"),
])
def test_health_tells_nas_trouble_apart(mounted, kind, error, said):
    """A NAS that is down is not blamed on permissions; full, over quota and read-only say so."""
    hung = kind is None
    storage = {"nas_path": "/mnt/nas", "nas_mounted": mounted, "nas_writable": hung,
               "nas_trouble": kind, "last_error": None if hung else error, "backlog_clips": 4,
               "stalled_seconds": 75.0 if hung else 0.5}
    host = SimpleNamespace(
        cfg=from_text(""), config_error=None, version="9", started=time.time(),
        retention=SimpleNamespace(last=None), link=SimpleNamespace(connected=True, last_status={}),
        uploader=SimpleNamespace(health=lambda: storage),
        cooperation=SimpleNamespace(problems=lambda: []),
    )
    (problem,) = health_module.health(host)["problems"]
    assert said in problem["message"] and error in problem["message"]
    assert "4 clip(s) wait" in problem["message"]
    assert ("permissions" in problem["message"]) == (kind == "refused")
    storage["stalled_seconds"] = 20.0  # a slow copy is no trouble
    assert not hung or health_module.health(host)["problems"] == []


def test_stopping_waits_for_all_the_parts_together_not_each_in_turn(tmp_path, monkeypatch,
                                                                     caplog):
    """Parts stuck on a dead NAS: one shared deadline, so the unit stops before systemd kills
    it (TimeoutStopSec=20), and the stuck ones are named."""
    from smartcam.host import process as process_module

    monkeypatch.setattr(process_module, "STOP_SECONDS", 0.5)
    host = Host(from_text(f"[storage]\nspool = {tmp_path}/spool\nnas = {tmp_path}/nas\n"))
    release = threading.Event()

    class Stuck:  # a part blocked in a NAS call: it does not look at stop
        def run(self, stop):
            release.wait(60)

    host.link.start()  # no camera there: it keeps trying, and stops when asked
    try:
        for name in ("uploader", "retention", "library"):
            host.start_worker(name, Stuck())
        started = time.monotonic()
        host.close()
        took = time.monotonic() - started
    finally:
        release.set()
    assert took < 3 * 0.5  # each in turn: 1.5 s and more
    assert sorted(r.getMessage().split()[0] for r in caplog.records
                  if "did not stop" in r.getMessage()) == ["library", "retention", "uploader"]


def test_health_says_when_mqtt_is_not_connected():
    host = SimpleNamespace(
        cfg=from_text(""), config_error=None, version="9", started=time.time(),
        retention=SimpleNamespace(last=None), link=SimpleNamespace(connected=True, last_status={}),
        uploader=SimpleNamespace(health=lambda: {}),
        cooperation=SimpleNamespace(problems=lambda: []),
        mqtt=SimpleNamespace(problem=lambda: "127.0.0.1:1883: the broker refused us: "
                             "Not authorized"),
    )
    (problem,) = health_module.health(host)["problems"]
    assert problem["level"] == "warning" and "Not authorized" in problem["message"]
    assert "password_file" in problem["message"]
    host.mqtt = SimpleNamespace(problem=lambda: None)
    assert health_module.health(host)["problems"] == []
