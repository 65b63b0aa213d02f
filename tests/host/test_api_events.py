"""The API's clips: the list and its filters, one event, its files (ranges, nginx
offload), incidents."""

from __future__ import annotations

import json
import shutil
import threading
import time

import pytest

from tests.host.wsgiclient import upload

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
        target = f"/_nas/{world.cfg.camera.name}/{day.name}/{clip.stem}{suffix}"
        assert r.headers["X-Accel-Redirect"] == target  # below the NAS root: nginx's alias
        assert r.headers["Content-Type"] == mimetype
        assert (world.nas.parent / target.removeprefix("/_nas/")).is_file()
        # without nginx's header the app serves the file itself
        r = world.client.request("GET", f"/api/v1/events/{clip.event}/{kind}")
        assert r.status == 200 and r.body == (day / f"{clip.stem}{suffix}").read_bytes()
    # a base that is not a plain path prefix is ignored, never echoed into the redirect
    r = world.client.request("GET", f"/api/v1/events/{clip.event}/clip",
                             headers={"X-Accel-Base": "/_nas/../../etc/"})
    assert "X-Accel-Redirect" not in r.headers and r.body[:8] == (day / f"{clip.stem}.mp4"
                                                                  ).read_bytes()[:8]


def test_a_nas_that_does_not_answer_is_not_read_the_spool_copy_is(world, clip, tmp_path):
    """nginx's worker (or a web thread) reading a dead share hangs for a minute: while the NAS
    does not answer, a clip comes from its spool copy, or a quick 503 says why not."""
    day = upload(world, clip.stem)
    library = world.host.library
    url = f"/api/v1/events/{clip.event}/clip"
    assert library.answering() and world.client.request(
        "GET", url, headers={"X-Accel-Base": "/_nas/"}).headers.get("X-Accel-Redirect")
    library.nas_mounted = lambda: False  # the share went away (a hung one: its look grows old)
    outbox = world.camera.outbox
    try:
        r = world.client.request("GET", url, headers={"X-Accel-Base": "/_nas/"})
        assert r.status == 200 and "X-Accel-Redirect" not in r.headers
        assert r.body == (outbox / f"{clip.stem}.mp4").read_bytes()
        for suffix in (".json", ".jpg", ".mp4"):  # no copy left in the spool
            (outbox / f"{clip.stem}{suffix}").rename(tmp_path / f"{clip.stem}{suffix}")
        library.scan()
        assert world.client.json("GET", f"/api/v1/events/{clip.event}")[0] == 200  # still known
        for kind in ("clip", "thumbnail"):
            r = world.client.request("GET", f"/api/v1/events/{clip.event}/{kind}",
                                     headers={"X-Accel-Base": "/_nas/"})
            assert r.status == 503 and "X-Accel-Redirect" not in r.headers
            assert "NAS is not answering" in json.loads(r.body)["error"]
            assert r.headers["Retry-After"]
    finally:
        for suffix in (".mp4", ".jpg", ".json"):
            if (tmp_path / f"{clip.stem}{suffix}").exists():
                (tmp_path / f"{clip.stem}{suffix}").rename(outbox / f"{clip.stem}{suffix}")
        library.nas_mounted = lambda: True
        shutil.rmtree(day)
        library.scan()


def test_a_spool_clip_is_served_directly_even_behind_nginx(world, clip):
    card = json.loads((world.camera.outbox / f"{clip.stem}.json").read_text())
    event = "0123456789ab"
    stem = clip.stem.rsplit("_", 1)[0] + "_" + event
    outbox = world.camera.outbox
    for suffix in (".mp4", ".jpg"):
        shutil.copy(outbox / f"{clip.stem}{suffix}", outbox / f"{stem}{suffix}")
    (outbox / f"{stem}.json").write_text(json.dumps({**card, "event": event}))
    world.host.library.scan()
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
    assert status == 200 and (page["events"], page["next"]) == ([], None)
    assert page["listed_at"]  # as of when the list was last looked at


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


def test_an_incident_lists_this_cameras_clips_of_it(world, clip):
    status, data = world.client.json("GET", f"/api/v1/incidents/{clip.card['incident']}")
    assert status == 200 and clip.event in [e["event"] for e in data["events"]]
    assert all(clip.card["incident"] in e["incidents"] for e in data["events"])
    status, data = world.client.json("GET", "/api/v1/incidents/fedcba9876543210")
    assert status == 200 and data["events"] == []
    status, data = world.client.json("GET", "/api/v1/incidents/..%2F..%2Fetc")
    assert status in (400, 404) and "error" in data


def test_a_clip_that_links_out_of_the_cameras_folders_is_not_served(world, clip, tmp_path):
    day = upload(world, clip.stem)
    secret = tmp_path / "smartcam.conf"
    secret.write_text("[storage]\npassword = hunter22\n")
    planted = day / f"{clip.stem}.jpg"
    planted.unlink()
    planted.symlink_to(secret)  # what anyone who can write to the share could do
    (world.camera.outbox / f"{clip.stem}.jpg").rename(tmp_path / "spool-thumbnail.jpg")
    try:
        r = world.client.request("GET", f"/api/v1/events/{clip.event}/thumbnail")
        assert r.status == 404 and b"hunter22" not in r.body
    finally:
        (tmp_path / "spool-thumbnail.jpg").rename(world.camera.outbox / f"{clip.stem}.jpg")
        shutil.rmtree(day)


def test_a_hung_nas_never_holds_up_the_api(world, clip):
    release, stuck = threading.Event(), threading.Event()
    library = world.host.library
    real_folder = library._folder

    def hanging_folder(folder, kind):  # listing and stat on the NAS stop answering
        stuck.set()
        release.wait(30)
        return real_folder(folder, kind)

    library._folder = hanging_folder
    try:
        library.wake()
        assert stuck.wait(10)  # the indexer is now stuck in the hung NAS
        for _ in range(30):  # more requests than the web server has threads
            status, page = world.client.json("GET", "/api/v1/events")
            assert status == 200 and clip.event in [e["event"] for e in page["events"]]
            assert world.client.json("GET", f"/api/v1/events/{clip.event}")[0] == 200
            assert world.client.json("GET", "/api/v1/health")[0] == 200
    finally:
        library._folder = real_folder
        release.set()
