"""ClipLibrary: this camera's clips from the NAS folder and the spool, newest first.

Most tests ask through `Fresh`, which looks again before each answer, as the indexer thread
would have by then; the last tests check that answers never wait for a look."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smartcam.clips import library as events_module
from smartcam.clips.library import BadQuery, ClipLibrary
from smartcam.config import from_text

CAMERA = "cam-a"


class Fresh(ClipLibrary):
    """Looks at the folders again before every answer."""

    def page(self, *args, **kwargs):
        self.scan()
        return super().page(*args, **kwargs)

    def find(self, event):
        self.scan()
        return super().find(event)

    def get(self, event):
        self.scan()
        return super().get(event)

    def incident(self, incident):
        self.scan()
        return super().incident(incident)


def config(tmp_path):
    return from_text(f"[camera]\nname = {CAMERA}\n[storage]\nspool = {tmp_path}/spool\n"
                     f"nas = {tmp_path}/nas\ntype = local\n")


@pytest.fixture
def setup(tmp_path):
    (tmp_path / "spool" / "outbox").mkdir(parents=True)
    (tmp_path / "nas" / CAMERA).mkdir(parents=True)
    return tmp_path, Fresh(config(tmp_path))


def stem_of(when: datetime, event: str) -> str:
    return f"{CAMERA}_{when:%Y%m%dT%H%M%SZ}_{event}"


def put(root: Path, where: str, when: datetime, event: str, cause="motion", **extra) -> Path:
    """A clip's three files, the sidecar last, in the outbox, uploaded/ or its NAS day folder."""
    if where in ("spool", "uploaded"):
        folder = root / "spool" / ("outbox" if where == "spool" else where)
    else:
        folder = root / "nas" / CAMERA / f"{when:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem_of(when, event)
    (folder / f"{stem}.mp4").write_bytes(b"video " + event.encode())
    (folder / f"{stem}.jpg").write_bytes(b"\xff\xd8thumb")
    card = {"schema": 1, "camera": CAMERA, "event": event, "cause": cause,
            "start": when.isoformat(), "duration": 3.0, "heatmap": [[1] * 16] * 16, **extra}
    (folder / f"{stem}.json").write_text(json.dumps(card))
    return folder


def settle(root: Path) -> None:
    """Age every folder past SETTLE_SECONDS, as if the listing had been written a while ago."""
    old = time.time() - 60
    for folder in [root / "spool" / "outbox", *(root / "nas" / CAMERA).glob("*")]:
        os.utime(folder, (old, old))


T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_newest_first_across_nas_days_and_outbox(setup):
    root, index = setup
    put(root, "nas", T0, "aaaaaaa1")
    put(root, "nas", T0 + timedelta(days=1), "aaaaaaa2")
    put(root, "spool", T0 + timedelta(days=1, hours=1), "aaaaaaa3")
    put(root, "nas", T0 - timedelta(days=3), "aaaaaaa0")
    found, following = index.page()
    assert [c.event for c, _ in found] == ["aaaaaaa3", "aaaaaaa2", "aaaaaaa1", "aaaaaaa0"]
    assert [c.stored for c, _ in found] == ["spool", "nas", "nas", "nas"]
    assert following is None
    assert all("heatmap" not in card for _, card in found)  # the list leaves the heat map out


def test_a_clip_in_both_places_is_listed_once_from_the_nas(setup):
    root, index = setup
    put(root, "spool", T0, "bbbbbbb1")
    put(root, "nas", T0, "bbbbbbb1")
    found, _ = index.page()
    assert [(c.event, c.stored) for c, _ in found] == [("bbbbbbb1", "nas")]
    clip, card = index.get("bbbbbbb1")
    assert clip.stored == "nas" and clip.video == root / "nas" / CAMERA / "2026-03-01" / (
        stem_of(T0, "bbbbbbb1") + ".mp4")
    assert card["heatmap"] == [[1] * 16] * 16
    assert clip.relative(clip.video) == f"{CAMERA}/2026-03-01/{stem_of(T0, 'bbbbbbb1')}.mp4"
    assert index.spool_copy("bbbbbbb1").video == root / "spool" / "outbox" / clip.video.name


def test_the_copy_kept_after_an_upload_stands_in_for_the_nas(setup, monkeypatch):
    root, index = setup
    put(root, "uploaded", T0, "bbbbbbb2")
    put(root, "uploaded", T0 + timedelta(hours=1), "bbbbbbb3")
    put(root, "nas", T0, "bbbbbbb2")
    found, _ = index.page()
    assert [(c.event, c.stored) for c, _ in found] == [("bbbbbbb3", "spool"), ("bbbbbbb2", "nas")]
    assert index.spool_copy("bbbbbbb2").folder == root / "spool" / "uploaded"
    real_realpath = os.path.realpath

    def realpath(path, **kwargs):  # the NAS hangs: serving its stand-in must not look there
        assert not Path(path).is_relative_to(root / "nas"), f"looked at {path}"
        return real_realpath(path, **kwargs)

    monkeypatch.setattr(os.path, "realpath", realpath)
    assert index.holds(index.spool_copy("bbbbbbb2").video)
    monkeypatch.undo()
    assert index.spool_copy("bbbbbbb9") is None and index.answering()


