"""The camera process as systemd runs it: control socket, events, crash safety."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime

import pytest

from smartcam.errors import ControlError
from tests import stepclock
from tests.camera.camproc import CameraProcess
from tests.clipcheck import ffprobe, published
from tests.waiting import wait_for


@pytest.fixture
def camera(tmp_path):
    procs = []

    def start(**kwargs) -> CameraProcess:
        procs.append(CameraProcess(tmp_path, **kwargs))
        procs[-1].start()
        return procs[-1]

    yield start
    for p in procs:
        p.stop()


def frames(cam) -> int:
    return cam.client.request("status")["status"]["frames"]


def wait_frames(cam, n: int) -> None:
    """Wait until the camera has read n more frames (fps = 20 in camproc's config)."""
    target = frames(cam) + n
    wait_for(lambda: frames(cam) >= target, timeout=60, what=f"{n} more frames")


def test_ready_status_and_watchdog(camera):
    cam = camera()
    status = cam.client.request("status")["status"]
    assert status["camera"] == "cam-test" and status["state"] == "idle"
    wait_frames(cam, 21)
    wait_for(lambda: "WATCHDOG=1" in cam.notifications(), what="a watchdog ping")
    assert any(m.startswith("READY=1") for m in cam.notifications())


def test_a_walker_records_a_motion_clip(camera):
    cam = camera(source="synthetic:walkers")
    start = cam.client.next_event("motion_start", timeout=30)
    assert start["score"] > 0 and start["boxes"]
    ready = cam.client.next_event("clip_ready", timeout=60)
    card = ready["clip"]
    assert card["cause"] == "motion" and card["motion_peak"] > 0
    assert len(card["heatmap"]) == 16 and max(max(row) for row in card["heatmap"]) == 255
    assert ffprobe(cam.outbox / card["video"]).frames == card["frames"]


def test_trigger_records_with_incident_and_origin(camera):
    cam = camera()
    wait_frames(cam, 30)  # a pre-roll to record
    reply = cam.client.request("trigger", cause="peer", seconds=1.0, incident="abc123",
                               origin="cam-other")
    assert reply["incident"] == "abc123"
    card = cam.client.next_event("clip_ready", timeout=30)["clip"]
    assert (card["cause"], card["incident"], card["origin"]) == ("peer", "abc123", "cam-other")
    assert card["event"] == reply["event"]
    assert card["pre_record"] >= 1.0


def test_a_trigger_reckoned_on_a_stepped_clock_is_taken(camera, tmp_path):
    """NTP steps the Pi's clock back 10 s while the camera runs. The host reckons a peer's
    lease on the same (new) clock: the camera must not find it in the past."""
    if reason := stepclock.problem():
        pytest.skip(reason)
    clock = tmp_path / "clock"
    cam = camera(env=stepclock.env(clock))
    stepclock.step(clock, -10)
    time.sleep(stepclock.RELOAD)  # the library rereads the file once a second; nothing to poll
    wait_frames(cam, 10)
    reply = cam.client.request("trigger", cause="peer", until=time.time() - 10 + 3,
                               incident="stepped", origin="cam-other")
    assert reply["incident"] == "stepped"
    card = cam.client.next_event("clip_ready", timeout=30)["clip"]
    start = datetime.fromisoformat(card["start"].replace("Z", "+00:00")).timestamp()
    assert abs(start + 10 - time.time()) < 15, "the clip is named by the stepped clock"


@pytest.mark.parametrize("line", [
    b"not json\n", b"[1, 2]\n", b'{"cmd": "explode"}\n', b'{"no": "cmd"}\n',
    b'{"cmd": "trigger", "seconds": "ten"}\n', b'{"cmd": "trigger", "cause": "aliens"}\n',
    b'{"cmd": "trigger", "until": 1}\n', b'{"cmd": "live", "on": "yes"}\n',
    b'{"cmd": "set", "motion": {"min_area": -4}}\n', b'{"cmd": "set", "motion": {"bogus": 1}}\n',
    b'{"cmd": "set", "motion": 7}\n', b"\xff\xfe\n",
])
def test_a_malformed_message_gets_an_error_and_the_camera_lives(camera, line):
    cam = camera()
    cam.client.send_line(line)
    reply = cam.client.read_reply()
    assert reply["ok"] is False and reply["error"]
    assert "Traceback" not in reply["error"]
    assert cam.client.request("status")["ok"]


def test_set_changes_motion_settings_through_the_schema(camera):
    cam = camera()
    reply = cam.client.request("set", motion={"min_area": 2.5, "min_frames": 5})
    assert reply["motion"]["min_area"] == 2.5 and reply["motion"]["min_frames"] == 5
    with pytest.raises(ControlError, match="min_are"):
        cam.client.request("set", motion={"min_are": 1})


def test_live_jpeg_only_while_watched(camera):
    cam = camera()
    live = cam.dir / "run" / "live.jpg"
    wait_frames(cam, 20)
    assert not live.exists()
    cam.client.request("live", on=True, seconds=30)
    deadline = time.monotonic() + 10
    while not live.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.read_bytes()[:2] == b"\xff\xd8"
    first = live.stat().st_mtime_ns
    wait_for(lambda: live.stat().st_mtime_ns != first, what="a new picture while watched")
    cam.client.request("live", on=False)  # the reply comes after the frame loop's turn
    stopped = live.stat().st_mtime_ns
    wait_frames(cam, 20)  # a second of frames (live_fps 10) with nobody watching
    assert live.stat().st_mtime_ns == stopped


def test_kill_9_mid_recording_leaves_a_clip_finished_on_restart(camera):
    cam = camera(pre_record=1)
    wait_frames(cam, 30)
    cam.client.request("trigger", cause="manual", seconds=60)
    wait_frames(cam, 80)  # four seconds: several fragments written
    assert any(cam.recording.glob("*.mp4"))
    assert cam.kill(signal.SIGKILL) == -signal.SIGKILL
    # Nothing half-written was ever published.
    assert not any(cam.outbox.glob("*.mp4")) and not any(cam.outbox.glob("*.tmp"))
    cam.start()  # recovery runs before the first frame
    cam.client.request("status")
    [card] = published(cam.outbox)
    assert card["interrupted"] is True and card["cause"] == "manual"
    probed = ffprobe(cam.outbox / card["video"])
    assert probed.frames == card["frames"] >= 20 * 3
    assert not any(cam.recording.iterdir())


def test_sigterm_finishes_the_open_clip(camera):
    cam = camera()
    wait_frames(cam, 30)
    cam.client.request("trigger", cause="manual", seconds=60)
    wait_frames(cam, 30)
    assert cam.kill(signal.SIGTERM) == 0
    [card] = published(cam.outbox)
    assert card["interrupted"] is False and card["frames"] > 20


def test_a_bad_config_exits_78_with_file_and_line(tmp_path):
    import subprocess
    import sys

    conf = tmp_path / "smartcam.conf"
    conf.write_text("[camera]\nfps = fast\n")
    result = subprocess.run([sys.executable, "-m", "smartcam", "camera", "--config", str(conf)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == os.EX_CONFIG
    assert f"{conf}:2" in result.stderr and "fps" in result.stderr
    assert "Traceback" not in result.stderr


def test_events_are_json_lines(camera):
    cam = camera()
    beat = cam.client.next_event("heartbeat", timeout=15)
    json.dumps(beat)
    assert beat["status"]["camera"] == "cam-test"


class StallingSource:
    """A synthetic camera whose frames stop coming after `frames`."""

    def __init__(self, inner, frames: int):
        self.inner, self.left = inner, frames
        self.info, self.epoch, self.want_main = inner.info, inner.epoch, False
        self.problem = None

    def read(self, timeout: float):
        from smartcam.errors import CameraStall

        if self.left == 0:
            raise CameraStall(f"no frame from the camera within {timeout} s")
        self.left -= 1
        return self.inner.read(timeout)

    def close(self):
        return self.inner.close()


def test_a_stall_exits_75_after_watchdog_pings_stop(tmp_path, monkeypatch):

    from smartcam import cli
    from smartcam.camera import process

    cam = CameraProcess(tmp_path)  # only for its config file and notify socket
    monkeypatch.setenv("NOTIFY_SOCKET", str(cam.notify_path))
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # ping every 50 ms of frames
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    real_open = process.open_source
    monkeypatch.setattr(
        process, "open_source", lambda camera, pace=True: StallingSource(real_open(camera), 40))
    assert cli.main(["camera", "--config", str(cam.conf)]) == os.EX_TEMPFAIL
    messages = cam.notifications()
    cam.stop()
    assert messages[0].startswith("READY=1")
    pings = messages.count("WATCHDOG=1")
    assert 10 <= pings <= 40  # 40 frames at 20 fps: about one ping per 50 ms, none after
    assert messages[-1] == "STOPPING=1"


def test_a_muted_connection_gets_replies_but_no_events(camera):
    from smartcam.control.client import ControlClient

    cam = camera()
    with ControlClient(cam.socket, keep_events=False) as quiet:
        time.sleep(2.5)  # level events every second go to everyone else
        quiet._sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            quiet._read()  # nothing was sent to it
        quiet._sock.settimeout(5)
        assert quiet.request("status")["status"]["camera"] == "cam-test"
    assert cam.client.next_event("level", timeout=5)["event"] == "level"


def test_a_folder_the_camera_cannot_write_is_a_config_error_naming_its_key(tmp_path):
    import subprocess
    import sys

    conf = tmp_path / "smartcam.conf"
    conf.write_text(f"[camera]\nsource = synthetic\ncontrol_socket = {tmp_path}/control.sock\n"
                    f"live_path = {tmp_path}/live.jpg\n[storage]\nspool = /proc/smartcam/spool\n")
    result = subprocess.run([sys.executable, "-m", "smartcam", "camera", "--config", str(conf)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == os.EX_CONFIG, result.stderr
    assert f'{conf}:6: [storage] spool = "/proc/smartcam/spool": the camera cannot write' \
        in result.stderr
    assert "Traceback" not in result.stderr


def test_a_pre_roll_bigger_than_a_pi_zeros_memory_is_refused(tmp_path):
    from smartcam.camera.process import check_memory
    from smartcam.config import from_text
    from smartcam.errors import SettingError

    pi_zero = tmp_path / "meminfo"
    pi_zero.write_text("MemTotal:         427756 kB\nMemFree:  100 kB\n")
    check_memory(from_text("[camera]\nbitrate = 4M\npre_record = 5\n"), pi_zero)
    with pytest.raises(SettingError) as caught:
        check_memory(from_text("[camera]\nbitrate = 50M\npre_record = 60\nmax_clip = 61\n"
                               "[storage]\nspool_size = 1G\n"), pi_zero)
    assert (caught.value.section, caught.value.key) == ("camera", "pre_record")
    assert "use at most 16 s" in caught.value.message
