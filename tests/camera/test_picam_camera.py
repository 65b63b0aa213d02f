"""The camera process on the Pi camera path (the fake picamera2, as a Pi 5 and as a Pi 4):
the last frames reach the clip, a wedged driver ends the process, a Pi 4 refuses what its
encoder cannot do with a config error."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from smartcam.camera.picam import Picamera2Source
from smartcam.camera.process import Camera
from smartcam.config import from_text
from tests.camera.camproc import CameraProcess
from tests.camera.conftest import FAKES
from tests.clipcheck import ffprobe, published

pytestmark = pytest.mark.timeout(120)

CONF = """\
[camera]
name = cam-pi
source = picamera2
resolution = 352x240
lores = 200x112
fps = 30
bitrate = 400k
pre_record = 1
post_record = 30
stall_timeout = 3
control_socket = {dir}/control.sock
live_path = {dir}/live.jpg

[storage]
spool = {dir}/spool
"""


def test_a_clip_open_at_close_ends_within_a_frame_of_the_last_frame(fake, tmp_path):
    cfg = from_text(CONF.format(dir=tmp_path))
    c = cfg.camera
    source = Picamera2Source(*c.resolution, *c.lores, c.fps, c.bitrate)
    camera = Camera(cfg, source)
    stop = threading.Event()
    camera.run(stop, duration=1.5)  # a keyframe for the pre-roll, then a clip to be cut short
    camera.handle({"cmd": "trigger", "seconds": 30})
    camera.run(stop, duration=1.0)
    last_frame = camera.now + source.epoch
    camera.close()
    (card,) = published(camera.spool.outbox)
    end = card_end(card)
    frame = 1 / c.fps
    # The clip holds the last frame read (a Pi 5's encoder gave it up only when flushed) and
    # at most the frames the sensor made between that read and the stop.
    assert end >= last_frame + frame - 1e-3, (end - last_frame) * c.fps
    assert end <= last_frame + 3 * frame, (end - last_frame) * c.fps
    assert ffprobe(camera.spool.outbox / card["video"]).frames == card["frames"]


def card_end(card: dict) -> float:
    from datetime import datetime

    return datetime.fromisoformat(card["end"].replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("platform", ["vc4", "pisp"])
def test_a_wedged_camera_driver_stops_the_watchdog_and_exits_75(tmp_path, platform):
    env = {
        "PYTHONPATH": os.pathsep.join([str(FAKES), os.environ.get("PYTHONPATH", "")]),
        "FAKE_PICAMERA2_PLATFORM": platform,
        "FAKE_PICAMERA2_WEDGE_AFTER": "3",
    }
    cam = CameraProcess(tmp_path, source="picamera2", env=env)
    try:
        cam.start()
        code = cam.proc.wait(timeout=60)
        exited = time.monotonic()
        output = cam.output()
        assert code == 75, output
        assert "has not moved" in output and "systemd restarts it" in output
        pings = [t for t, m in cam.timed_notifications() if m == "WATCHDOG=1"]
        assert pings, "the watchdog was pinged while frames came"
        # stall_timeout is 3: no ping in the seconds before the exit, so systemd's watchdog
        # would have ended a process that did not end itself.
        assert exited - pings[-1] > 2.5
    finally:
        cam.stop()


def test_a_pi4_resolution_its_encoder_cannot_do_is_a_config_error_with_its_line(tmp_path):
    conf = tmp_path / "smartcam.conf"
    conf.write_text(CONF.format(dir=tmp_path).replace("352x240", "2592x1944"))
    env = dict(os.environ, FAKE_PICAMERA2_PLATFORM="vc4",
               PYTHONPATH=os.pathsep.join([str(FAKES), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "smartcam", "camera", "--config", str(conf)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 78, done.stderr
    assert f'{conf}:4: [camera] resolution = "2592x1944": ' in done.stderr
    assert "Raspberry Pi 4" in done.stderr and "Traceback" not in done.stderr

