"""The NAS from smartcam.conf: an automount made at boot, which never holds the boot up.

A machine boots from the image with a cifs share in [storage] whose server does not answer
(the address is our side of its link, where nothing serves SMB): the boot completes, the
smartcam processes run, the credentials sit in /run with mode 0600, and the host reports the
NAS as missing. A real share is mounted by the SD image's stand-in under qemu, whose kernel has
cifs (tests/image); this machine's has none.
"""

from __future__ import annotations

import json
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
