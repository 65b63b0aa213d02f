"""Clips from a synthetic camera: pre-roll, end, splits, and what lands in the outbox."""

from __future__ import annotations

import pytest

from smartcam.camera.finisher import Finisher
from smartcam.camera.frames import SourceInfo
from smartcam.camera.recorder import Recorder, RecordSettings, Trigger
from smartcam.camera.spool import Spool
from smartcam.camera.synthetic import SyntheticSource
from smartcam.clips.spool import headroom
from smartcam.storage.budget import SpoolKeeper
from tests.clipcheck import ffprobe, published

FPS = 30
BITRATE = 1_000_000
INFO = SourceInfo(640, 480, FPS, 320, 240)
GOP = 1.0  # the encoder puts a keyframe every fps frames


class Rig:
    def __init__(self, tmp_path, pre=2.0, post=2.0, max_clip=60.0, spool=None, headroom=0,
                 keeper=None):
        self.source = SyntheticSource(INFO, BITRATE, "empty", pace=False)
        self.spool = Spool(spool or tmp_path / "spool")
        self.cards: list[dict] = []
        self.finisher = Finisher(self.spool, self.cards.append)
        self.recorder = Recorder(
            RecordSettings(pre, post, max_clip), INFO, self.source.epoch, self.spool,
            self.finisher, "cam-a", "yard", headroom,
        )
        self.keeper = keeper  # the uploader's spool keeper, run once a second of video
        self.now = 0.0
        self.packets = []

    def run(self, seconds: float) -> None:
        for n in range(round(seconds * FPS)):
            capture = self.source.read()
            self.now = capture.t
            for p in capture.packets:
                self.packets.append(p)
                self.recorder.push(p)
            if self.keeper and n % FPS == 0:
                self.keeper.keep_budget()

    def run_until(self, done, seconds: float) -> None:
        for _ in range(round(seconds * FPS)):
            if done():
                return
            self.run(1 / FPS)
        raise AssertionError(f"not done within {seconds} s of video")

    def done(self) -> list[dict]:
        self.recorder.stop()
        self.finisher.close()
        return published(self.spool.outbox)


