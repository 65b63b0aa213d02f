"""The clip index: built from the NAS sidecars, found promptly, never wiped by a NAS that
went away, and rebuilt when it is damaged."""

import sqlite3

import pytest

from smartcam import config
from smartcam.master.index import ClipIndex
from smartcam.storage.mount import Nas, NasUnavailable
from tests.master.world import T0, master_config, put_clip


def make(tmp_path):
    cfg = master_config(tmp_path)
    return ClipIndex(tmp_path / "state" / "index.db", Nas(cfg)), tmp_path / "nas"


def test_incidents_join_clips_of_several_cameras(tmp_path):
    index, nas = make(tmp_path)
    a = put_clip(nas, "cam-a", T0, "aaaaaaaa0001")
    b = put_clip(nas, "cam-b", T0 + 1.5, "bbbbbbbb0001", incident="aaaaaaaa0001", cause="peer",
                 origin="cam-a")
    put_clip(nas, "cam-b", T0 + 600, "bbbbbbbb0002")
    assert index.reconcile()["added"] == 3
    (newest, first) = index.timeline(None)
    assert first["incident"] == "aaaaaaaa0001" and first["cameras"] == ["cam-a", "cam-b"]
    assert first["start"] == T0 and first["causes"] == ["motion", "peer"]
    assert newest["incident"] == "bbbbbbbb0002"
    clips = index.incident("aaaaaaaa0001", None)
    assert [c["stem"] for c in clips] == [a, b] and clips[1]["origin"] == "cam-a"
    assert clips[0]["heatmap"] == [[1] * 16] * 16
    # a viewer of cam-b alone sees cam-b's clip of it, and nothing of cam-a's
    assert [c["camera"] for c in index.incident("aaaaaaaa0001", ("cam-b",))] == ["cam-b"]
    assert [i["incident"] for i in index.timeline(("cam-a",))] == ["aaaaaaaa0001"]
    assert index.timeline(None, camera="cam-b", cause="motion")[0]["incident"] == "bbbbbbbb0002"
    index.close()


def test_a_poll_finds_new_clips_in_todays_folder_only_when_it_changed(tmp_path):
    index, nas = make(tmp_path)
    put_clip(nas, "cam-a", T0, "aaaaaaaa0001")
    index.reconcile()
    assert index.poll(now=T0) == 0
    put_clip(nas, "cam-a", T0 + 60, "aaaaaaaa0002")
    assert index.poll(now=T0 + 61) == 1
    assert len(index.timeline(None)) == 2
    index.close()


def test_a_half_clip_without_sidecar_or_a_foreign_file_is_not_listed(tmp_path):
    index, nas = make(tmp_path)
    stem = put_clip(nas, "cam-a", T0, "aaaaaaaa0001")
    day = nas / "cam-a" / "2026-03-01"
    (day / f"{stem}.json").rename(day / "notes.json")
    (day / "cam-b_20260301T120000Z_cccccccc0001.json").write_text("{}")  # in the wrong folder
    (nas / "../evil").mkdir()
    index.reconcile()
    assert index.timeline(None) == []
    index.close()


def test_nothing_is_dropped_while_the_nas_is_away_or_most_clips_vanish(tmp_path):
    index, nas = make(tmp_path)
    for i in range(12):
        put_clip(nas, "cam-a", T0 + 60 * i, f"aaaaaaaa{i:04d}")
    assert index.reconcile()["clips"] == 12
    # retention deleted two: they go
    for path in sorted((nas / "cam-a" / "2026-03-01").glob("*.json"))[:2]:
        path.unlink()
    assert index.reconcile()["dropped"] == 2
    # the share came back empty (or half-mounted): the history stays
    for path in (nas / "cam-a" / "2026-03-01").glob("*.json"):
        path.unlink()
    report = index.reconcile()
    assert report["dropped"] == 0 and len(index.timeline(None)) == 10
    assert "more than half" in index.stats()["refused"]
    index.close()


def test_a_damaged_index_is_put_aside_and_rebuilt_from_the_nas(tmp_path):
    index, nas = make(tmp_path)
    put_clip(nas, "cam-a", T0, "aaaaaaaa0001")
    index.reconcile()
    index.close()
    db = tmp_path / "state" / "index.db"
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA user_version = 99")  # another version's file
    index, _ = make(tmp_path)
    assert index.timeline(None) == []
    index.reconcile()
    assert [i["incident"] for i in index.timeline(None)] == ["aaaaaaaa0001"]
    assert list((tmp_path / "state").glob("index.db.*.old"))
    index.close()
    db.write_bytes(b"this is not a database" * 100)
    index, _ = make(tmp_path)
    index.reconcile()
    assert len(index.timeline(None)) == 1
    index.close()


def test_a_camera_that_stopped_recording_is_called_silent(tmp_path):
    index, nas = make(tmp_path)
    for i in range(6):
        put_clip(nas, "cam-a", T0 + 600 * i, f"aaaaaaaa{i:04d}")
    index.reconcile()
    assert not index.cameras(now=T0 + 3600 + 60)["cam-a"]["silent"]
    assert index.cameras(now=T0 + 3000 + 4 * 3600)["cam-a"]["silent"]
    # the sidecars were written now, long after the clips of 2026-03-01 ended
    assert index.cameras()["cam-a"]["ingest_lag"] > 86400
    index.close()


def test_an_unmounted_nas_is_not_read_as_an_empty_one(tmp_path):
    index, nas = make(tmp_path)
    put_clip(nas, "cam-a", T0, "aaaaaaaa0001")
    index.reconcile()
    index.close()
    (tmp_path / "smartcam.conf").write_text(
        (tmp_path / "smartcam.conf").read_text().replace("type = local", "type = mount"))
    unmounted = ClipIndex(tmp_path / "state" / "index.db",
                          Nas(config.load(str(tmp_path / "smartcam.conf"))))
    with pytest.raises(NasUnavailable, match="not mounted"):
        unmounted.reconcile()
    assert len(unmounted.timeline(None)) == 1
    unmounted.close()
