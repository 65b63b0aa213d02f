"""Recovery at start: whatever a killed process left, the camera still starts."""

from __future__ import annotations

import errno
import json

from smartcam.camera import spool as spool_module
from smartcam.camera.frames import SourceInfo
from smartcam.camera.spool import Spool
from smartcam.camera.synthetic import SyntheticSource
from smartcam.camera.writer import ClipWriter
from smartcam.clips.sidecar import ClipMeta


def test_a_leftover_that_cannot_be_recovered_is_set_aside(tmp_path):
    spool = Spool(tmp_path)
    stem = "cam-a_20260101T000000Z_0123456789ab"
    (spool.recording / f"{stem}.meta").write_text(json.dumps(
        {"meta": {"camera": "cam-a", "renamed_field": 1}, "start": 0}))  # from another version
    (spool.recording / f"{stem}.mp4").write_bytes(b"\0\0\0\x08free" * 10)
    assert spool.recover() == ([], [])
    assert sorted(p.name for p in (tmp_path / "rejected").iterdir()) == [
        f"{stem}.meta", f"{stem}.mp4"]
    assert not any(spool.recording.iterdir()) and not any(spool.outbox.iterdir())


def test_temporary_and_orphaned_leftovers_are_cleared(tmp_path):
    spool = Spool(tmp_path)
    (spool.recording / "x.json.tmp").write_text("{")
    (spool.recording / "cam-a_20260101T000000Z_0123456789ab.meta").write_text("{}")
    assert spool.recover() == ([], [])
    assert not any(spool.recording.iterdir())


def leftover(spool: Spool) -> str:
    """A clip a killed process left in recording/: its .meta and a playable video, unfinished."""
    source = SyntheticSource(SourceInfo(320, 240, 30, 160, 120), 500_000, "empty", pace=False)
    packets = [p for _ in range(40) for p in source.read().packets]
    meta = ClipMeta(camera="cam-a", group="yard", cause="manual", trigger_time=source.epoch,
                    width=320, height=240, fps=30, pre_record=0)
    video = spool.begin(meta, source.epoch + packets[0].t)
    writer = ClipWriter(video, packets[0], 30)
    for packet in packets[1:]:
        writer.write(packet)
    writer.close()
    source.close()
    return video.stem


def test_a_leftover_with_no_room_to_finish_waits_instead_of_being_rejected(tmp_path, monkeypatch):
    spool = Spool(tmp_path)
    stem = leftover(spool)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spool_module, "write_atomic", full)
    assert spool.recover() == ([], [stem])
    assert (spool.recording / f"{stem}.mp4").exists() and not spool.rejected.exists()
    monkeypatch.undo()  # the uploader made room
    card = spool.recover_one(stem)
    assert card is not None and card["interrupted"] is True
    assert (spool.outbox / f"{stem}.json").exists() and not any(spool.recording.glob("*.mp4"))
