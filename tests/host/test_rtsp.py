"""RTSP out: real `smartcam camera` and `smartcam host` processes serve rtsp://.../<name> through
GStreamer's RTSP server, and real clients (ffprobe, PyAV's FFmpeg) play it over TCP and UDP.

Skipped where GStreamer's RTSP server is not installed (the Makefile installs it: Debian's
python3-gi and gir1.2-gst-rtsp-server-1.0, as on the Pi).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time

import av
import pytest

from smartcam.camera import clockstamp
from smartcam.errors import SmartcamError
from smartcam.host.rtsp import gstreamer
from tests.host.hostproc import HostProcess, free_port

try:
    gstreamer()
    MISSING = ""
except SmartcamError as err:
    MISSING = str(err)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(MISSING), reason=MISSING)]
USER, PASSWORD = "nvr", "rtsp-secret-1"


def start(tmp_path, credentials: bool = False) -> tuple[HostProcess, str]:
    port = free_port()
    extra = f"\n[rtsp]\nenabled = true\nlisten = 127.0.0.1:{port}\n"
    if credentials:
        extra += f"username = {USER}\npassword = {PASSWORD}\n"
    processes = HostProcess(tmp_path, source="synthetic:walkers", extra=extra).start()
    deadline = time.monotonic() + 20
    while True:  # the RTSP server starts on its own thread, beside the web server
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                processes.stop()
                log = processes.output("host")
                raise AssertionError(f"RTSP out did not start:\n{log}") from None
            time.sleep(0.1)
    return processes, f"rtsp://127.0.0.1:{port}/{processes.name}"


def ffprobe(url: str, transport: str = "tcp") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", transport, "-show_streams", "-of", "json",
         url], capture_output=True, text=True, timeout=60)


def test_ffprobe_sees_the_cameras_h264_over_tcp_and_udp(tmp_path):
    processes, url = start(tmp_path)
    try:
        for transport in ("tcp", "udp"):
            answer = ffprobe(url, transport)
            assert answer.returncode == 0, answer.stderr
            stream = json.loads(answer.stdout)["streams"][0]
            assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 640, 480)
            assert stream["r_frame_rate"] == "15/1", stream
        assert ffprobe(url.rsplit("/", 1)[0] + "/other").returncode != 0, "only the camera's path"
    finally:
        processes.stop()


def test_a_client_gets_whole_pictures_live_and_across_a_camera_restart(tmp_path):
    """Every picture decodes whole (the camera's multi-slice keyframes intact), shows the
    camera's newest frame, and the stream goes on when the camera process restarts."""
    processes, url = start(tmp_path)
    try:
        with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as container:
            frames = container.decode(video=0)
            lags = []
            for n, frame in enumerate(frames):
                if n % 5 == 0:
                    shown = clockstamp.read(frame.to_ndarray(format="gray"))
                    lags.append(time.time() - shown / 1000)
                if n == 60:
                    break
            print(f"RTSP latency (PyAV client): {[round(lag, 3) for lag in lags]}")
            assert 0 < sorted(lags)[len(lags) // 2] < 2, lags  # real capture times, just now
            processes.camera.terminate()
            processes.camera.wait(timeout=20)
            processes.camera = processes._spawn("camera")
            restarted = time.time()
            for frame in frames:
                if clockstamp.read(frame.to_ndarray(format="gray")) / 1000 > restarted:
                    break  # a picture the new camera process took
        assert "corrupt" not in processes.output("host")
    finally:
        processes.stop()


def test_with_credentials_only_a_client_that_gives_them_gets_the_video(tmp_path):
    processes, url = start(tmp_path, credentials=True)
    try:
        refused = ffprobe(url)
        assert refused.returncode != 0 and "401" in refused.stderr, refused.stderr
        wrong = ffprobe(url.replace("rtsp://", f"rtsp://{USER}:wrong-password@"))
        assert wrong.returncode != 0
        answer = ffprobe(url.replace("rtsp://", f"rtsp://{USER}:{PASSWORD}@"))
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout)["streams"][0]["codec_name"] == "h264"
    finally:
        processes.stop()
