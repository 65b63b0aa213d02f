"""A real video (Debian's opencv-doc vtest.avi: pedestrians) played as a camera."""

from __future__ import annotations

import pytest

from smartcam.camera.filesource import FileSource
from smartcam.camera.frames import SourceInfo
from smartcam.errors import SourceError
from tests.camera.camproc import CameraProcess
from tests.clipcheck import ffprobe
from tests.vtest import footage_path

INFO = SourceInfo(640, 480, 30, 320, 240)  # vtest.avi is 10 fps: the file's rate wins


def test_frames_are_scaled_encoded_and_looped():
    source = FileSource(footage_path(), INFO, 1_000_000, pace=False)
    try:
        times, keyframes, frames = [], 0, 0
        for _ in range(820):  # vtest.avi has 795 frames: this goes round once
            capture = source.read()
            assert capture.lores.shape == (240, 320) and capture.yuv is None
            times.append(capture.t)
            keyframes += sum(p.keyframe for p in capture.packets)
            frames += len(capture.packets)
        assert all(b > a for a, b in zip(times, times[1:], strict=False))
        assert source.info.fps == 10
        assert abs((times[-1] - times[0]) - 819 / 10) < 1e-6  # paced at the file's own rate
        assert frames >= 818 and keyframes >= 80  # one keyframe per second of video
        source.want_main = True
        assert source.read().yuv.shape == (720, 640)
    finally:
        source.close()


def test_a_missing_or_broken_file_is_a_clear_source_error(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        FileSource(tmp_path / "nothing.mp4", INFO, 1_000_000)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(SourceError, match="not a video"):
        FileSource(junk, INFO, 1_000_000)


def test_the_camera_records_the_pedestrians(tmp_path):
    cam = CameraProcess(tmp_path, source=f"file:{footage_path()}", pre_record=1, post_record=1)
    cam.conf.write_text(cam.conf.read_text().replace("max_clip = 60", "max_clip = 5"))
    try:
        cam.start()
        card = cam.client.next_event("clip_ready", timeout=60)["clip"]
        assert card["cause"] == "motion" and card["motion_peak"] > 0.5
        probed = ffprobe(cam.outbox / card["video"])
        assert (probed.width, probed.height) == (640, 480)
        assert probed.frames == card["frames"] and card["duration"] <= 5 + 1
    finally:
        cam.stop()
