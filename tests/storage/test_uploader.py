"""The uploader on real clips: whole, verified, sidecar last, retried, never into a bare mount."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from smartcam.clips.sidecar import sha256_file
from smartcam.config import from_text
from smartcam.storage import copy as copy_module
from smartcam.storage.inotify import DirWatch
from smartcam.storage.uploader import Uploader
from smartcam.timing import Timing
from tests.clipcheck import ffprobe, nas_folder
from tests.storage.nasfs import publish, record_clip
from tests.waiting import wait_for

DAY0 = 1767355200.0  # 2026-01-02T12:00:00Z: clips on a known day
CONF = """\
[camera]
name = cam-a
# clips of a small camera, so that a spool of a few MiB holds one (the config checks it)
bitrate = 500k
max_clip = 20
[storage]
spool = {spool}
nas = {nas}
type = {type}
spool_size = {spool_size}
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One real clip, recorded once: (its outbox, its sidecar)."""
    spool = tmp_path_factory.mktemp("template")
    card = record_clip(spool)
    return spool / "outbox", card


@pytest.fixture
def quick_timing():
    """Backoffs and polls in tens of milliseconds, so retries happen within a test's patience;
    the rescan stays long, so only inotify can wake the uploader for a newly published clip."""
    return Timing(rescan=60.0, budget=0.05, backoff_first=0.05, backoff_cap=0.2,
                  mount_poll=0.1, tick=0.05)


class Rig:
    def __init__(self, tmp: Path, template, timing: Timing, type="local", nas=None,
                 spool_size="256M"):
        self.spool = tmp / "spool"
        self.outbox = self.spool / "outbox"
        self.nas = nas or tmp / "nas"
        self.cfg = from_text(CONF.format(spool=self.spool, nas=self.nas, type=type,
                                         spool_size=spool_size))
        self.template_outbox, self.card = template
        self.uploader = Uploader(self.cfg, timing)
        self.outbox.mkdir(parents=True)

    def publish(self, i: int = 0, **kwargs) -> str:
        return publish(self.template_outbox, self.card, self.outbox, DAY0 + i, **kwargs)

    def on_nas(self, stem: str) -> Path:
        return nas_folder(self.cfg.storage.nas, stem)

    @contextmanager
    def running(self):
        stop = threading.Event()
        thread = threading.Thread(target=self.uploader.run, args=(stop,), name="test-uploader")
        thread.start()
        try:
            yield self.uploader
        finally:
            stop.set()
            thread.join(timeout=10)
            assert not thread.is_alive(), "the uploader did not stop"


@pytest.fixture
def rig(tmp_path, template, quick_timing):
    def make(**kwargs) -> Rig:
        return Rig(tmp_path, template, kwargs.pop("timing", quick_timing), **kwargs)

    return make


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_a_published_clip_arrives_whole_and_verified(rig):
    r = rig()
    with r.running() as up:
        # running and idle after its first turn: only inotify can bring the next clip in time
        wait_for(lambda: up.health()["nas_checked"], what="the uploader's first turn")
        stem = r.publish()
        wait_for(lambda: up.health()["uploaded"] == 1, what="the upload")
    day = r.on_nas(stem)
    assert day == r.nas / "cam-a" / "2026-01-02"
    assert visible(day) == [f"{stem}.jpg", f"{stem}.json", f"{stem}.mp4"]
    assert [p.name for p in day.iterdir() if p.name.startswith(".")] == []
    card = json.loads((day / f"{stem}.json").read_text())
    assert sha256_file(day / f"{stem}.mp4") == card["sha256"] == r.card["sha256"]
    assert (day / f"{stem}.mp4").stat().st_size == card["size"]
    assert ffprobe(day / f"{stem}.mp4").frames == card["frames"]
    assert list(r.outbox.iterdir()) == []
    health = up.health()
    assert health["nas_mounted"] and health["nas_writable"] and health["nas_free_bytes"] > 0
    assert (health["backlog_clips"], health["backlog_bytes"], health["last_error"]) == (0, 0, None)
    assert health["last_upload"] and health["dropped"] == 0 and health["rejected"] == 0
    json.dumps(health)


def test_waiting_clips_go_oldest_first_each_with_its_sidecar_last(rig):
    r = rig()
    stems = [r.publish(i) for i in (2, 0, 1)]
    day = r.on_nas(stems[0])
    day.mkdir(parents=True)  # so we can watch it before the first file arrives
    arrived: list[str] = []
    with DirWatch(day) as watch, r.running():
        deadline = time.monotonic() + 10
        while len([n for n in arrived if not n.startswith(".")]) < 9:
            assert time.monotonic() < deadline, arrived
            arrived += watch.wait(0.1)
    order = [n for n in arrived if not n.startswith(".")]
    expected = [f"{s}{x}" for s in sorted(stems) for x in (".mp4", ".jpg", ".json")]
    assert order == expected


def test_a_corrupt_copy_is_caught_kept_out_of_place_and_retried(rig, monkeypatch):
    r = rig()
    stem = r.publish()
    real = copy_module.copy_bytes
    seen = []

    def flip_a_byte(src, dst, size, tick):
        real(src, dst, size, tick)
        day = r.on_nas(stem)
        seen.append((size, visible(day)))
        if size == r.card["size"] and len(seen) <= 2:  # the video, twice
            byte = os.pread(dst, 1, size // 2)
            os.pwrite(dst, bytes([byte[0] ^ 0x40]), size // 2)

    monkeypatch.setattr(copy_module, "copy_bytes", flip_a_byte)
    with pytest.raises(OSError, match="sha256 differs"):
        r.uploader.upload_waiting()
    day = r.on_nas(stem)
    assert os.listdir(day) == []  # not in place, and the bad .part removed
    with r.running() as up:
        wait_for(lambda: up.health()["uploaded"] == 1, what="the retried upload")
    video_copies = [files for size, files in seen if size == r.card["size"]]
    assert video_copies == [[], [], []]  # nothing visible before each attempt
    assert sha256_file(day / f"{stem}.mp4") == r.card["sha256"]
    assert visible(day) == [f"{stem}.jpg", f"{stem}.json", f"{stem}.mp4"]
    assert list(r.outbox.iterdir()) == []


SLOW_UPLOADER = """\
import os, sys, threading, time
from smartcam.config import load
from smartcam.storage import copy
from smartcam.storage.uploader import Uploader

