"""A master in-process over a NAS folder of clips written with the real sidecar code."""

from __future__ import annotations

import json
from pathlib import Path

from smartcam import config
from smartcam.clips.names import ClipName
from smartcam.clips.sidecar import ClipMeta, Motion, sidecar
from smartcam.master.process import Master

T0 = 1_772_366_400.0  # 2026-03-01T12:00:00Z


def master_config(directory: Path, extra: str = "") -> config.Config:
    text = (f"[master]\nenabled = true\nstate_dir = {directory}/state\n"
            f"url = https://master.test\n[storage]\nnas = {directory}/nas\ntype = local\n"
            f"[peers]\nenabled = false\n{extra}")
    (directory / "smartcam.conf").write_text(text)
    return config.load(str(directory / "smartcam.conf"))


def put_clip(nas: Path, camera: str, start: float, event: str, incident: str = "",
             cause: str = "motion", origin: str = "", duration: float = 10.0,
             video: bytes = b"\0" * 1000, pre_record: float = 2.0) -> str:
    """A clip's three files in its day folder, the sidecar last, as the uploader leaves them."""
    meta = ClipMeta(camera, "yard", cause, start + pre_record, 640, 480, 15.0, pre_record,
                    event=event, incident=incident or event, origin=origin or camera,
                    clock_synced=True)
    name = ClipName.of(camera, start, event)
    folder = nas / camera / name.day
    folder.mkdir(parents=True, exist_ok=True)
    mp4 = folder / f"{name.stem}.mp4"
    mp4.write_bytes(video)
    (folder / f"{name.stem}.jpg").write_bytes(b"\xff\xd8\xff\xe0fakejpeg")
    motion = Motion(5.0, start, [[1] * 16] * 16)
    card = sidecar(meta, mp4, start, int(duration * 15), duration, motion)
    (folder / f"{name.stem}.json").write_text(json.dumps(card))
    return name.stem


def make_master(directory: Path, extra: str = "") -> Master:
    return Master(master_config(directory, extra), mdns=False)