@pytest.fixture
def rig(tmp_path):
    made = []

    def make(**kwargs):
        made.append(Rig(tmp_path, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.source.close()


def test_a_clip_has_its_preroll_and_matches_its_sidecar(rig):
    r = rig(pre=2.0, post=2.0)
    r.run(5.3)
    trigger_at = r.now
    r.recorder.trigger(Trigger("manual", trigger_at, trigger_at + 3.0))
    r.run(5)
    [card] = r.done()
    assert 2.0 <= card["pre_record"] <= 2.0 + GOP
    probed = ffprobe(r.spool.outbox / card["video"])
    assert (probed.codec, probed.width, probed.height) == ("h264", 640, 480)
    assert probed.frames == card["frames"]
    assert abs(probed.duration - card["duration"]) <= 1 / FPS
    # pre-roll + the 3 s until the deadline
    assert abs(card["duration"] - (card["pre_record"] + 3.0)) <= 1.5 / FPS
    assert card["cause"] == "manual" and card["incident"] == card["event"]
    assert card["camera"] == "cam-a" and card["origin"] == "cam-a"
    assert card["interrupted"] is False
    assert list(r.spool.recording.iterdir()) == []


def test_a_later_until_extends_the_running_clip(rig):
    r = rig(pre=1.0)
    r.run(2)
    r.recorder.trigger(Trigger("peer", r.now, r.now + 1.0, incident="inc1", origin="cam-b"))
    r.run(0.5)
    r.recorder.trigger(Trigger("peer", r.now, r.now + 2.0, incident="inc1", origin="cam-b"))
    r.run(4)
    [card] = r.done()
    assert card["duration"] >= 1.0 + 2.5 - 1 / FPS
    assert (card["incident"], card["origin"], card["cause"]) == ("inc1", "cam-b", "peer")


def test_long_events_split_without_lost_or_repeated_frames(rig):
    r = rig(pre=1.0, max_clip=5.0)
    r.run(3)
    start = r.now
    r.recorder.trigger(Trigger("motion", start, start + 12.0))
    r.run(14)
    cards = r.done()
    assert len(cards) == 3
    assert [c["part"] for c in cards] == [1, 2, 3]
    for before, after in zip(cards, cards[1:], strict=False):
        assert after["start"] == before["end"]  # joined with no gap and no overlap
    for card in cards:
        probed = ffprobe(r.spool.outbox / card["video"])
        assert probed.frames == card["frames"]
        assert probed.keyframe_times[0] == 0.0  # each part starts on a keyframe
        assert card["duration"] <= 5.0 + GOP
    # Every frame from the pre-roll's keyframe up to the deadline is in exactly one clip.
    first = max(p.t for p in r.packets if p.keyframe and p.t <= start - 1.0)
    expected = [p for p in r.packets if first <= p.t < start + 12.0]
    assert sum(c["frames"] for c in cards) == len(expected)


def test_a_trigger_before_any_keyframe_waits_for_one(rig):
    r = rig(pre=5.0)
    r.recorder.trigger(Trigger("api", 0.0, r.source.read().t + 2.0))
    r.run(3)
    [card] = r.done()
    assert card["frames"] > 0
    assert ffprobe(r.spool.outbox / card["video"]).keyframe_times[0] == 0.0


def test_thumbnail_is_a_jpeg_of_the_clip(rig):
    r = rig(pre=1.0)
    r.run(2)
    r.recorder.trigger(Trigger("manual", r.now, r.now + 1.0))
    r.run(2)
    [card] = r.done()
    jpeg = (r.spool.outbox / card["thumbnail"]).read_bytes()
    assert jpeg[:2] == b"\xff\xd8" and len(jpeg) > 1000


def test_a_full_spool_cuts_the_clip_short_but_never_stops_the_camera(rig, tmpfs):
    spool = tmpfs("1m")
    r = rig(pre=1.0, spool=spool)
    r.run(2)
    assert r.recorder.trigger(Trigger("motion", r.now, r.now + 30.0)) is not None
    r.run_until(lambda: r.recorder.recording is None, 20)  # 1 MiB fills in a few seconds
    assert "No space left" in r.recorder.write_error
    assert r.recorder.trigger(Trigger("motion", r.now, r.now + 30.0)) is None  # backing off
    r.run(6)
    assert r.recorder.trigger(Trigger("motion", r.now, r.now + 1.0)) is not None
    r.run(2)
    r.done()


def test_a_spool_smaller_than_one_clip_keeps_recording_by_splitting_and_dropping(rig, tmpfs):
    spool = tmpfs("4m")
    room = headroom(BITRATE)
    keeper = SpoolKeeper(spool, 256 << 20, lambda: None, headroom=room)
    r = rig(pre=1.0, spool=spool, headroom=room, keeper=keeper)
    r.run(2)
    r.recorder.trigger(Trigger("motion", r.now, r.now + 60.0))
    deadline = r.now + 60.0
    r.run(64)  # a minute of video: several times what the RAM disk holds
    kept = r.done()
    keeper.keep_budget()
    assert r.recorder.write_error == ""  # never ran into a full disk
    assert not any(r.spool.recording.iterdir())  # nothing stuck
    parts = sorted(c["part"] for c in r.cards)  # every part the camera published
    assert len(parts) >= 3 and parts == list(range(1, len(parts) + 1))  # split, none lost
    assert keeper.health()["dropped"] == len(parts) - len(kept) >= 2  # each drop counted
    assert sorted(c["part"] for c in kept) == parts[-len(kept):]  # the oldest went first
    for card in kept:
        assert ffprobe(r.spool.outbox / card["video"]).frames == card["frames"]
    last_end = max(card_time(c["end"]) for c in kept) - r.source.epoch
    assert last_end >= deadline - 1.0  # the event was recorded to its end


def card_time(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_a_peer_trigger_while_recording_joins_its_incident(rig):
    r = rig(pre=1.0)
    r.run(2)
    own = r.recorder.trigger(Trigger("motion", r.now, r.now + 2.0))
    r.run(0.5)
    r.recorder.trigger(Trigger("peer", r.now, r.now + 2.0, incident="feedc0ffee00", origin="b"))
    r.run(3)
    [card] = r.done()
    assert card["incident"] == own.incident and card["cause"] == "motion"
    assert card["incidents"] == [own.incident, "feedc0ffee00"]