def test_an_unmounted_nas_is_never_touched_and_its_clips_stay_listed(setup, monkeypatch):
    """Looking at a bare automount point would start a mount every two seconds (and a few
    quick failures disable the automount); its clips stay known, as of the last look."""
    root, index = setup
    put(root, "nas", T0, "ccccccc1")
    settle(root)
    index.scan()
    listed = index.snapshot.listed_at
    index.nas_mounted = lambda: False
    real_scandir = os.scandir

    def scandir(path="."):
        assert not Path(path).is_relative_to(root / "nas"), f"the indexer looked at {path}"
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    put(root, "spool", T0 + timedelta(hours=1), "ccccccc2")
    found, _ = index.page()
    assert [c.event for c, _ in found] == ["ccccccc2", "ccccccc1"]
    assert index.snapshot.listed_at == listed and not index.answering()


def test_a_nas_error_mid_look_forgets_no_clip(setup, monkeypatch):
    root, index = setup
    put(root, "nas", T0, "ddddddd1")
    put(root, "nas", T0 + timedelta(days=1), "ddddddd2")
    index.scan()
    index.nas_seen = -1e18
    real_read = events_module._read_json
    newest = root / "nas" / CAMERA / "2026-03-02"

    def read(path):  # the server answers the listing, then fails the new sidecar: EIO
        if path.parent == newest:
            raise OSError(5, "Input/output error")
        return real_read(path)

    put(root, "nas", T0 + timedelta(days=1, hours=1), "ddddddd3")
    monkeypatch.setattr(events_module, "_read_json", read)
    assert [c.event for c, _ in index.page()[0]] == ["ddddddd2", "ddddddd1"]
    assert not index.answering()
    monkeypatch.setattr(events_module, "_read_json", real_read)
    assert [c.event for c, _ in index.page()[0]] == ["ddddddd3", "ddddddd2", "ddddddd1"]
    assert index.answering()


def test_paging_by_cursor_and_offset_covers_everything_once(setup):
    root, index = setup
    events = [f"{i:08x}" for i in range(1, 26)]
    for i, event in enumerate(events):
        put(root, "nas" if i % 3 else "spool", T0 + timedelta(minutes=37 * i), event)
    seen, cursor = [], None
    while True:
        found, cursor = index.page(limit=7, cursor=cursor)
        seen += [c.event for c, _ in found]
        if cursor is None:
            break
    assert seen == events[::-1]
    found, _ = index.page(limit=5, offset=5)
    assert [c.event for c, _ in found] == events[::-1][5:10]
    found, following = index.page(limit=25)
    assert len(found) == 25 and following is None  # exactly one page: no empty next page


def test_filters_by_day_and_cause(setup):
    root, index = setup
    put(root, "nas", T0, "ccccccc1", cause="motion")
    put(root, "nas", T0 + timedelta(hours=1), "ccccccc2", cause="manual")
    put(root, "spool", T0 + timedelta(hours=2), "ccccccc3", cause="manual")
    put(root, "nas", T0 + timedelta(days=1), "ccccccc4", cause="manual")
    assert [c.event for c, _ in index.page(day="2026-03-01")[0]] == [
        "ccccccc3", "ccccccc2", "ccccccc1"]
    assert [c.event for c, _ in index.page(cause="manual")[0]] == [
        "ccccccc4", "ccccccc3", "ccccccc2"]
    assert [c.event for c, _ in index.page(day="2026-03-01", cause="motion")[0]] == ["ccccccc1"]
    assert index.page(day="2026-02-01")[0] == []


@pytest.mark.parametrize("kwargs", [
    {"day": "2026-13-01"}, {"day": "2026-02-30"}, {"day": "yesterday"}, {"day": "../.."},
    {"cause": "bogus"}, {"cursor": "nope"}, {"cursor": "../../etc/passwd"},
])
def test_bad_queries_say_what_is_allowed(setup, kwargs):
    _, index = setup
    with pytest.raises(BadQuery):
        index.page(**kwargs)


@pytest.mark.parametrize("event", [
    "../../etc/passwd", "..%2F..%2Fetc", "ABCDEF12", "abc", "a" * 33, "abcdefg1", "", "aaaaaaa1/",
])
def test_anything_but_a_known_event_id_finds_nothing(setup, event):
    root, index = setup
    put(root, "nas", T0, "aaaaaaa1")
    assert index.find(event) is None and index.get(event) is None


def test_names_that_are_not_clips_are_ignored(setup):
    root, index = setup
    folder = put(root, "nas", T0, "ddddddd1")
    (folder / "notes.json").write_text("{}")
    (folder / f".{stem_of(T0, 'ddddddd2')}.json.part").write_text("{}")
    (folder / f"{stem_of(T0, 'ddddddd3')}.mp4").write_bytes(b"no sidecar yet: not complete")
    (folder / f"{stem_of(T0, 'ddddddd4')}.json").write_text("not json")
    (folder / f"{stem_of(T0, 'ddddddd5')}.json").write_text("[1, 2]")
    (root / "nas" / CAMERA / "discovery.txt").write_text("name=cam-a\n")
    (root / "nas" / CAMERA / "not-a-day").mkdir()
    found, _ = index.page()
    assert [c.event for c, _ in found] == ["ddddddd1"]
    assert index.get("ddddddd4") is None


