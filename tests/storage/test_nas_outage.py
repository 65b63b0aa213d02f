"""The show: a real NAS goes away while the camera records, and every clip still arrives.

A real camera process records a clip every 2 s (manual triggers over its control socket) into
its spool; the uploader copies them to a really mounted filesystem (Samba over cifs when the
kernel has cifs, else an ext4 image on a loop device: see nasfs.py). The NAS is lazily
unmounted for a while: health must say so, the backlog must grow, and nothing may appear in
the bare mount point. Mounted back, every clip must arrive whole (sha256 equal to its sidecar)
and the spool must empty.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from smartcam.clips.sidecar import sha256_file
from smartcam.config import from_text
from smartcam.storage.uploader import Uploader
from smartcam.timing import Timing
from tests.camera.camproc import CameraProcess
from tests.clipcheck import nas_folder
from tests.storage.nasfs import mounted_nas

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="mounts a real filesystem as the NAS: needs root (CI runs as root)")

CONF = """\
[camera]
name = cam-test
# clips of a small camera, so that a spool of a few MiB holds one (the config checks it)
bitrate = 500k
max_clip = 20
[storage]
spool = {spool}
nas = {nas}
type = {type}
spool_size = 64M
"""
TRIGGER_EVERY = 2.0


@pytest.fixture
def outage_timing():
    """The NAS must be noticed gone and back within a second or two, not a minute."""
    return Timing(rescan=2.0, budget=0.2, backoff_first=0.2, backoff_cap=1.0, mount_poll=0.2,
                  tick=0.1)


class Driver:
    """Triggers a clip every TRIGGER_EVERY seconds and collects the camera's clip_ready cards."""

    def __init__(self, cam: CameraProcess):
        self.cam = cam
        self.cards: dict[str, dict] = {}
        self.next_trigger = time.monotonic()

    def pump(self) -> dict:
        status = self.cam.client.request("status")["status"]
        while self.cam.client.pending_events:
            event = self.cam.client.pending_events.popleft()
            if event["event"] == "clip_ready":
                card = event["clip"]
                self.cards[card["video"].removesuffix(".mp4")] = card
        return status

    def record(self, seconds: float, check=lambda: None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if time.monotonic() >= self.next_trigger:
                self.cam.client.request("trigger", cause="manual", seconds=0.5)
                self.next_trigger += TRIGGER_EVERY
            self.pump()
            check()
            time.sleep(0.1)

    def until(self, what: str, condition, timeout: float = 20.0, check=lambda: None):
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            self.pump()
            check()
            time.sleep(0.1)
        return result


def test_clips_wait_out_a_nas_outage_and_all_arrive(tmp_path, outage_timing):
    with mounted_nas(tmp_path / "nasfs") as nas:
        print(f"NAS: {nas.kind} at {nas.point} {nas.note}")
        (tmp_path / "cam").mkdir()
        cam = CameraProcess(tmp_path / "cam", source="synthetic:empty", pre_record=1,
                            post_record=1)
        stop = threading.Event()
        thread = None
        try:
            cam.start()
            cfg = from_text(CONF.format(spool=cam.dir / "spool", nas=nas.point, type=nas.kind))
            uploader = Uploader(cfg, outage_timing)
            thread = threading.Thread(target=uploader.run, args=(stop,), name="uploader")
            thread.start()
            drive = Driver(cam)
            health = uploader.health

            drive.record(4.5)
            drive.until("a first upload", lambda: health()["uploaded"] >= 1)
            assert health()["nas_mounted"] is True and health()["nas_fstype"]

            def bare_point_is_empty() -> None:
                assert not nas.mounted()
                assert list(nas.point.iterdir()) == [], "written into the bare mount point"

            nas.unmount(lazy=True)
            drive.until("health to say not mounted", lambda: health()["nas_mounted"] is False,
                        timeout=5, check=bare_point_is_empty)
            uploaded_before = health()["uploaded"]
            backlog_before = health()["backlog_clips"]
            drive.record(8.0, check=bare_point_is_empty)
            during = health()
            assert during["nas_mounted"] is False and during["nas_writable"] is False
            assert during["last_error"] and "not mounted" in during["nas_error"]
            assert during["backlog_clips"] >= backlog_before + 3
            assert during["uploaded"] == uploaded_before
            bare_point_is_empty()

            nas.mount()
            drive.next_trigger = float("inf")  # no more clips; let the last one finish
            drive.until("the camera to finish its last clip", lambda: (
                drive.pump()["state"] == "idle"
                and not list((cam.dir / "spool" / "recording").iterdir())), timeout=15)
            drive.until("the backlog to go up", lambda: (
                not list(cam.outbox.iterdir()) and health()["backlog_clips"] == 0
                and health()["uploaded"] == len(drive.cards)))
            after = health()
            assert after["nas_mounted"] and after["nas_writable"] and after["last_error"] is None
            assert (after["dropped"], after["rejected"]) == (0, 0)
        finally:
            stop.set()
            if thread:
                thread.join(timeout=30)
            cam.stop()

        assert len(drive.cards) >= 6
        for stem, card in drive.cards.items():
            folder = nas_folder(cfg.storage.nas, stem)
            assert sha256_file(folder / f"{stem}.mp4") == card["sha256"], stem
            assert json.loads((folder / f"{stem}.json").read_text()) == card
            assert (folder / f"{stem}.jpg").stat().st_size > 0
        leftovers = [p for p in Path(nas.point).rglob(".*")
                     if p.name not in ("lost+found", ".smartcam-probe")]
        assert leftovers == []  # no temporary names left: only the one probe file
        nas.unmount(lazy=False)
        assert list(nas.point.iterdir()) == []  # still nothing under the mount
