"""The host's web app in-process with a real camera process behind a real CameraLink; the NAS
is a folder. The uploader does not run here, so the tests decide where a clip is: they copy it
to the NAS the way the uploader would (wsgiclient.upload). Each test module starts its world.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from smartcam.config import load
from smartcam.host.process import Host
from smartcam.host.web import make_app
from tests.camera.camproc import CameraProcess
from tests.host.wsgiclient import MOTION_SECTION, Client, wait_connected


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    directory = tmp_path_factory.mktemp("api")
    camera = CameraProcess(directory, source="synthetic:empty", pre_record=1, post_record=1)
    with open(camera.conf, "a") as f:
        f.write(f"nas = {directory}/nas\ntype = local\n" + MOTION_SECTION)
    camera.start()
    cfg = load(camera.conf)
    host = Host(cfg)
    host.library.every = 0.2  # tests look at the list within moments of a change
    host.link.start()
    host.start_worker("library", host.library)
    wait_connected(host)
    try:
        yield SimpleNamespace(dir=directory, camera=camera, host=host, cfg=cfg,
                              client=Client(make_app(host)),
                              nas=directory / "nas" / cfg.camera.name)
    finally:
        host.close()
        camera.stop()


@pytest.fixture(scope="module")
def clip(world):
    """One finished manual clip: its event id and its files in the outbox."""
    status, answer = world.client.json("POST", "/api/v1/record", {"seconds": 1.5})
    assert status == 200, answer
    event = answer["event"]
    deadline = time.monotonic() + 30
    while not list(world.camera.outbox.glob(f"*_{event}.json")):
        assert time.monotonic() < deadline, "the clip did not reach the outbox"
        time.sleep(0.1)
    stem = next(world.camera.outbox.glob(f"*_{event}.json")).stem
    world.host.library.scan()
    return SimpleNamespace(event=event, stem=stem, card=answer)
