"""The NAS unit maker (smartcam.system.automount) on its own: the mount settings Ansible writes are
checked before they land, unit names are systemd's, and what it writes is durable."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from smartcam import cli
from smartcam.system import automount


def test_mount_settings_are_checked_before_they_land(tmp_path: Path, capsys) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"mount_timeout": 5, "nfs_options": "soft,timeo=50"}')
    bad.write_text('{"mount_timeout": -1, "nfs_option": "x"}')
    assert cli.main(["system", "check-mount-settings", str(good)]) == 0
    assert cli.main(["system", "check-mount-settings", str(bad)]) == 1
    assert "unknown settings ['nfs_option']" in capsys.readouterr().err


@pytest.mark.parametrize("path", ["/mnt/nas", "/srv/my nas", "/mnt/cam-1/clips", "/mnt/ünï"])
def test_unit_names_escape_paths_as_systemd_does(path: str) -> None:
    if shutil.which("systemd-escape") is None:
        pytest.skip("systemd-escape is not installed")
    want = subprocess.run(
        ["systemd-escape", "--path", "--suffix=mount", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert automount.unit_name(path, "mount") == want


def test_units_and_credentials_are_fsynced_before_they_replace_the_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    nas = automount.Nas("cifs", "//nas.local/cams", "/mnt/nas", "cam", "secret")
    settings = automount.load_settings(tmp_path / "missing.json")
    assert automount.apply(nas, settings, root=tmp_path, systemctl=lambda *a: None, log=print)

    units, run = tmp_path / "run/systemd/system", tmp_path / "run/smartcam"
    for folder, name in (
        (units, "mnt-nas.mount"),
        (units, "mnt-nas.automount"),
        (run, "nas-credentials"),
    ):
        assert (folder / name).exists()
        temporary = [s for s in synced if Path(s).parent == folder and f".{name}." in s]
        assert temporary, f"{name} was not fsynced before its rename: {synced}"
        assert str(folder) in synced, f"{folder} was not fsynced after the rename: {synced}"
