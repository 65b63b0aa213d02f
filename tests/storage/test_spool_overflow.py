"""A RAM disk smaller than one clip, and no NAS: the camera and its host as systemd runs them keep
recording, split the clip as the room runs out, drop the oldest parts loudly, and leave nothing
stuck."""

from __future__ import annotations

import pytest

from smartcam.apiclient import CameraApi
from tests.host.hostproc import HostProcess
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(180)


def test_a_spool_smaller_than_a_clip_keeps_recording_and_shows_every_drop(tmp_path, tmpfs):
    proc = HostProcess(tmp_path, source="synthetic:walkers")
    tmpfs("4m", at=tmp_path / "spool")  # bitrate 1M: 4 MiB is ~30 s; the event is 10 minutes
    proc.conf.write_text(proc.conf.read_text().replace("type = local", "type = mount"))
    with proc:  # the NAS is a mount point with nothing mounted: every clip waits in the spool
        api = CameraApi(proc.url)
        wait_for(lambda: api.health()["camera_connected"], what="the camera link")
        event = api.record(seconds=600)["event"]
        health = wait_for(lambda: (h := api.health())["storage"]["dropped"] >= 2 and h,
                          timeout=120, what="two parts of the clip dropped")
        status = api.status()["status"]
        assert status["state"] == "recording" and not status["spool_error"]
        assert status["clip"]["event"] != event  # a later part of the same event
        recording = sorted(p.name for p in (tmp_path / "spool" / "recording").iterdir())
        assert len([n for n in recording if n.endswith(".mp4")]) == 1  # only the open part
        text = "\n".join(p["message"] for p in health["problems"])
        assert "dropped" in text and "They are lost" in text  # on the page, as a banner
        dropped = health["storage"]["dropped_recent"]
        assert all(d["reason"].startswith("the spool is full") for d in dropped)
    assert "No space left" not in proc.output("camera")
