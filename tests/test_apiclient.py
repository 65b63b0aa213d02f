"""The API client against a real camera and host: typed calls, the camera's own error messages."""

from __future__ import annotations

import pytest

from smartcam.apiclient import ApiFailed, ApiUnreachable, CameraApi
from tests.host.hostproc import HostProcess, free_port
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    with HostProcess(tmp_path_factory.mktemp("apiclient"), source="synthetic:empty") as proc:
        yield proc


def test_the_calls_answer_what_the_api_documents(camera):
    api = CameraApi(camera.url)
    assert api.health()["camera"] == "cam-test"
    status = wait_for(lambda: _status(api), what="the camera's status")
    assert status["status"]["camera"] == "cam-test" and "levels" in status
    recorded = api.record(seconds=1.0)
    assert recorded["cause"] == "manual"
    page = wait_for(lambda: api.events(limit=5)["events"] or None, what="the clip")
    (clip,) = page
    assert clip["event"] == recorded["event"]
    assert api.event(clip["event"])["incident"] == recorded["incident"]
    assert [e["event"] for e in api.incident(recorded["incident"])["events"]] == [clip["event"]]
    assert api.events(cause="peer")["events"] == []
    assert api.peers()["enabled"] is False
    assert "motion" in api.settings()["values"]


def _status(api: CameraApi) -> dict | None:
    try:
        return api.status()
    except ApiFailed as err:  # 503 until the host's link to the camera is up
        assert err.status == 503
        return None


def test_an_error_carries_the_cameras_status_and_message(camera):
    api = CameraApi(camera.url)
    with pytest.raises(ApiFailed) as caught:
        api.event("0123456789ab")
    assert caught.value.status == 404 and "no clip of event" in caught.value.message
    with pytest.raises(ApiFailed) as caught:
        api.change_settings({"motion": {"min_area": "lots"}})
    assert caught.value.status == 400 and "min_area" in caught.value.message


def test_a_camera_that_is_not_there_is_unreachable():
    with pytest.raises(ApiUnreachable):
        CameraApi(f"http://127.0.0.1:{free_port()}", timeout=2).health()
    with pytest.raises(ValueError):
        CameraApi("ftp://camera")


def test_a_body_bigger_than_anything_the_api_takes_is_refused_before_it_is_sent(camera):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", camera.port, timeout=5)
    try:  # announce 100 MB and send none of it: the server must not wait for (or store) it
        conn.putrequest("PUT", "/api/v1/settings")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(100 << 20))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()
