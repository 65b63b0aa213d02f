"""The NAS from smartcam.conf: an automount made at boot, which never holds the boot up.

A machine boots from the image with a cifs share in [storage] whose server does not answer
(the address is our side of its link, where nothing serves SMB): the boot completes, the
smartcam processes run, the credentials sit in /run with mode 0600, and the host reports the
NAS as missing. Mounting a real share needs a kernel with cifs (or nfs): this one is checked
and the test says so when it has neither.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from tests.roles.conftest import FILES
from tests.roles.machine import Machine

pytestmark = pytest.mark.slow


def nas_conf(server: str) -> str:
    return (FILES / "smartcam.conf").read_text().replace(
        "[storage]\ntype = local\n",
        textwrap.dedent(f"""\
            [storage]
            type = cifs
            share = //{server}/cams
            username = cam
            password = not written to the card
            """),
    )


def health(m: Machine) -> dict:
    with urllib.request.urlopen(f"http://{m.address}/api/v1/health", timeout=5) as r:
        return json.load(r)


@pytest.fixture
def nas_machine(scratch: Path, image: list[str]):
    m = Machine("cam-nas", 31, scratch, image)
    try:
        m.up(nas_conf(m.gateway))
        yield m
    finally:
        m.destroy()


@pytest.mark.timeout(300)
def test_a_dead_nas_does_not_hold_up_the_boot_and_the_host_reports_it(
    nas_machine: Machine,
) -> None:
    m = nas_machine
    units = "smartcam-camera smartcam-host nginx mnt-nas.automount smartcam-bootconfig"
    assert m.ssh(f"systemctl is-active {units}").stdout.split() == ["active"] * 5
    mount = m.ssh("cat /run/systemd/system/mnt-nas.mount").stdout
    assert "What=//10.213.31.1/cams" in mount and "nofail" in mount and "TimeoutSec=20" in mount
    assert "not written" not in mount
    creds = m.ssh("stat -c '%a %U' /run/smartcam/nas-credentials").stdout.split()
    assert creds == ["600", "root"]
    assert m.ssh("grep -rl 'not written to the card' /etc /var /opt || true").stdout == ""

    # The host reaching into /mnt/nas triggers the automount; the mount fails and the host says
    # the NAS is not mounted (the autofs entry alone is not the NAS).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        h = health(m)
        if h["storage"] and h["storage"].get("nas_error") and h["camera_connected"]:
            break
        time.sleep(1)
    assert h["storage"]["nas_mounted"] is False and h["storage"]["nas_error"], h["storage"]
    assert "automount could not mount" in h["storage"]["nas_error"], h["storage"]
    assert any("NAS" in p["message"] for p in h["problems"]), h["problems"]
    assert h["ok"], "a missing NAS is a warning; the camera goes on recording into the spool"
    failed = m.ssh("systemctl show -p Result --value mnt-nas.mount").stdout.strip()
    assert failed == "exit-code", "the automount tried to mount the share, and failed"


def kernel_has(fstype: str) -> bool:
    return fstype in Path("/proc/filesystems").read_text().split()


@pytest.mark.timeout(300)
def test_a_real_share_is_mounted_on_first_use(scratch: Path, image: list[str]) -> None:
    """Samba on our side of the link; the machine mounts it through the automount."""
    if not kernel_has("cifs"):
        pytest.skip(
            "this kernel has no cifs filesystem (and loads no modules), so no share can be "
            "mounted here; the dead-NAS test covers the units and the boot"
        )
    if shutil.which("smbd") is None:
        pytest.skip("smbd is not installed: apt-get install samba")
    m = Machine("cam-smb", 32, scratch, image)
    share = scratch / "share"
    share.mkdir()
    share.chmod(0o777)
    conf = scratch / "smb.conf"
    conf.write_text(
        textwrap.dedent(f"""\
        [global]
        interfaces = {m.gateway}/24
        bind interfaces only = yes
        map to guest = bad user
        lock directory = {scratch}/smb-lock
        state directory = {scratch}/smb-state
        cache directory = {scratch}/smb-cache
        private dir = {scratch}/smb-private
        pid directory = {scratch}/smb-pid
        log file = {scratch}/smb.log
        [cams]
        path = {share}
        guest ok = yes
        read only = no
        force user = root
        """)
    )
    for d in ("smb-lock", "smb-state", "smb-cache", "smb-private", "smb-pid"):
        (scratch / d).mkdir()
    conf_text = nas_conf(m.gateway).replace("username = cam\n", "").replace(
        "password = not written to the card\n", ""
    )
    m.prepare(conf_text)
    m.boot()
    smbd = subprocess.Popen(["smbd", "--foreground", "--no-process-group", "-s", str(conf)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if m.ssh("findmnt -n -t cifs /mnt/nas", check=False).returncode == 0:
                break
            m.ssh("ls /mnt/nas", check=False)
            time.sleep(1)
        assert m.ssh("findmnt -n -t cifs /mnt/nas", check=False).returncode == 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(share.glob("cam-smb/*/*.mp4")):
            time.sleep(1)
        assert list(share.glob("cam-smb/*/*.mp4")), "no clip reached the share"
    finally:
        smbd.terminate()
        smbd.wait(timeout=10)
        m.destroy()
