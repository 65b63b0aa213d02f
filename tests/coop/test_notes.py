"""NAS discovery notes: round trip, atomic writes, staleness, and no writes to an absent NAS."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcam import files as files_module
from smartcam.config import from_text
from smartcam.coop.notes import (
    FILE,
    DiscoveryError,
    NasDiscovery,
    Record,
    format_record,
    parse_record,
)
from smartcam.coop.table import PeerTable
from smartcam.storage.mount import Nas, NasUnavailable
from tests.waiting import NOW, Clock


def record(name="cam-a", addresses=("192.0.2.1",), updated=NOW, port=80) -> Record:
    return Record(name, "yard", f"pi-{name}", addresses, port, "0.1.0", updated)


def nas_cfg(path: Path, kind: str = "local"):
    return from_text(f"[camera]\nname = cam-a\n[storage]\nnas = {path}\ntype = {kind}\n")


def nas_at(path: Path, kind: str = "local") -> Nas:
    return Nas(nas_cfg(path, kind))


class SwitchedNas(Nas):
    """A local NAS folder whose 'mounted' state the test switches."""

    def __init__(self, path: Path):
        super().__init__(nas_cfg(path))
        self.root_path = path
        self.up = True

    @contextmanager
    def root(self):
        if not self.up:
            raise NasUnavailable(f"{self.path} is not mounted")
        with super().root() as fd:
            yield fd


@pytest.fixture
def setup(tmp_path):
    nas = SwitchedNas(tmp_path / "nas")
    nas.root_path.mkdir()
    clock = Clock()
    me = {"record": record(updated=NOW)}
    table = PeerTable("cam-a", clock)
    disc = NasDiscovery(nas, lambda: me["record"], table, clock=clock)
    return nas, clock, me, table, disc


def put_note(nas: Path, rec: Record) -> Path:
    (nas / rec.name).mkdir(exist_ok=True)
    path = nas / rec.name / FILE
    path.write_text(format_record(rec))
    return path


def test_round_trip():
    rec = record(addresses=("192.0.2.1", "198.51.100.7"), port=8080)
    text = format_record(rec)
    assert "addresses=192.0.2.1,198.51.100.7\n" in text
    assert "updated=2023-11-14T22:13:20Z\n" in text
    assert parse_record(text) == rec


def test_the_format_is_plain_key_value_lines_readers_may_extend():
    text = "\ufeff# a note\r\nname=cam-b\r\ngroup=yard\r\nhostname=pi\r\naddresses=192.0.2.2\r\n" \
           "port=80\r\nversion=9.9\r\nupdated=2023-11-14T22:13:20+00:00\r\nfuture=ignored\r\n"
    assert parse_record(text) == Record("cam-b", "yard", "pi", ("192.0.2.2",), 80, "9.9", NOW)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("port=80", "port=0"),
        lambda t: t.replace("port=80", "port=http"),
        lambda t: t.replace("updated=", "updated=yesterday"),
        lambda t: t.replace("addresses=192.0.2.1", "addresses="),
        lambda t: "\n".join(line for line in t.splitlines() if not line.startswith("group")),
        lambda t: t + "garbage without an equals sign\n",
    ],
)
def test_broken_notes_raise_our_error(change):
    with pytest.raises(DiscoveryError):
        parse_record(change(format_record(record())))


@given(st.text(max_size=400))
def test_any_text_parses_or_raises_our_error(text):
    try:
        parse_record(text)
    except DiscoveryError:
        pass


def test_write_is_atomic_and_leaves_no_temporary_file(setup):
    nas, _, me, _, disc = setup
    assert disc.write(me["record"])
    assert sorted(p.name for p in (nas.root_path / "cam-a").iterdir()) == [FILE]
    assert parse_record((nas.root_path / "cam-a" / FILE).read_text()) == me["record"]


def test_a_write_that_fails_half_way_leaves_the_old_note_whole(setup, monkeypatch):
    nas, _, me, _, disc = setup
    disc.write(me["record"])
    before = (nas.root_path / "cam-a" / FILE).read_text()

    def broken_write(fd, data):
        os.ftruncate(fd, 0)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "write", broken_write)
    with pytest.raises(OSError):
        disc.write(record(addresses=("192.0.2.99",)))
    assert (nas.root_path / "cam-a" / FILE).read_text() == before
    assert sorted(p.name for p in (nas.root_path / "cam-a").iterdir()) == [FILE]


def test_a_write_killed_before_its_rename_leaves_one_file_the_next_write_reuses(
        setup, monkeypatch):
    """Nobody cleans a share: a temporary name of its own per try would pile up, one per crash."""
    nas, _, me, _, disc = setup
    folder = nas.root_path / "cam-a"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as far as the note goes, the process died here

    for _ in range(3):
        monkeypatch.setattr(files_module.os, "unlink", lambda *a, **k: None)  # died: no cleanup
        monkeypatch.setattr(files_module.os, "rename", killed)
        with pytest.raises(KeyboardInterrupt):
            disc.write(me["record"])
        monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == [f".{FILE}.tmp"]
    assert disc.write(me["record"])
    assert sorted(p.name for p in folder.iterdir()) == [FILE]


def test_nothing_is_written_or_created_while_the_nas_is_not_mounted(tmp_path):
    mount_point = tmp_path / "mnt"  # a NAS of type mount, and nothing mounted there
    mount_point.mkdir()
    table = PeerTable("cam-a", Clock())
    disc = NasDiscovery(nas_at(mount_point, "mount"), lambda: record(), table, clock=Clock())
    for _ in range(3):
        disc.tick()
    assert list(mount_point.iterdir()) == []
    assert not disc.write(record())
    assert list(mount_point.iterdir()) == []


def test_others_notes_fill_the_table_and_ours_is_skipped(setup):
    nas, _, _, table, disc = setup
    put_note(nas.root_path, record("cam-b", ("192.0.2.2",), NOW - 10))
    put_note(nas.root_path, record("cam-c", ("192.0.2.3",), NOW - 301))  # stale
    (nas.root_path / "cam-d").mkdir()  # a camera that never wrote one
    (nas.root_path / "cam-e").mkdir()
    (nas.root_path / "cam-e" / FILE).write_text("rubbish")
    disc.tick()
    assert (nas.root_path / "cam-a" / FILE).exists()
    (peer,) = table.peers()
    assert (peer.name, peer.addresses, set(peer.sources)) == ("cam-b", ("192.0.2.2",), {"nas"})


def test_a_note_goes_stale_after_five_minutes(setup):
    nas, clock, _, table, disc = setup
    put_note(nas.root_path, record("cam-b", updated=NOW))
    disc.tick()
    assert [p.name for p in table.peers()] == ["cam-b"]
    clock.t = NOW + 299
    table.expire()
    assert [p.name for p in table.peers()] == ["cam-b"]
    clock.t = NOW + 301
    table.expire()
    assert table.peers() == []
    disc.last_read = -1e9
    disc.tick()  # read again: still stale, not back
    assert table.peers() == []


def test_writes_every_minute_and_at_once_when_we_move(setup):
    nas, clock, me, _, disc = setup
    note = nas.root_path / "cam-a" / FILE
    disc.tick()
    first = note.read_text()
    clock.t += 30
    me["record"] = record(updated=clock.t)
    disc.tick()
    assert note.read_text() == first  # same place, not due yet
    clock.t += 31
    me["record"] = record(updated=clock.t)
    disc.tick()
    assert parse_record(note.read_text()).updated == clock.t
    clock.t += 1
    me["record"] = record(addresses=("192.0.2.77",), updated=clock.t)  # DHCP moved us
    disc.tick()
    assert parse_record(note.read_text()).addresses == ("192.0.2.77",)


def test_a_nas_that_goes_away_keeps_what_it_said_until_it_is_stale(setup):
    nas, clock, _, table, disc = setup
    put_note(nas.root_path, record("cam-b", updated=NOW))
    disc.tick()
    nas.up = False
    clock.t += 20
    disc.last_read = -1e9
    disc.tick()
    assert [p.name for p in table.peers()] == ["cam-b"]
    clock.t = NOW + 301
    table.expire()
    assert table.peers() == []


def test_a_removed_note_withdraws_the_peer(setup):
    nas, _, _, table, disc = setup
    path = put_note(nas.root_path, record("cam-b", updated=NOW))
    disc.tick()
    path.unlink()
    disc.last_read = -1e9
    disc.tick()
    assert table.peers() == []


def test_a_note_in_another_cameras_folder_or_with_a_bad_name_is_ignored(setup):
    nas, _, _, table, disc = setup
    (nas.root_path / "cam-x").mkdir()
    (nas.root_path / "cam-x" / FILE).write_text(format_record(record("cam-y", ("192.0.2.66",))))
    put_note(nas.root_path, record("cam-b", ("192.0.2.2",)))
    disc.tick()
    assert [p.name for p in table.peers()] == ["cam-b"]  # not cam-y, nor cam-x


def test_a_note_from_the_future_is_no_peer_but_a_clock_a_little_ahead_is(setup):
    nas, clock, _, table, disc = setup
    put_note(nas.root_path, record("cam-b", updated=NOW + 3600))  # its clock an hour ahead
    put_note(nas.root_path, record("cam-c", ("192.0.2.3",), updated=NOW + 10))
    disc.tick()
    assert [p.name for p in table.peers()] == ["cam-c"]
    clock.t = NOW + 311
    table.expire()
    assert table.peers() == []  # written "in 10 s" counts as written when first read
