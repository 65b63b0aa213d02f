"""The NAS check: mountinfo parsing, what counts as mounted, the verified put."""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from smartcam.config import from_text
from smartcam.storage.mount import Nas, NasUnavailable, mount_at, parse_mountinfo

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
    # One probe file, rewritten by every probe: never deleted (a recycle bin would keep each).
    assert os.listdir(tmp_path / "a" / "nas" / "cam-a") == [".smartcam-probe"]
    inode = os.stat(tmp_path / "a" / "nas" / "cam-a" / ".smartcam-probe").st_ino
    with nas.open() as fd:
        assert nas.probe(fd, force=True)
    assert os.stat(tmp_path / "a" / "nas" / "cam-a" / ".smartcam-probe").st_ino == inode


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


@pytest.mark.parametrize(("code", "kind"), [
    (errno.ENOSPC, "full"), (errno.EDQUOT, "over quota"), (errno.EROFS, "read-only"),
    (errno.EACCES, "refused"), (errno.EHOSTDOWN, "down"), (errno.EIO, "down"),
    (errno.ESTALE, "down"), (errno.ETIMEDOUT, "down"),
])
def test_a_failed_write_probe_says_what_kind_of_trouble(tmp_path, monkeypatch, code, kind):
    nas = Nas(cfg(tmp_path, "local", tmp_path / "nas"))
    real_open = os.open

    def refusing(path, flags, *a, **k):
        if path == ".smartcam-probe":
            raise OSError(code, os.strerror(code))
        return real_open(path, flags, *a, **k)

    with nas.open() as fd:
        monkeypatch.setattr(os, "open", refusing)
        state = nas.look(fd)
    assert (state.writable, state.trouble) == (False, kind)
    assert nas.down("gone").trouble == "down"
