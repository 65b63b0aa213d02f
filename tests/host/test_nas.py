"""The NAS check: mountinfo parsing, what counts as mounted, the verified put."""

from __future__ import annotations

import os
import subprocess

import pytest

from smartcam.config import from_text
from smartcam.host import nas as nasmod
from smartcam.host.nas import (
    CopyCorrupt,
    Nas,
    NasUnavailable,
    clip_dir,
    day_name,
    mount_at,
    parse_mountinfo,
    put_file,
)

MOUNTINFO = """\
22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
40 22 0:35 / /mnt/nas rw,relatime shared:20 - autofs systemd-1 rw,fd=45
41 40 0:52 / /mnt/nas rw,relatime shared:21 - cifs //nas.local/cams rw,vers=3.1.1
50 22 0:60 / /mnt/my\\040disk rw - nfs4 server:/export/Video\\040Clips rw
51 22 7:0 / /media/usb rw master:3 propagation_from:1 - vfat /dev/sdb1 rw
"""


def cfg(tmp_path, type="cifs", nas="/mnt/nas"):
    return from_text(f"[camera]\nname = cam-a\n[storage]\nnas = {nas}\ntype = {type}\n"
                     f"spool = {tmp_path}/spool\n")


def test_mountinfo_lines_are_parsed_with_escapes_and_optional_fields():
    mounts = parse_mountinfo(MOUNTINFO + "garbage line\n")
    assert [m.point for m in mounts] == ["/", "/mnt/nas", "/mnt/nas", "/mnt/my disk",
                                         "/media/usb"]
    assert mounts[3].source == "server:/export/Video Clips" and mounts[3].fstype == "nfs4"
    assert mounts[4].fstype == "vfat" and mounts[4].dev == (7, 0)
    assert mount_at("/mnt/nas", MOUNTINFO).fstype == "cifs"  # the automount's real mount
    assert mount_at("/mnt", MOUNTINFO) is None


@pytest.mark.parametrize(("type", "nas", "problem"), [
    ("cifs", "/mnt/nas", None),
    ("nfs", "/mnt/my disk", None),
    ("mount", "/media/usb", None),
    ("cifs", "/media/usb", "is a vfat mount, not cifs"),
    ("nfs", "/mnt/nas", "is a cifs mount, not nfs"),
    ("mount", "/mnt/elsewhere", "is not mounted"),
    ("cifs", "/mnt", "is not mounted"),
    ("local", "/mnt", None),
])
def test_what_counts_as_mounted(tmp_path, type, nas, problem):
    found = Nas(cfg(tmp_path, type, nas)).mount_problem(MOUNTINFO)
    assert (found is None) if problem is None else (problem in found)


def test_an_automount_not_yet_triggered_is_worth_opening(tmp_path):
    text = MOUNTINFO.replace("41 40 0:52 / /mnt/nas", "41 40 0:52 / /mnt/other")
    assert Nas(cfg(tmp_path)).mount_problem(text) is None


def test_a_bare_mount_point_is_never_written_to(tmp_path):
    bare = tmp_path / "mnt"
    bare.mkdir()
    for kind in ("mount", "cifs", "nfs"):
        nas = Nas(cfg(tmp_path, kind, bare))
        with pytest.raises(NasUnavailable, match="not mounted"), nas.open():
            pass
    assert list(bare.iterdir()) == []
    with pytest.raises(NasUnavailable, match="not mounted"), Nas(
        cfg(tmp_path, "mount", tmp_path / "no" / "where")
    ).open():
        pass
    assert not (tmp_path / "no").exists()


def test_a_mount_of_the_wrong_kind_is_refused(tmp_path):
    with pytest.raises(NasUnavailable, match="proc mount, not cifs"), Nas(
        cfg(tmp_path, "cifs", "/proc")
    ).open(create=False):
        pass


def test_a_local_folder_is_created_and_probed(tmp_path):
    nas = Nas(cfg(tmp_path, "local", tmp_path / "a" / "nas"))
    with nas.open() as fd:
        state = nas.look(fd)
    assert (tmp_path / "a" / "nas" / "cam-a").is_dir()
    assert state.mounted and state.writable and state.free_bytes > 0 and state.total_bytes > 0
    assert os.listdir(tmp_path / "a" / "nas" / "cam-a") == []  # the probe cleaned up


def test_a_real_mount_is_accepted_until_it_goes_away(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    point = tmp_path / "mnt"
    point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)], check=True)
    try:
        nas = Nas(cfg(tmp_path, "mount", point))
        assert nas.mount_problem() is None
        with nas.open() as fd:
            state = nas.look(fd)
            os.mkdir("2026-01-02", dir_fd=fd)
        assert state.mounted and state.writable and state.fstype == "tmpfs"
        assert 3 * 2**20 < state.total_bytes <= 4 * 2**20
        with pytest.raises(NasUnavailable, match="is a tmpfs mount, not nfs"), Nas(
            cfg(tmp_path, "nfs", point)
        ).open():
            pass
    finally:
        subprocess.run(["umount", "-l", str(point)], check=True)
    assert "not mounted" in nas.mount_problem()
    with pytest.raises(NasUnavailable), nas.open():
        pass
    assert list(point.iterdir()) == []


def test_clip_dir_is_the_day_of_the_stem_in_utc(tmp_path):
    c = cfg(tmp_path)
    assert clip_dir(c, "cam-b_20251231T235959Z_0123abcd") == (
        c.storage.nas / "cam-b" / "2025-12-31")
    assert day_name("cam-a_20260102T000000Z_0123abcd") == "2026-01-02"
    with pytest.raises(ValueError):
        clip_dir(c, "../etc_20251231T235959Z_0123abcd")


def test_put_file_puts_only_a_verified_copy_in_place(tmp_path, monkeypatch):
    import hashlib

    src_path = tmp_path / "src"
    src_path.write_bytes(os.urandom(300_000))
    want = hashlib.sha256(src_path.read_bytes()).hexdigest()
    day = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    src = os.open(src_path, os.O_RDONLY)
    real = nasmod.copy_bytes
    try:
        def short(s, d, size, tick):
            real(s, d, size - 1, tick)

        monkeypatch.setattr(nasmod, "copy_bytes", short)
        with pytest.raises(CopyCorrupt, match="299999 bytes, not 300000"):
            put_file(day, "clip.mp4", src, 300_000, want, lambda: None)
        monkeypatch.setattr(nasmod, "copy_bytes", real)
        with pytest.raises(CopyCorrupt, match="sha256 differs"):
            put_file(day, "clip.mp4", src, 300_000, "0" * 64, lambda: None)
        assert sorted(os.listdir(tmp_path)) == ["src"]
        put_file(day, "clip.mp4", src, 300_000, want, lambda: None)
    finally:
        os.close(src)
        os.close(day)
    assert (tmp_path / "clip.mp4").read_bytes() == src_path.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4", "src"]
