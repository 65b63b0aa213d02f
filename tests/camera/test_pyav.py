"""The PyAV this product installs runs picamera2's software encoder (a Pi 5's H264Encoder).

The fake LibavH264Encoder makes the real one's PyAV calls with the real types (picamera2
v0.3.36, `_start`, `_encode`, `_stop`), so driving it here replays them against the PyAV in
this venv, the range pyproject.toml allows off the Pi. A PyAV release that changes any of them
fails this test before it fails a camera.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from smartcam.camera.annexb import nal_types
from smartcam.camera.picam import encoder_framerate
from tests.camera.conftest import FAKES

W, H, STRIDE, FPS, FRAMES = 352, 240, 384, 30.0, 65


class Request:
    """The part of a CompletedRequest the encoder uses: a padded YUV420 buffer, a timestamp."""

    def __init__(self, t_ns: int, shade: int):
        self.buffer = np.full((H * 3 // 2, STRIDE), 128, np.uint8)
        self.buffer[:H, :W] = (np.arange(W, dtype=np.uint16)[None, :] + shade) % 251
        self.buffer[:, W:] = 0  # padding the encoder must not read as picture
        self.t_ns, self.refs = t_ns, 1

    def acquire(self):
        self.refs += 1

    def release(self):
        self.refs -= 1

    def get_metadata(self):
        return {"SensorTimestamp": self.t_ns}

    def _array(self, name):
        return self.buffer


@pytest.fixture
def encoders(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKES))
    from picamera2 import encoders, outputs

    yield encoders, outputs
    for name in [m for m in sys.modules if m.startswith("picamera2")]:
        del sys.modules[name]


def test_the_software_encoders_pyav_calls_work_with_the_installed_pyav(encoders):
    encoders, outputs = encoders
    got = []

    class Collect(outputs.Output):
        def outputframe(self, frame, keyframe=True, timestamp=None, packet=None, audio=False):
            got.append((frame, keyframe, timestamp))

    encoder = encoders.LibavH264Encoder(
        bitrate=400_000, repeat=True, iperiod=30, framerate=encoder_framerate(FPS)
    )
    encoder.width, encoder.height, encoder.stride = W, H, STRIDE
    encoder.format, encoder.name, encoder.output = "YUV420", "main", Collect()
    encoder.start()
    requests = [Request(10**9 + i * 33_333_000, i) for i in range(FRAMES)]
    lag = None
    for i, request in enumerate(requests):
        encoder.encode("main", request)
        lag = i if lag is None and got else lag
    before_stop = len(got)
    encoder.stop()

    assert lag == 5  # frame threading: 6 threads on a Pi 5 trail their frames by 5
    assert len(got) == FRAMES and len(got) - before_stop == 5  # the tail comes at stop
    assert [t for _, _, t in got] == [i * 33_333 for i in range(FRAMES)]  # µs since the first
    keyframes = [i for i, (_, key, _) in enumerate(got) if key]
    assert keyframes == [0, 30, 60]
    for i in keyframes:
        assert nal_types(got[i][0])[:2] == [7, 8]  # repeat=True: SPS and PPS on every keyframe
    assert all(r.refs == 1 for r in requests)  # every frame the encoder took it gave back