def test_sees_new_clips_and_changed_sidecars(setup):
    root, index = setup
    put(root, "nas", T0, "eeeeeee1")
    settle(root)
    assert [c.event for c, _ in index.page()[0]] == ["eeeeeee1"]
    put(root, "spool", T0 + timedelta(hours=1), "eeeeeee2")  # the outbox's mtime changes
    put(root, "nas", T0 + timedelta(days=2), "eeeeeee3")  # a new day folder
    assert [c.event for c, _ in index.page()[0]] == ["eeeeeee3", "eeeeeee2", "eeeeeee1"]
    # uploaded: on the NAS now, gone from the outbox
    put(root, "nas", T0 + timedelta(hours=1), "eeeeeee2")
    for path in (root / "spool" / "outbox").iterdir():
        path.unlink()
    assert [(c.event, c.stored) for c, _ in index.page()[0]] == [
        ("eeeeeee3", "nas"), ("eeeeeee2", "nas"), ("eeeeeee1", "nas")]
    sidecar = root / "nas" / CAMERA / "2026-03-01" / f"{stem_of(T0, 'eeeeeee1')}.json"
    card = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**card, "cause": "manual", "interrupted": True}))
    assert index.page()[0][-1][1]["cause"] == "manual"


def test_a_folder_changed_within_its_mtime_tick_is_listed_again(setup, monkeypatch):
    """A folder whose mtime did not change (coarse timestamps) is not trusted while recent."""
    root, index = setup
    folder = put(root, "nas", T0, "fffffff1")
    stamp = folder.stat().st_mtime_ns
    assert [c.event for c, _ in index.page()[0]] == ["fffffff1"]
    put(root, "nas", T0 + timedelta(minutes=1), "fffffff2")
    os.utime(folder, ns=(stamp, stamp))  # the same mtime as at the first listing
    assert [c.event for c, _ in index.page()[0]] == ["fffffff2", "fffffff1"]


def test_each_sidecar_is_read_once_and_answers_read_nothing(tmp_path, monkeypatch):
    """10,000 clips over 100 days: one look reads each sidecar once, the next reads none, and
    pages and lookups never touch the disk (how fast is in `make bench`)."""
    (tmp_path / "spool" / "outbox").mkdir(parents=True)
    for day in range(100):
        folder = tmp_path / "nas" / CAMERA / f"{(T0 + timedelta(days=day)):%Y-%m-%d}"
        folder.mkdir(parents=True)
        for n in range(100):
            when = T0 + timedelta(days=day, minutes=n)
            event = f"{day:04x}{n:04x}"
            (folder / f"{stem_of(when, event)}.json").write_text(
                f'{{"event": "{event}", "cause": "motion", "incident": "{day:04x}0000"}}')
    settle(tmp_path)
    index = ClipLibrary(config(tmp_path))
    reads = []
    real = events_module._read_json
    monkeypatch.setattr(events_module, "_read_json", lambda p: reads.append(p) or real(p))
    index.scan()
    assert len(reads) == 10_000
    index.scan()
    assert len(reads) == 10_000  # nothing changed: no sidecar read again
    monkeypatch.setattr(os, "scandir", lambda *a: pytest.fail("an answer listed a folder"))
    monkeypatch.setattr(Path, "stat", lambda *a, **k: pytest.fail("an answer stat'ed a file"))
    found, cursor = index.page(limit=20)
    assert len(found) == 20 and found[0][0].event == "00630063" and cursor
    assert len(index.page(limit=20, cursor=cursor, cause="motion")[0]) == 20
    assert len(index.incident("00050000")) == 100
    assert index.find("00000000") is not None and index.find("00000064") is None


def test_a_hung_nas_leaves_the_answers_as_of_the_last_look(tmp_path):
    import threading

    (tmp_path / "spool" / "outbox").mkdir(parents=True)
    put(tmp_path, "nas", T0, "abcdef01")
    index = ClipLibrary(config(tmp_path), every=0.05)
    index.scan()
    listed = index.snapshot.listed_at
    release = threading.Event()
    real_folder = index._folder

    def hanging_folder(folder, kind):  # the NAS stops answering in the middle of a look
        release.wait(30)
        return real_folder(folder, kind)

    index._folder = hanging_folder
    stop = threading.Event()
    indexer = threading.Thread(target=index.run, args=(stop,))
    indexer.start()
    try:
        put(tmp_path, "nas", T0 + timedelta(hours=1), "abcdef02")
        for _ in range(20):  # the page's requests, while the indexer waits for the NAS
            found, _ = index.page()
            assert [c.event for c, _ in found] == ["abcdef01"]
            assert index.get("abcdef01") is not None
        assert index.snapshot.listed_at == listed and indexer.is_alive()
    finally:
        release.set()
        stop.set()
        index.wake()
        indexer.join()
