"""The fake picamera2 (tests/fakes/picamera2), for the tests of the Pi camera path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parents[1] / "fakes"
PLATFORMS = ("pisp", "vc4")  # a Pi 5 (libx264, frame-threaded) and a Pi 4 (VideoCore, V4L2)


def _forget_picamera2() -> None:
    for name in [m for m in sys.modules if m == "picamera2" or m.startswith("picamera2.")]:
        del sys.modules[name]


@pytest.fixture
def fake_picamera2(monkeypatch):
    """The fake picamera2 on sys.path for one test; yields its test hooks."""
    monkeypatch.syspath_prepend(str(FAKES))
    for name in [m for m in sys.modules if m == "picamera2" or m.startswith("picamera2.")]:
        monkeypatch.delitem(sys.modules, name)  # a real picamera2 comes back after the test
    from picamera2._fake import hooks

    hooks.reset()
    yield hooks
    hooks.wedged.clear()  # let a wedged camera loop go, so its thread can end
    _forget_picamera2()


@pytest.fixture(params=PLATFORMS)
def fake(request, fake_picamera2):
    """The fake picamera2 as a Pi 5 and as a Pi 4."""
    fake_picamera2.platform = request.param
    return fake_picamera2
