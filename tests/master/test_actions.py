"""The master acts on a real camera (camera and host processes): a group record and a [motion]
change, signed with the group secret; the host refuses the same requests unsigned, signed with
another key, replayed or stale."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from smartcam.coop.wire import HEADER, sign, signed_request
from tests.host.hostproc import HostProcess
from tests.master.world import make_master
from tests.waiting import wait_for

SECRET = "group-secret-0123456789"


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    proc = HostProcess(tmp_path_factory.mktemp("cam"), source="synthetic:empty")
    with open(proc.conf, "a") as f:
        f.write(f"\n[peers]\nenabled = true\nsecret = {SECRET}\ninterfaces = 127.0.0.1\n")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def master(tmp_path, camera):
    m = make_master(tmp_path)
    m.close()
    conf = tmp_path / "smartcam.conf"
    conf.write_text(conf.read_text().replace(
        "[peers]\nenabled = false\n",
        f"[peers]\nenabled = false\nsecret = {SECRET}\nstatic = 127.0.0.1:{camera.port}\n"))
    from smartcam import config
    from smartcam.master.process import Master
    m = Master(config.load(str(conf)), mdns=False)
    (peer,) = m.table.peers()
    m.fleet.check(peer)  # its group, from its health
    yield m, peer
    m.close()


def put(camera, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", camera.port, timeout=10)
    conn.request("PUT", path, body, headers)
    answer = conn.getresponse()
    data = json.loads(answer.read())
    conn.close()
    return answer.status, data


def test_the_masters_signed_settings_are_taken_and_forgeries_refused(camera, master):
    m, peer = master
    status, answer = m.actions.settings(peer, {"motion": {"min_area": 1.5}}, "alice")
    assert status == 200 and answer["saved"], answer
    assert camera.json("GET", "/api/v1/settings")[1]["values"]["motion"]["min_area"] == 1.5
    path = "/api/v1/signed/settings"
    body, headers = signed_request({"changes": {"motion": {"min_area": 2.5}}}, SECRET,
                                   time.time())
    assert put(camera, path, body, {"Content-Type": "application/json"})[0] == 401  # unsigned
    wrong = {**headers, HEADER: sign(body, "another-secret-0123456789")}
    assert put(camera, path, body, wrong)[0] == 401
    assert put(camera, path, body, headers)[0] == 200
    status, refused = put(camera, path, body, headers)  # the same request again
    assert status == 409 and "replayed" in refused["error"]
    stale, stale_headers = signed_request({"changes": {"motion": {"min_area": 3.5}}}, SECRET,
                                          time.time() - 120)
    assert put(camera, path, stale, stale_headers)[0] == 403
    assert camera.json("GET", "/api/v1/settings")[1]["values"]["motion"]["min_area"] == 2.5


def test_record_this_group_makes_its_cameras_record(camera, master):
    m, _ = master
    assert m.actions.record_group("test", 3) == {f"127.0.0.1:{camera.port}": "recording"}
    wait_for(lambda: camera.json("GET", "/api/v1/status")[1]["status"]["state"] == "recording",
             timeout=10, what="the camera recording")
    wrong = type(m.actions)(m.fleet, "another-secret-0123456789")
    assert wrong.record_group("test", 3) == {f"127.0.0.1:{camera.port}": "refused (401)"}


def test_the_groups_arming_reaches_the_cameras_page(camera, master):
    m, _ = master
    m.arming.set("test", "disarmed", None, "alice")
    m.tell_arming(force=True)
    arming = camera.json("GET", "/api/v1/health")[1]["arming"]
    assert arming["armed"] is False and arming["mode"] == "disarmed"
    body, headers = signed_request({"armed": True, "group": "test"},
                                   "another-secret-0123456789", time.time())
    assert put(camera, "/api/v1/signed/arming", body, headers)[0] == 401
    assert camera.json("GET", "/api/v1/health")[1]["arming"]["armed"] is False
    m.arming.set("test", "armed", None, "alice")
    m.tell_arming()  # a change: told without forcing
    assert camera.json("GET", "/api/v1/health")[1]["arming"]["armed"] is True
