"""Recovery at start: whatever a killed process left, the camera still starts."""

from __future__ import annotations

import json

from smartcam.camera.spool import Spool


def test_a_leftover_that_cannot_be_recovered_is_set_aside(tmp_path):
    spool = Spool(tmp_path)
    stem = "cam-a_20260101T000000Z_0123456789ab"
    (spool.recording / f"{stem}.meta").write_text(json.dumps(
        {"meta": {"camera": "cam-a", "renamed_field": 1}, "start": 0}))  # from another version
    (spool.recording / f"{stem}.mp4").write_bytes(b"\0\0\0\x08free" * 10)
    assert spool.recover() == []
    assert sorted(p.name for p in (tmp_path / "rejected").iterdir()) == [
        f"{stem}.meta", f"{stem}.mp4"]
    assert not any(spool.recording.iterdir()) and not any(spool.outbox.iterdir())


def test_temporary_and_orphaned_leftovers_are_cleared(tmp_path):
    spool = Spool(tmp_path)
    (spool.recording / "x.json.tmp").write_text("{")
    (spool.recording / "cam-a_20260101T000000Z_0123456789ab.meta").write_text("{}")
    assert spool.recover() == []
    assert not any(spool.recording.iterdir())
