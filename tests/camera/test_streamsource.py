"""The RTSP source's edges that need no RTSP server: what it refuses, and what it never shows.
(A smartcam recording another smartcam's RTSP out is in tests/host/test_rtsp.py.)"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from smartcam.camera.frames import SourceInfo
from smartcam.camera.streamsource import StreamSource
from smartcam.errors import SourceError

INFO = SourceInfo(640, 480, 15, 320, 240)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once it is closed


def test_a_camera_that_is_not_there_is_a_clear_error_without_the_password():
    url = f"rtsp://nvr:s3cret@127.0.0.1:{closed_port()}/live"
    with pytest.raises(SourceError) as err:
        StreamSource(url, INFO)
    assert "cannot open it" in str(err.value) and "s3cret" not in str(err.value)
    assert "nvr:***@127.0.0.1" in str(err.value)


def test_the_camera_process_exits_66_naming_the_source(tmp_path):
    url = f"rtsp://nvr:s3cret@127.0.0.1:{closed_port()}/live"
    conf = tmp_path / "smartcam.conf"
    conf.write_text(f"[camera]\nsource = {url}\ncontrol_socket = {tmp_path}/control.sock\n"
                    f"live_path = {tmp_path}/live.jpg\n[storage]\nspool = {tmp_path}/spool\n")
    done = subprocess.run([sys.executable, "-m", "smartcam", "camera", "--config", str(conf)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 66, done.stderr
    assert "nvr:***@127.0.0.1" in done.stderr and "s3cret" not in done.stderr
