"""Retention: oldest first, by age and by free space, in this camera's folder only."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smartcam.clips.names import STEM
from smartcam.config import from_text
from smartcam.storage import retention as retmod
from smartcam.storage.retention import Retention
from smartcam.timing import Timing

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SIZE = 1000  # bytes per video


def cfg(tmp_path, days=7, min_free=0, type="local", nas=None):
    nas = nas or tmp_path / "nas"
    return from_text(f"[camera]\nname = cam-a\n[storage]\nnas = {nas}\ntype = {type}\n"
                     f"retention_days = {days}\nmin_free = {min_free}\n"
                     f"spool = {tmp_path}/spool\n")


def put_clip(camera_dir: Path, when: datetime, event="0123abcd", camera="cam-a") -> str:
    day = camera_dir / f"{when:%Y-%m-%d}"
    day.mkdir(parents=True, exist_ok=True)
    stem = f"{camera}_{when:%Y%m%dT%H%M%SZ}_{event}"
    (day / f"{stem}.mp4").write_bytes(b"v" * SIZE)
    (day / f"{stem}.jpg").write_bytes(b"j" * 10)
    (day / f"{stem}.json").write_text("{}")
    return stem


def stems(camera_dir: Path) -> list[str]:
    names = {p.name.rsplit(".", 1)[0] for p in camera_dir.glob("*/cam-a_*")
             if p.parent.name not in ("misc", "2026-13-45") and p.suffix != ".txt"}
    return sorted(n for n in names if STEM.match(n))


@pytest.fixture
def yard(tmp_path):
    """Two clips a day for 10 days up to NOW, plus things retention must leave alone."""
    cam = tmp_path / "nas" / "cam-a"
    made = sorted(put_clip(cam, NOW - timedelta(days=d, hours=h))
                  for d in range(10) for h in (1, 7))
    (cam / "discovery.txt").write_text("name=cam-a\n")
    old_day = cam / f"{NOW - timedelta(days=9):%Y-%m-%d}"
    (old_day / "notes.txt").write_text("mine")
    (old_day / "cam-a_2020.mp4").write_text("not a clip name")
    (old_day / ".hidden").write_text("not ours")
    (old_day / f"{made[0]}.txt").write_text("a clip's name, not a clip's suffix")
    (cam / "misc").mkdir()
    (cam / "misc" / "cam-a_20200101T000000Z_0123abcd.mp4").write_text("not in a day folder")
    (cam / "2026-13-45").mkdir()  # looks like a date, is not one
    (cam / "2026-13-45" / "cam-a_20200101T000000Z_0123abcd.mp4").write_text("x")
    other = tmp_path / "nas" / "cam-b"
    put_clip(other, NOW - timedelta(days=400), camera="cam-b")
    return cam, made


def test_clips_older_than_retention_days_go_sidecar_first(tmp_path, yard, monkeypatch):
    cam, made = yard
    unlinked = []
    real_unlink = os.unlink
    monkeypatch.setattr(retmod.os, "unlink",
                        lambda name, *a, **k: (unlinked.append(name), real_unlink(name, *a, **k)))
    result = Retention(cfg(tmp_path, days=3)).run_once(NOW.timestamp())
    # Kept: everything younger than 3 days (clips at -1h, -7h, -1d-1h, ... -2d-7h; -3d-1h goes)
    assert stems(cam) == made[-6:]
    assert result["scanned"] == 20 and result["deleted"] == 14
    assert result["freed_bytes"] == 14 * (SIZE + 10 + 2) and result["error"] is None
    assert [n.rsplit(".", 1)[1] for n in unlinked[:3]] == ["json", "mp4", "jpg"]
    assert result["deleted_for_space"] == 0 and result["seconds"] >= 0
    # Day folders emptied are gone; the one with someone's notes stays with them.
    days = sorted(p.name for p in cam.iterdir())
    assert days == sorted(["discovery.txt", "misc", "2026-13-45",
                           f"{NOW - timedelta(days=9):%Y-%m-%d}"]
                          + [f"{NOW - timedelta(days=d):%Y-%m-%d}" for d in range(3)])
    old_day = cam / f"{NOW - timedelta(days=9):%Y-%m-%d}"
    assert sorted(p.name for p in old_day.iterdir()) == [".hidden", "cam-a_2020.mp4",
                                                         f"{made[0]}.txt", "notes.txt"]
    assert (cam / "misc" / "cam-a_20200101T000000Z_0123abcd.mp4").exists()
    assert (cam / "2026-13-45" / "cam-a_20200101T000000Z_0123abcd.mp4").exists()
    assert len(list((tmp_path / "nas" / "cam-b").glob("*/*"))) == 3
    assert (cam / "discovery.txt").exists()


def test_zero_days_keeps_everything(tmp_path, yard):
    cam, made = yard
    result = Retention(cfg(tmp_path, days=0)).run_once(NOW.timestamp())
    assert stems(cam) == made and result["deleted"] == 0


def test_the_free_space_floor_deletes_the_oldest_first(tmp_path, yard, monkeypatch):
    cam, made = yard
    total = 40 * SIZE

    def fake_free_space(fd):  # a NAS as big as 40 videos, filled by what is left in it
        used = sum(p.stat().st_size for p in (tmp_path / "nas").rglob("*") if p.is_file())
        return total - used, total

    monkeypatch.setattr(retmod, "free_space", fake_free_space)
    free_before = fake_free_space(None)[0]
    result = Retention(cfg(tmp_path, days=0, min_free=70)).run_once(NOW.timestamp())
    free_after = fake_free_space(None)[0]
    assert free_before < 0.7 * total <= free_after
    kept = stems(cam)
    assert kept == made[len(made) - len(kept):]  # the newest survive
    assert result["deleted"] == result["deleted_for_space"] == len(made) - len(kept) > 0
    assert free_after - 0.7 * total < SIZE + 12  # not one clip more than needed
    assert result["free_percent"] == round(100 * free_after / total, 2)
    assert len(list((tmp_path / "nas" / "cam-b").glob("*/*"))) == 3


def test_old_part_files_of_ours_are_removed_fresh_ones_kept(tmp_path):
    cam = tmp_path / "nas" / "cam-a"
    stem = put_clip(cam, NOW - timedelta(hours=1))
    day = cam / f"{NOW - timedelta(hours=1):%Y-%m-%d}"
    old, fresh, foreign = (day / f".{stem}.mp4.part", day / f".{stem}.json.part",
                           day / ".something.part")
    for p in (old, fresh, foreign):
        p.write_text("partial")
    os.utime(old, (NOW.timestamp() - 2 * 86400,) * 2)
    os.utime(fresh, (NOW.timestamp() - 60,) * 2)
    os.utime(foreign, (NOW.timestamp() - 9 * 86400,) * 2)
    result = Retention(cfg(tmp_path)).run_once(NOW.timestamp())
    assert result["parts_removed"] == 1
    assert not old.exists() and fresh.exists() and foreign.exists()


def test_nothing_is_trimmed_when_the_nas_is_not_mounted(tmp_path, yard):
    cam, made = yard
    result = Retention(cfg(tmp_path, days=1, type="mount")).run_once(NOW.timestamp())
    assert "not mounted" in result["error"] and result["deleted"] == 0
    assert stems(cam) == made


def test_it_runs_soon_after_start_and_stops(tmp_path, yard):
    cam, _ = yard
    retention = Retention(cfg(tmp_path, days=1), replace(Timing(), retention_first=0.05))
    stop = threading.Event()
    thread = threading.Thread(target=retention.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while retention.last is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert retention.last["scanned"] == 20 and retention.last["deleted"] > 0
    assert time.monotonic() - retention.alive < 5


def test_no_folder_yet_is_nothing_to_do_not_an_error(tmp_path):
    result = Retention(cfg(tmp_path)).run_once(NOW.timestamp())
    assert result["error"] is None and result["scanned"] == 0
    assert not (tmp_path / "nas" / "cam-a").exists()


def test_two_cameras_on_one_nas_delete_for_space_only_what_is_missing(tmp_path, tmpfs, monkeypatch):
    nas = tmpfs("8m")
    mib = 1 << 20
    for camera in ("cam-a", "cam-b"):
        for hour in range(3):  # three clips of 1 MiB each: 6 MiB of 8 used
            stem = put_clip(nas / camera, NOW - timedelta(days=1, hours=hour), camera=camera)
            day = nas / camera / f"{NOW - timedelta(days=1, hours=hour):%Y-%m-%d}"
            (day / f"{stem}.mp4").write_bytes(b"v" * mib)
    a = Retention(cfg(tmp_path, days=0, min_free=50, nas=nas))
    real = a._delete

    def delete_while_cam_b_trims_too(fd, files):
        freed = real(fd, files)
        if not delete_while_cam_b_trims_too.done:  # cam-b's retention, at the same moment
            delete_while_cam_b_trims_too.done = True
            for p in sorted((nas / "cam-b").glob("*/*.mp4"))[:2]:
                p.unlink()
        return freed

    delete_while_cam_b_trims_too.done = False
    monkeypatch.setattr(a, "_delete", delete_while_cam_b_trims_too)
    result = a.run_once(NOW.timestamp())
    # 4 MiB must be free; 2 MiB were. cam-b freed 2 MiB while cam-a freed its first 1 MiB:
    # the floor is met after one deletion, not after the two a stale measure would ask.
    assert result["deleted_for_space"] == 1 and result["error"] is None


def test_a_full_nas_wakes_retention_at_once(tmp_path):
    retention = Retention(cfg(tmp_path, days=1),
                          replace(Timing(), retention_first=3600, retention_every=3600, tick=0.05))
    stop = threading.Event()
    thread = threading.Thread(target=retention.run, args=(stop,))
    thread.start()
    try:
        time.sleep(0.2)
        assert retention.last is None  # the first trim is an hour away
        retention.wake()  # what the uploader calls on ENOSPC
        deadline = time.monotonic() + 5
        while retention.last is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert retention.last is not None
    finally:
        stop.set()
        thread.join()


def test_a_clip_named_before_the_clock_was_set_is_not_deleted_for_age(tmp_path, yard):
    cam, made = yard
    stem = put_clip(cam, datetime(1970, 1, 1, 0, 1, tzinfo=UTC))  # a Pi without its time yet
    result = Retention(cfg(tmp_path, days=3)).run_once(NOW.timestamp())
    assert stem in stems(cam) and result["error"] is None
    assert result["deleted"] == 14  # the clips of a known age still go


def test_behind_a_recycle_bin_deleting_for_space_stops_and_says_so(tmp_path, yard, monkeypatch):
    """Deleting frees nothing (Samba's vfs_recycle, snapshots): a few clips go, not the history."""
    cam, made = yard
    monkeypatch.setattr(retmod, "free_space", lambda fd: (5, 100))  # 5 % free, whatever we do
    result = Retention(cfg(tmp_path, days=0, min_free=10)).run_once(NOW.timestamp())
    assert result["deleted_for_space"] == retmod.NOT_FREEING_AFTER
    assert stems(cam) == made[retmod.NOT_FREEING_AFTER:]
    assert "does not free space" in result["space_error"]
    assert "recycle bin" in result["space_error"]


def test_the_last_days_clips_are_never_deleted_for_space(tmp_path, yard, monkeypatch):
    cam, made = yard
    total = 10**9

    def fake_free_space(fd):  # frees what is deleted, but never enough
        used = sum(p.stat().st_size for p in (tmp_path / "nas").rglob("*") if p.is_file())
        return total // 100 - used, total

    monkeypatch.setattr(retmod, "free_space", fake_free_space)
    result = Retention(cfg(tmp_path, days=0, min_free=50)).run_once(NOW.timestamp())
    # Clips at -1 h and -7 h are today's; -1 d -1 h is older than a day: it goes.
    assert stems(cam) == made[-2:]
    assert result["space_error"] is None


def test_an_entry_that_cannot_be_deleted_is_skipped_and_the_rest_trimmed(
    tmp_path, yard, monkeypatch
):
    """A day folder that looks empty but is not (Samba hides a vetoed @eaDir, so rmdir fails
    ENOTEMPTY) and a clip refused EACCES stay; every other old clip still goes, every run."""
    cam, made = yard
    stuck = made[2]  # the second oldest day's first clip
    oldest = cam / f"{NOW - timedelta(days=9):%Y-%m-%d}"
    for p in oldest.iterdir():
        p.unlink()
    real_unlink, real_rmdir = os.unlink, os.rmdir

    def unlink(name, *a, **k):
        if str(name).startswith(stuck):
            raise PermissionError(13, "Permission denied", name)
        return real_unlink(name, *a, **k)

    def rmdir(name, *a, **k):
        if name == oldest.name:
            raise OSError(39, "Directory not empty", name)
        return real_rmdir(name, *a, **k)

    monkeypatch.setattr(retmod.os, "unlink", unlink)
    monkeypatch.setattr(retmod.os, "rmdir", rmdir)
    for _ in range(2):
        result = Retention(cfg(tmp_path, days=3)).run_once(NOW.timestamp())
        assert stems(cam) == [stuck, *made[-6:]]
        assert result["skipped"] == 2 and result["error"] is None
        assert oldest.name in result["skipped_first"]


def test_emptied_days_go_even_when_listing_again_shows_what_was_there(
        tmp_path, yard, monkeypatch):
    """A cifs client can list a folder again from what it read before (the rig showed day
    folders kept for ever): whether a day is empty is asked of the server, by removing it."""
    cam, made = yard
    first: dict[int, list[str]] = {}
    real_listdir = os.listdir

    def listdir(path="."):
        if not isinstance(path, int):
            return real_listdir(path)
        inode = os.fstat(path).st_ino
        return list(first.setdefault(inode, real_listdir(path)))  # as first seen, always

    monkeypatch.setattr(retmod.os, "listdir", listdir)
    result = Retention(cfg(tmp_path, days=3)).run_once(NOW.timestamp())
    assert stems(cam) == made[-6:]
    gone = [f"{NOW - timedelta(days=d):%Y-%m-%d}" for d in range(3, 9)]
    assert not any((cam / day).exists() for day in gone)
    assert result["days_removed"] == 6 and result["skipped"] == 0