def slow(src, dst, size, tick):  # a NAS that takes 8 KiB every 20 ms
    offset = 0
    while offset < size:
        offset += os.sendfile(dst, src, offset, min(8192, size - offset))
        time.sleep(0.02)

copy.copy_bytes = slow
Uploader(load(sys.argv[1])).run(threading.Event())
"""


def test_a_killed_upload_leaves_only_hidden_files_and_the_next_run_finishes(rig, tmp_path):
    r = rig()
    stem = r.publish()
    conf = tmp_path / "smartcam.conf"
    conf.write_text(CONF.format(spool=r.spool, nas=r.nas, type="local", spool_size="256M"))
    part = r.on_nas(stem) / f".{stem}.mp4.part"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_UPLOADER, str(conf)],
                            cwd=Path(__file__).parents[2])
    try:
        wait_for(lambda: part.exists() and part.stat().st_size > 64 * 1024, timeout=30,
                 what="the copy to be under way")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    day = r.on_nas(stem)
    assert visible(day) == []
    assert os.listdir(day) == [part.name] and part.stat().st_size < r.card["size"]
    assert sorted(os.listdir(r.outbox)) == [f"{stem}{x}" for x in (".jpg", ".json", ".mp4")]
    r.uploader.upload_waiting()
    assert sorted(os.listdir(day)) == [f"{stem}.jpg", f"{stem}.json", f"{stem}.mp4"]
    assert sha256_file(day / f"{stem}.mp4") == r.card["sha256"]
    assert list(r.outbox.iterdir()) == []


def test_a_pass_stopped_midway_is_finished_without_copying_again(rig, monkeypatch):
    r = rig()
    copies = []
    real = copy_module.copy_bytes
    monkeypatch.setattr(copy_module, "copy_bytes", lambda *a: (copies.append(a[2]), real(*a)))
    files = [".mp4", ".jpg", ".json"]
    # Stopped after the video was put into place: the video is checked, not copied again.
    stem = r.publish()
    day = r.on_nas(stem)
    day.mkdir(parents=True)
    (day / f"{stem}.mp4").write_bytes((r.outbox / f"{stem}.mp4").read_bytes())
    sizes = {x: (r.outbox / f"{stem}{x}").stat().st_size for x in files}
    r.uploader.upload_waiting()
    assert copies == [sizes[".jpg"], sizes[".json"]]
    assert visible(day) == sorted(f"{stem}{x}" for x in files)
    # Stopped while removing the clip from the spool (the sidecar goes last): nothing to copy.
    stem = r.publish(1)
    sidecar = (r.outbox / f"{stem}.json").read_bytes()
    r.uploader.upload_waiting()
    (r.outbox / f"{stem}.json").write_bytes(sidecar)
    copies.clear()
    r.uploader.upload_waiting()
    assert copies == []
    assert list(r.outbox.iterdir()) == []
    assert r.uploader.health()["uploaded"] == 3


def test_nothing_is_written_when_the_nas_is_not_mounted(rig, tmp_path):
    bare = tmp_path / "mnt"  # a mount point with nothing mounted on it
    bare.mkdir()
    r = rig(type="mount", nas=bare)
    with r.running() as up:
        r.publish(0)
        wait_for(lambda: up.health()["backlog_clips"] == 1, what="a backlog of 1")
        r.publish(1)
        health = wait_for(lambda: (h := up.health())["backlog_clips"] == 2 and h["last_error"]
                          and h, what="a backlog of 2")
    assert health["nas_mounted"] is False and health["nas_writable"] is False
    assert "not mounted" in health["nas_error"] and "not mounted" in health["last_error"]
    assert health["backlog_bytes"] > 2 * r.card["size"] and health["uploaded"] == 0
    assert list(bare.iterdir()) == []
    assert len(list(r.outbox.iterdir())) == 6


def test_a_missing_mount_point_is_not_created(rig, tmp_path):
    r = rig(type="cifs", nas=tmp_path / "absent" / "nas")
    r.publish()
    with pytest.raises(OSError, match="not mounted"):
        r.uploader.upload_waiting()
    assert not (tmp_path / "absent").exists()


def test_a_full_spool_drops_the_oldest_waiting_clip_loudly(rig, tmp_path, caplog):
    bare = tmp_path / "mnt"
    bare.mkdir()
    r = rig(type="mount", nas=bare, spool_size="16M")
    stems = [r.publish(i) for i in (1, 0, 2)]
    clip = sum(p.stat().st_size for p in r.outbox.iterdir()) // 3
    recording = r.spool / "recording"
    recording.mkdir(exist_ok=True)
    # A clip being recorded that leaves room for two waiting clips, not three.
    (recording / "cam-a_20260102T130000Z_0123456789ab.mp4").write_bytes(
        b"\0" * (16 * 2**20 - 2 * clip - 1000))
    caplog.set_level(logging.ERROR, "smartcam.storage.uploader")
    with r.running() as up:
        health = wait_for(lambda: (h := up.health())["dropped"] and h, what="a drop")
        time.sleep(0.3)
        health = up.health()
    oldest = sorted(stems)[0]
    assert health["dropped"] == 1
    [drop] = health["dropped_recent"]
    assert drop["clip"] == oldest and "spool is full" in drop["reason"] and drop["time"]
    assert not any(p.name.startswith(oldest) for p in r.outbox.iterdir())
    assert len(list(r.outbox.iterdir())) == 6
    assert health["spool_used_bytes"] <= health["spool_budget_bytes"] == 16 * 2**20
    assert health["backlog_clips"] == 2
    assert any("DROPPED" in rec.message and oldest in rec.message for rec in caplog.records)


def test_unusable_clips_go_to_rejected_and_the_queue_goes_on(rig, caplog):
    r = rig()
    not_json, no_hash, bad_video, good = (r.publish(i) for i in range(4))
    (r.outbox / f"{not_json}.json").write_text('{"schema": 1, "camera": ')
    card = json.loads((r.outbox / f"{no_hash}.json").read_text())
    del card["sha256"]
    (r.outbox / f"{no_hash}.json").write_text(json.dumps(card))
    video = r.outbox / f"{bad_video}.mp4"
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 1  # spoiled in the spool: no copy can ever match its sidecar
    video.write_bytes(bytes(data))
    caplog.set_level(logging.ERROR, "smartcam.storage.uploader")
    with r.running() as up:
        wait_for(lambda: up.health()["uploaded"] == 1 and up.health()["rejected"] == 3,
                 what="one upload and three rejections")
        health = up.health()
    rejected = r.spool / "rejected"
    for stem in (not_json, no_hash, bad_video):
        assert sorted(p.name for p in rejected.glob(f"{stem}.*")) == [
            f"{stem}.jpg", f"{stem}.json", f"{stem}.mp4"]
    reasons = {e["clip"]: e["reason"] for e in health["rejected_recent"]}
    assert "not JSON" in reasons[not_json] and "sha256" in reasons[no_hash]
    assert "does not match" in reasons[bad_video]
    assert visible(r.on_nas(good)) == [f"{good}.jpg", f"{good}.json", f"{good}.mp4"]
    assert not any(bad in name for name in os.listdir(r.on_nas(good))
                   for bad in (not_json, no_hash, bad_video))
    assert list(r.outbox.iterdir()) == []
    assert sum("REJECTED" in rec.message for rec in caplog.records) == 3


def test_health_answers_at_once_while_a_copy_hangs(rig, monkeypatch):
    r = rig(spool_size="16M")
    release = threading.Event()
    real = copy_module.copy_bytes

    def hang(src, dst, size, tick):
        release.wait(20)
        real(src, dst, size, tick)

    monkeypatch.setattr(copy_module, "copy_bytes", hang)
    first = r.publish(0)
    with r.running() as up:
        try:
            wait_for(lambda: up.health()["uploading"] == first, what="the copy to start")
            # Asked again and again while the copy cannot finish (it waits for `release`):
            # health never waits for the NAS, or these would not return before it is released.
            for _ in range(100):
                health = up.health()
            assert not release.is_set() and health["uploading"] == first
            wait_for(lambda: up.health()["stalled_seconds"] >= 0.2, what="the stall to show")
            second = r.publish(1)  # the spool keeper still counts what arrives
            wait_for(lambda: up.health()["backlog_clips"] == 2, what="the backlog to grow")
        finally:
            release.set()
        wait_for(lambda: up.health()["uploaded"] == 2, what="both uploads")
    assert visible(r.on_nas(first)) == sorted(
        f"{stem}{x}" for stem in (first, second) for x in (".mp4", ".jpg", ".json"))


def test_a_broken_spool_or_nas_never_ends_the_thread_and_wake_retries_at_once(
    rig, tmp_path, quick_timing
):
    from dataclasses import replace

    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the NAS folder should be")
    r = rig(nas=blocker / "nas", timing=replace(quick_timing, backoff_first=60, backoff_cap=60))
    stem = r.publish()
    with r.running() as up:
        health = wait_for(lambda: (h := up.health())["last_error"] and h["backlog_clips"] and h,
                          what="a failure")
        assert health["failures"] == 1 and health["backlog_clips"] == 1
        blocker.unlink()
        time.sleep(0.3)
        assert up.health()["uploaded"] == 0  # still waiting out a minute's backoff
        up.wake()
        wait_for(lambda: up.health()["uploaded"] == 1, timeout=3, what="the upload after wake()")
    assert visible(r.on_nas(stem)) == [f"{stem}.jpg", f"{stem}.json", f"{stem}.mp4"]


def test_an_unusable_spool_is_reported_not_fatal(tmp_path, template, quick_timing):
    (tmp_path / "file").write_text("")
    cfg = from_text(CONF.format(spool=tmp_path / "file" / "spool", nas=tmp_path / "nas",
                                type="local", spool_size="256M"))
    uploader = Uploader(cfg, quick_timing)
    stop = threading.Event()
    thread = threading.Thread(target=uploader.run, args=(stop,))
    thread.start()
    try:
        health = wait_for(lambda: (h := uploader.health())["last_error"] and h, what="an error")
        assert "spool" in health["last_error"] or "Not a directory" in health["last_error"]
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_full_nas_asks_retention_to_make_room(rig, monkeypatch):
    r = rig()
    r.publish()
    full = threading.Event()
    r.uploader.on_full = full.set

    def no_room(src, dst, size, tick):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(copy_module, "copy_bytes", no_room)
    with r.running() as up:
        wait_for(lambda: up.health()["failures"], what="the failed upload")
        assert full.wait(5)
        assert up.health()["nas_trouble"] == "full"  # the page says full, not "permissions"


def test_clips_recorded_under_an_old_name_go_to_the_cameras_folder(rig):
    r = rig()
    stem = r.publish(camera="cam-old")  # recorded before [camera] name was changed to cam-a
    r.uploader.upload_waiting()
    day = r.nas / "cam-a" / "2026-01-02"  # where cam-a's page and retention look
    assert visible(day) == [f"{stem}.jpg", f"{stem}.json", f"{stem}.mp4"]
    assert not (r.nas / "cam-old").exists()


def test_an_uploaded_clip_is_kept_in_the_spool_until_the_nas_is_seen_to_hold_it(
        rig, quick_timing):
    """fsync of a folder does nothing on cifs: until a later look finds the clip on the NAS,
    the spool's copy is all there may be of it on a disk."""
    r = rig(timing=replace(quick_timing, confirm_after=3600.0))
    stem = r.publish()
    r.uploader.upload_waiting()
    kept = r.spool / "uploaded"
    assert visible(kept) == [f"{stem}.jpg", f"{stem}.json", f"{stem}.mp4"]
    assert visible(r.outbox) == []
    assert r.uploader.health()["uploaded"] == 1
    r.uploader.timing = replace(r.uploader.timing, confirm_after=0.0)
    r.uploader.upload_waiting()  # the next turn finds it on the NAS: the copy goes
    assert visible(kept) == []
    assert visible(r.on_nas(stem)) == [f"{stem}.jpg", f"{stem}.json", f"{stem}.mp4"]
    assert r.uploader.health()["reuploaded"] == 0


def test_a_clip_the_nas_lost_after_its_upload_is_uploaded_again(rig, quick_timing):
    """A NAS power cut before its disk had the rename: the clip is gone from the share."""
    r = rig(timing=replace(quick_timing, confirm_after=0.0))
    stem = r.publish()
    r.uploader.timing = replace(r.uploader.timing, confirm_after=3600.0)
    r.uploader.upload_waiting()
    day = r.on_nas(stem)
    for lost in day.iterdir():
        lost.unlink()
    r.uploader.timing = replace(r.uploader.timing, confirm_after=0.0)
    r.uploader.upload_waiting()  # not there: back to the outbox, and up again in this turn
    r.uploader.upload_waiting()  # and now seen on the NAS
    assert visible(day) == [f"{stem}.jpg", f"{stem}.json", f"{stem}.mp4"]
    assert sha256_file(day / f"{stem}.mp4") == r.card["sha256"]
    assert visible(r.spool / "uploaded") == [] and visible(r.outbox) == []
    health = r.uploader.health()
    assert (health["reuploaded"], health["uploaded"]) == (1, 2)
