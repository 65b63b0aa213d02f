"""The web app in-process (under wsgiref.validate) with a real camera process behind a real
CameraLink; the NAS is a folder. The uploader does not run here, so the tests decide where a
clip is: they copy it to the NAS the way the uploader would.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
import urllib.parse
from pathlib import Path
from types import SimpleNamespace
from wsgiref.headers import Headers
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest

from smartcam.config import from_text, load
from smartcam.host import health as health_module
from smartcam.host.process import Host
from smartcam.host.web import STATIC, make_app
from tests.camera.camproc import CameraProcess

MOTION_SECTION = """
[motion]
# How much of the frame has to change, in percent.
min_area = 0.5
# three frames in a row
min_frames = 3

; the mask stays empty
"""


class Client:
    """Calls a WSGI app the way a server does (PATH_INFO percent-decoded), closing every body."""

    def __init__(self, app):
        self.app = validator(app)

    def open(self, method, url, body=None, headers=None):
        path, _, query = url.partition("?")
        environ: dict = {}
        setup_testing_defaults(environ)
        if isinstance(body, bytes):
            data = body
        else:
            data = b"" if body is None else json.dumps(body).encode()
        environ.update({
            "REQUEST_METHOD": method,
            "PATH_INFO": urllib.parse.unquote(path, encoding="latin-1"),
            "QUERY_STRING": query,
            "wsgi.input": io.BytesIO(data),
            "CONTENT_LENGTH": str(len(data)),
        })
        if body is not None:
            environ["CONTENT_TYPE"] = "application/json"
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        started = {}

        def start_response(status, headerlist, exc_info=None):
            started["status"], started["headers"] = status, headerlist
            return lambda chunk: None

        return environ, start_response, started

    def request(self, method, url, body=None, headers=None):
        environ, start_response, started = self.open(method, url, body, headers)
        result = self.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            result.close()
        status = int(started["status"].split()[0])
        return SimpleNamespace(status=status, headers=Headers(started["headers"]), body=content)

    def json(self, method, url, body=None, headers=None):
        r = self.request(method, url, body, headers)
        assert r.headers["Content-Type"].startswith("application/json"), r
        assert b"Traceback" not in r.body
        return r.status, json.loads(r.body)

    def stream(self, url):
        """(status, headers, iterator, close) for a streaming response."""
        environ, start_response, started = self.open("GET", url)
        result = self.app(environ, start_response)
        status = int(started["status"].split()[0])
        return status, Headers(started["headers"]), iter(result), result.close


def wait_connected(host, timeout=10):
    deadline = time.monotonic() + timeout
    while not host.link.connected:
        assert time.monotonic() < deadline, "the camera link did not connect"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    directory = tmp_path_factory.mktemp("api")
    camera = CameraProcess(directory, source="synthetic:empty", pre_record=1, post_record=1)
    with open(camera.conf, "a") as f:
        f.write(f"nas = {directory}/nas\ntype = local\n" + MOTION_SECTION)
    camera.start()
    cfg = load(camera.conf)
    host = Host(cfg)
    host.link.start()
    wait_connected(host)
    try:
        yield SimpleNamespace(dir=directory, camera=camera, host=host, cfg=cfg,
                              client=Client(make_app(host)),
                              nas=directory / "nas" / cfg.camera.name)
    finally:
        host.close()
        camera.stop()


@pytest.fixture(scope="module")
def clip(world):
    """One finished manual clip: its event id and its files in the outbox."""
    status, answer = world.client.json("POST", "/api/v1/record", {"seconds": 1.5})
    assert status == 200, answer
    event = answer["event"]
    deadline = time.monotonic() + 30
    while not list(world.camera.outbox.glob(f"*_{event}.json")):
        assert time.monotonic() < deadline, "the clip did not reach the outbox"
        time.sleep(0.1)
    stem = next(world.camera.outbox.glob(f"*_{event}.json")).stem
    return SimpleNamespace(event=event, stem=stem, card=answer)


def upload(world, stem: str) -> Path:
    """Copy a clip to its NAS day folder as the uploader does (the sidecar last)."""
    stamp = stem.split("_")[1]
    day = world.nas / f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
    day.mkdir(parents=True, exist_ok=True)
    for suffix in (".mp4", ".jpg", ".json"):
        shutil.copy2(world.camera.outbox / f"{stem}{suffix}", day / f"{stem}{suffix}")
    return day


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
    )
    health = health_module.health(host)
    assert health["ok"] is False
    text = "\n".join(p["message"] for p in health["problems"])
    assert "fps = 0" in text and "not answering" in text
    assert "cam_20260101T000000Z_abcdef12" in text and "dropped" in text
    assert "not mounted" in text and "3 clip(s) wait" in text and "90% full" in text
    assert "rejected" not in text  # only the last day's trouble is shown


# -- recording and events ---------------------------------------------------------------------


def wait_for_event(world, event, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        status, page = world.client.json("GET", "/api/v1/events?limit=50")
        assert status == 200
        found = [e for e in page["events"] if e["event"] == event]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"event {event} was not listed"
        time.sleep(0.2)


def test_record_makes_a_new_event(world, clip):
    listed = wait_for_event(world, clip.event)
    assert listed["cause"] == "manual" and listed["camera"] == "cam-test"
    assert listed["urls"]["clip"] == f"/api/v1/events/{clip.event}/clip"
    assert "heatmap" not in listed
    status, one = world.client.json("GET", f"/api/v1/events/{clip.event}")
    assert status == 200 and one["event"] == clip.event and len(one["heatmap"]) == 16
    assert one["video"] == f"{clip.stem}.mp4"


def test_clip_and_thumbnail(world, clip):
    video = (world.camera.outbox / f"{clip.stem}.mp4").read_bytes()
    r = world.client.request("GET", f"/api/v1/events/{clip.event}/clip")
    assert r.status == 200 and r.headers["Content-Type"] == "video/mp4"
    assert r.body == video and r.headers["Accept-Ranges"] == "bytes"
    r = world.client.request("GET", f"/api/v1/events/{clip.event}/thumbnail")
    assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert r.body[:2] == b"\xff\xd8"
    etag = world.client.request("GET", f"/api/v1/events/{clip.event}/clip").headers["ETag"]
    r = world.client.request("GET", f"/api/v1/events/{clip.event}/clip",
                             headers={"If-None-Match": etag})
    assert r.status == 304 and r.body == b""


def test_range_requests_for_seeking(world, clip):
    video = (world.camera.outbox / f"{clip.stem}.mp4").read_bytes()
    size = len(video)
    url = f"/api/v1/events/{clip.event}/clip"
    r = world.client.request("GET", url, headers={"Range": "bytes=100-199"})
    assert r.status == 206 and r.body == video[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{size}"
    r = world.client.request("GET", url, headers={"Range": "bytes=-50"})
    assert r.status == 206 and r.body == video[-50:]
    r = world.client.request("GET", url, headers={"Range": f"bytes={size - 10}-"})
    assert r.status == 206 and r.body == video[-10:]
    for bad in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}", "bytes=20-10"):
        r = world.client.request("GET", url, headers={"Range": bad})
        assert r.status == 416, bad
        assert r.headers["Content-Range"] == f"bytes */{size}"
        assert "error" in json.loads(r.body)


def test_a_nas_clip_is_offloaded_to_nginx(world, clip):
    day = upload(world, clip.stem)
    listed = wait_for_event(world, clip.event)
    assert listed["stored"] == "nas"
    for kind, suffix, mimetype in (("clip", ".mp4", "video/mp4"),
                                   ("thumbnail", ".jpg", "image/jpeg")):
        r = world.client.request("GET", f"/api/v1/events/{clip.event}/{kind}",
                                 headers={"X-Accel-Base": "/_nas/"})
        assert r.status == 200 and r.body == b""
        assert r.headers["X-Accel-Redirect"] == f"/_nas/{day.name}/{clip.stem}{suffix}"
        assert r.headers["Content-Type"] == mimetype
        assert (world.nas / r.headers["X-Accel-Redirect"].removeprefix("/_nas/")).is_file()
        # without nginx's header the app serves the file itself
        r = world.client.request("GET", f"/api/v1/events/{clip.event}/{kind}")
        assert r.status == 200 and r.body == (day / f"{clip.stem}{suffix}").read_bytes()
    # a base that is not a plain path prefix is ignored, never echoed into the redirect
    r = world.client.request("GET", f"/api/v1/events/{clip.event}/clip",
                             headers={"X-Accel-Base": "/_nas/../../etc/"})
    assert "X-Accel-Redirect" not in r.headers and r.body[:8] == (day / f"{clip.stem}.mp4"
                                                                  ).read_bytes()[:8]


def test_a_spool_clip_is_served_directly_even_behind_nginx(world, clip):
    card = json.loads((world.camera.outbox / f"{clip.stem}.json").read_text())
    event = "0123456789ab"
    stem = clip.stem.rsplit("_", 1)[0] + "_" + event
    outbox = world.camera.outbox
    for suffix in (".mp4", ".jpg"):
        shutil.copy(outbox / f"{clip.stem}{suffix}", outbox / f"{stem}{suffix}")
    (outbox / f"{stem}.json").write_text(json.dumps({**card, "event": event}))
    r = world.client.request("GET", f"/api/v1/events/{event}/clip",
                             headers={"X-Accel-Base": "/_nas/"})
    assert r.status == 200 and "X-Accel-Redirect" not in r.headers
    assert r.body == (world.camera.outbox / f"{stem}.mp4").read_bytes()


def test_event_list_parameters(world, clip):
    wait_for_event(world, clip.event)
    status, page = world.client.json("GET", "/api/v1/events?limit=1")
    assert status == 200 and len(page["events"]) == 1
    if page["next"]:
        status, older = world.client.json("GET", f"/api/v1/events?limit=1&cursor={page['next']}")
        assert status == 200 and older["events"][0]["event"] != page["events"][0]["event"]
    day = clip.stem.split("_")[1][:8]
    day = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    status, page = world.client.json("GET", f"/api/v1/events?day={day}&cause=manual")
    assert status == 200 and clip.event in [e["event"] for e in page["events"]]
    status, page = world.client.json("GET", "/api/v1/events?cause=peer")
    assert status == 200 and page == {"events": [], "next": None}


@pytest.mark.parametrize("query", [
    "limit=0", "limit=201", "limit=abc", "limit=-1", "offset=x", "day=2026-13-01",
    "day=../../etc", "cause=bogus", "cursor=%2e%2e%2f", "cursor=20260101T000000Z_XYZ",
])
def test_bad_event_queries_are_400(world, query):
    status, data = world.client.json("GET", f"/api/v1/events?{query}")
    assert status == 400 and data["error"]


@pytest.mark.parametrize("path", [
    "/api/v1/events/../../etc/passwd",
    "/api/v1/events/..%2F..%2Fetc%2Fpasswd",
    "/api/v1/events/..%2F..%2Fetc%2Fpasswd/clip",
    "/api/v1/events/%2e%2e%2f%2e%2e%2fetc%2fpasswd/thumbnail",
    "/api/v1/events/..%252F..%252Fetc%252Fpasswd/clip",
    "/api/v1/events/%2Fetc%2Fpasswd",
    "/api/v1/events/ABCDEF123/clip",
    "/api/v1/events/abcdef12%00/clip",
    "/api/v1/events/abcdef1234/clip",
    "/api/v1/events/abcdef1234",
    "/static/../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/api/v1/nothing",
    "/nothing",
])
def test_bad_paths_are_json_4xx_and_never_leak(world, path):
    r = world.client.request("GET", path)
    assert 400 <= r.status < 500, (path, r.status)
    assert r.headers["Content-Type"].startswith("application/json")
    assert "error" in json.loads(r.body)
    assert b"root:" not in r.body and b"Traceback" not in r.body


def test_wrong_method_is_405_json(world):
    r = world.client.request("PUT", "/api/v1/health", body={})
    assert r.status == 405 and json.loads(r.body)["error"]
    assert "GET" in r.headers.get("Allow", "")


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b'{"seconds": "ten"}',
                                  b'{"seconds": 0}', b'{"seconds": 601}', b'{"seconds": true}',
                                  b'{"seconds": 5, "cause": "api"}', b"\xff\xfe"])
def test_bad_record_bodies_are_400(world, body):
    r = world.client.request("POST", "/api/v1/record", body=body)
    assert r.status == 400 and json.loads(r.body)["error"]


def test_a_deeply_nested_body_is_400(world):
    r = world.client.request("PUT", "/api/v1/settings", body=b"[" * 30000 + b"]" * 30000)
    assert r.status == 400 and json.loads(r.body)["error"]


def test_a_huge_body_is_refused(world):
    r = world.client.request("POST", "/api/v1/record", body=b" " * (70 * 1024))
    assert r.status == 413 and json.loads(r.body)["error"]


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
    world.host.cooperation = SimpleNamespace(receiver=receiver)
    try:
        r = world.client.request("POST", "/api/v1/trigger", body=b'{"group":"other"}',
                                 headers={"X-Smartcam-Signature": "00ff", "X-Real-IP": "10.0.0.9"})
    finally:
        del world.host.cooperation
    assert r.status == 403 and json.loads(r.body) == {"error": "group other is not ours (test)"}
    assert seen == {"body": b'{"group":"other"}', "signature": "00ff", "remote": "10.0.0.9"}


# -- settings ---------------------------------------------------------------------------------


def test_get_settings_has_values_and_help_from_the_schema(world):
    status, data = world.client.json("GET", "/api/v1/settings")
    assert status == 200
    assert set(data["values"]["motion"]) == set(data["schema"]["motion"])
    from smartcam.config import SETTINGS

    assert data["schema"]["motion"]["min_area"]["help"] == SETTINGS["motion"]["min_area"].help
    assert data["schema"]["motion"]["enabled"]["type"] == "boolean"
    assert data["values"]["camera"]["pre_record"] == 1.0
    assert data["file"] == str(world.camera.conf)


def test_put_settings_saves_keeping_comments_and_pushes_motion_live(world):
    before = world.camera.conf.read_text()
    status, data = world.client.json("PUT", "/api/v1/settings", {
        "motion": {"min_area": 2.5, "min_frames": "4", "mask": "0,0 50,0 50,20"},
        "camera": {"post_record": 3},
    })
    assert status == 200, data
    assert data["saved"] is True and data["applied"] == ["motion"]
    assert data["restart"] == ["camera.post_record"]
    assert data["values"]["motion"]["min_area"] == 2.5
    after = world.camera.conf.read_text()
    expected = (before.replace("min_area = 0.5\n", "min_area = 2.5\n")
                .replace("min_frames = 3\n", "min_frames = 4\nmask = 0,0 50,0 50,20\n")
                .replace("post_record = 1\n", "post_record = 3\n"))
    assert after == expected
    # the running camera has them: a no-op `set` answers with its whole [motion]
    live = world.camera.client.request("set", motion={"despeckle": True})["motion"]
    assert live["min_area"] == 2.5 and live["min_frames"] == 4
    assert "(50.0, 20.0)" in live["mask"]  # the camera answers with its parsed polygons
    assert world.host.cfg.motion.min_area == 2.5
    status, again = world.client.json("GET", "/api/v1/settings")
    assert again["values"]["motion"]["min_frames"] == 4


@pytest.mark.parametrize("body, words", [
    ({"motion": {"min_area": 0}}, ["[motion] min_area", "expected"]),
    ({"motion": {"min_area": "lots"}}, ["[motion] min_area", '"lots"', "expected"]),
    ({"motion": {"mask": "0,0 10,10"}}, ["[motion] mask", "polygon 1 has 2 points"]),
    ({"motion": {"min_aera": 1}}, ["min_aera", "is not a setting"]),
    ({"motion": {"enabled": None}}, ["[motion] enabled", "must be a string or true/false"]),
    ({"motion": {"enabled": [1]}}, ["[motion] enabled"]),
    ({"motion": {"enabled": 1}}, ["[motion] enabled", "must be a string or true/false"]),
    ({"motion": {"min_area": True}}, ["[motion] min_area", "must be a string or a number"]),
    ({"motion": {"mask": 5}}, ["[motion] mask", "must be a string"]),
    ({"motion": {"min_frames": 2.5}}, ["[motion] min_frames", "expected a whole number"]),
    ({"motion": {"lightswitch": "5\nmin_area = 99"}}, ["[motion] lightswitch"]),
    ({"camera": {"name": "other"}}, ["[camera] name", "only in smartcam.conf"]),
    ({"camera": {"pre_record": 90}}, ["[camera] pre_record", "expected"]),
    ({"camera": {"max_clip": 5, "pre_record": 10}}, ["max_clip", "more than pre_record"]),
    ({"storage": {"nas": "/"}}, ["unknown section 'storage'"]),
    ({"motion": 5}, ["motion must be an object"]),
])
def test_bad_settings_are_400_with_the_schema_message_and_change_nothing(world, body, words):
    before = world.camera.conf.read_bytes()
    status, data = world.client.json("PUT", "/api/v1/settings", body)
    assert status == 400, data
    for word in words:
        assert word in data["error"], (word, data["error"])
    assert world.camera.conf.read_bytes() == before


@pytest.mark.parametrize("body", [b"", b"{oops", b"[]", b"null"])
def test_bad_settings_bodies_are_400(world, body):
    r = world.client.request("PUT", "/api/v1/settings", body=body)
    assert r.status == 400 and json.loads(r.body)["error"]


# -- live view --------------------------------------------------------------------------------


def test_snapshot(world):
    r = world.client.request("GET", "/snapshot.jpg")
    assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert r.body[:2] == b"\xff\xd8" and r.body[-2:] == b"\xff\xd9"


def read_parts(iterator, count):
    buffer, parts = b"", []
    while len(parts) < count:
        buffer += next(iterator)
        while True:
            head, sep, rest = buffer.partition(b"\r\n\r\n")
            if not sep:
                break
            assert head.startswith(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ")
            length = int(head.rsplit(b" ", 1)[1])
            if len(rest) < length + 2:
                break
            parts.append(rest[:length])
            buffer = rest[length + 2:]
    return parts


def test_live_mjpeg_streams_new_frames(world):
    status, headers, iterator, close = world.client.stream("/live.mjpg")
    try:
        assert status == 200
        assert headers["Content-Type"] == "multipart/x-mixed-replace; boundary=frame"
        parts = read_parts(iterator, 3)
    finally:
        close()
    assert all(p[:2] == b"\xff\xd8" and p[-2:] == b"\xff\xd9" for p in parts)
    # each part is a new picture: the empty scene's noise alternates between two patterns
    assert parts[0] != parts[1] != parts[2]


def test_closed_streams_free_their_viewer_slot(world):
    from smartcam.host.web import MAX_VIEWERS

    for _ in range(MAX_VIEWERS + 2):
        status, _, iterator, close = world.client.stream("/live.mjpg")
        try:
            assert status == 200
            next(iterator)
        finally:
            close()


def test_the_page_and_its_files(world):
    r = world.client.request("GET", "/")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert b'<script type="module" src="/static/app.js">' in r.body
    # app.js imports the other modules; a browser runs a module only with a JavaScript type
    files = [("style.css", "text/css")] + [(p.name, "javascript") for p in STATIC.glob("*.js")]
    assert len(files) > 2
    for name, kind in files:
        r = world.client.request("GET", f"/static/{name}")
        assert r.status == 200 and kind in r.headers["Content-Type"], (name, r.headers)
    status, doc = world.client.json("GET", "/api/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.0")
    r = world.client.request("HEAD", "/api/v1/health")
    assert r.status == 200 and r.body == b""


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
    assert status == 200 and events == {"events": [], "next": None}
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


def test_an_incident_lists_this_cameras_clips_of_it(world, clip):
    status, data = world.client.json("GET", f"/api/v1/incidents/{clip.card['incident']}")
    assert status == 200 and clip.event in [e["event"] for e in data["events"]]
    assert all(clip.card["incident"] in e["incidents"] for e in data["events"])
    status, data = world.client.json("GET", "/api/v1/incidents/fedcba9876543210")
    assert status == 200 and data["events"] == []
    status, data = world.client.json("GET", "/api/v1/incidents/..%2F..%2Fetc")
    assert status in (400, 404) and "error" in data
