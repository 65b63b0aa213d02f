"""The spool's budget: rejected clips are counted and go first, then the oldest waiting clip."""

from __future__ import annotations

import os
import time

from smartcam.clips.names import ClipName
from smartcam.storage.budget import SpoolKeeper


def put_clip(folder, stamp: str, size: int) -> str:
    stem = ClipName("cam-a", stamp, "0123abcd").stem
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.mp4").write_bytes(b"\0" * size)
    (folder / f"{stem}.json").write_text("{}")
    return stem


def test_rejected_clips_count_against_the_budget_and_are_deleted_first(tmp_path):
    keeper = SpoolKeeper(tmp_path, 1_000_000, lambda: None)
    old = put_clip(tmp_path / "rejected", "20260101T000000Z", 300_000)
    new = put_clip(tmp_path / "rejected", "20260101T010000Z", 300_000)
    os.utime(tmp_path / "rejected" / f"{old}.mp4", (time.time() - 60, time.time() - 60))
    waiting = put_clip(tmp_path / "outbox", "20260102T000000Z", 600_000)
    (tmp_path / "recording").mkdir()
    keeper.keep_budget()  # 1.2 MB held of 1 MB: the oldest rejected file goes, nothing else
    assert not (tmp_path / "rejected" / f"{old}.mp4").exists()
    assert (tmp_path / "rejected" / f"{new}.mp4").exists()
    assert (tmp_path / "outbox" / f"{waiting}.mp4").exists()
    assert keeper.health()["dropped"] == 0
    put_clip(tmp_path / "outbox", "20260102T010000Z", 400_000)
    keeper.keep_budget()  # over again: the rest of rejected/, then the oldest waiting clip
    assert not (tmp_path / "rejected" / f"{new}.mp4").exists()
    assert not (tmp_path / "outbox" / f"{waiting}.mp4").exists()
    assert keeper.health()["dropped"] == 1


def test_the_budget_is_what_the_disk_holds_when_that_is_less_than_spool_size(tmp_path):
    keeper = SpoolKeeper(tmp_path, 1 << 60, lambda: None, headroom=1 << 20)
    for folder in ("recording", "outbox"):
        (tmp_path / folder).mkdir()
    keeper.keep_budget()
    st = os.statvfs(tmp_path)
    assert keeper.health()["spool_budget_bytes"] <= st.f_bavail * st.f_frsize - (1 << 20)


def test_while_the_nas_takes_clips_a_squeezed_spool_gives_the_uploader_time(tmp_path):
    """The RAM disk shrank below what the budget wants: the uploader empties it, so a clip is
    only dropped when it has waited longer than a working NAS would take (a NAS too slow)."""
    taking = True
    keeper = SpoolKeeper(tmp_path, 1_000_000, lambda: None, nas_taking=lambda: taking)
    (tmp_path / "recording").mkdir()
    young = put_clip(tmp_path / "outbox", "20260102T000000Z", 600_000)
    old = put_clip(tmp_path / "outbox", "20260102T000100Z", 600_000)
    gone = time.time() - keeper.timing.drop_grace - 1
    os.utime(tmp_path / "outbox" / f"{old}.json", (gone, gone))
    keeper.keep_budget()  # 1.2 MB of 1 MB: only the clip that waited past the grace goes
    assert (tmp_path / "outbox" / f"{young}.json").exists()
    assert not (tmp_path / "outbox" / f"{old}.json").exists()
    assert "more slowly" in keeper.health()["dropped_recent"][0]["reason"]
    put_clip(tmp_path / "outbox", "20260102T000200Z", 600_000)
    taking = False  # the NAS went away: the budget is kept at once
    keeper.keep_budget()
    assert not (tmp_path / "outbox" / f"{young}.json").exists()
    assert keeper.health()["dropped"] == 2


def test_copies_of_uploaded_clips_go_first_and_cost_no_waiting_clip(tmp_path):
    keeper = SpoolKeeper(tmp_path, 1_000_000, lambda: None)
    (tmp_path / "recording").mkdir()
    copies = [put_clip(tmp_path / "uploaded", f"20260101T0{i}0000Z", 300_000) for i in range(3)]
    rejected = put_clip(tmp_path / "rejected", "20260101T050000Z", 100_000)
    waiting = put_clip(tmp_path / "outbox", "20260102T000000Z", 500_000)
    keeper.keep_budget()  # 1.5 MB held of 1 MB: the two oldest copies, nothing else
    assert [(tmp_path / "uploaded" / f"{s}.json").exists() for s in copies] == [False, False, True]
    assert (tmp_path / "rejected" / f"{rejected}.mp4").exists()
    assert (tmp_path / "outbox" / f"{waiting}.mp4").exists()
    health = keeper.health()
    assert (health["kept_clips"], health["kept_bytes"], health["dropped"]) == (1, 300_002, 0)
    assert health["spool_used_bytes"] == 600_004  # waiting and rejected: copies are spare room
