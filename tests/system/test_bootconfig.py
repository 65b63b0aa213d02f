"""`smartcam system apply` (the boot service, smartcam.system.bootconfig) with the NAS unit maker
(smartcam.system.automount), run through the CLI as the unit runs it, against a directory tree
standing in for the machine, with the commands it runs recorded, not run."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from smartcam import cli
from smartcam.system import bootconfig
from smartcam.system.machine import Machine

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvXZ9m3nZC0+q6hTOx0XjVz3u2c4TvXyRsXc0jQkq1m me@laptop"
GOOD = f"""[camera]
source = synthetic

[storage]
type = cifs
share = //nas.local/cams
username = cam
password = s3cret pass

[system]
hostname = frontdoor
timezone = Europe/London
wifi_ssid = Home net
wifi_password = correct horse
wifi_country = GB
ssh_authorized_keys = {KEY}
syslog_host = logs.local:1514
"""


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """A tree with the files the program reads: passwd, hostname, hosts, zoneinfo, NM."""
    root = tmp_path / "root"
    for d in (
        "etc/NetworkManager/system-connections",
        "usr/share/zoneinfo/Europe",
        "home/pi",
        "boot/firmware",
        "run/smartcam",
        "etc/smartcam",
    ):
        (root / d).mkdir(parents=True)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\n"
    )
    (root / "etc/hostname").write_text("raspberrypi\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n")
    (root / "usr/share/zoneinfo/Europe/London").write_text("TZif")
    (root / "home/pi/.ssh").mkdir()
    (root / "home/pi/.ssh/authorized_keys").write_text("ssh-rsa AAAAB3Nza mine\n")
    return root


def run(root: Path, text: str, calls: list) -> int:
    """`smartcam system apply` on the tree, as the unit runs it; its commands go to `calls`."""
    conf = root / "boot/firmware/smartcam.conf"
    conf.write_text(text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Machine, "run", lambda self, *argv: calls.append(argv) or 0)
        return cli.main(["system", "apply", "--config", str(conf), "--root", str(root)])


def snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_a_good_file_is_applied_and_a_second_boot_writes_nothing(machine: Path) -> None:
    calls: list = []
    assert run(machine, GOOD, calls) == 0
    assert (machine / "etc/hostname").read_text() == "frontdoor\n"
    assert "127.0.1.1\tfrontdoor" in (machine / "etc/hosts").read_text()
    assert os.readlink(machine / "etc/localtime") == "/usr/share/zoneinfo/Europe/London"
    wifi = machine / "etc/NetworkManager/system-connections/smartcam-wifi.nmconnection"
    assert "ssid=Home net" in wifi.read_text() and "psk=correct horse" in wifi.read_text()
    assert stat.S_IMODE(wifi.stat().st_mode) == 0o600
    keys = (machine / "home/pi/.ssh/authorized_keys").read_text()
    assert keys.startswith("ssh-rsa AAAAB3Nza mine\n") and KEY in keys  # the user's key stays
    remote = (machine / "run/smartcam/rsyslog/remote.conf").read_text()
    assert 'target="logs.local" port="1514" protocol="udp"' in remote
    # The NAS: runtime units and credentials in /run only.
    units = machine / "run/systemd/system"
    mount = (units / "mnt-nas.mount").read_text()
    assert "What=//nas.local/cams" in mount and "Type=cifs" in mount
    assert "credentials=/run/smartcam/nas-credentials" in mount and ",nofail," in mount
    assert "TimeoutSec=20" in mount
    assert "StartLimitIntervalSec=0" in mount  # quick failures never kill the automount
    assert "TimeoutIdleSec=600" in (units / "mnt-nas.automount").read_text()
    creds = machine / "run/smartcam/nas-credentials"
    assert creds.read_text() == "username=cam\npassword=s3cret pass\n"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert "s3cret" not in mount
    assert ("iw", "reg", "set", "GB") in calls
    assert ("systemctl", "daemon-reload") in calls
    assert ("systemctl", "stop", "mnt-nas.mount") in calls
    assert ("systemctl", "start", "--no-block", "mnt-nas.automount") in calls

    before, calls2 = snapshot(machine), []
    assert run(machine, GOOD, calls2) == 0
    after = snapshot(machine)
    changed = {p for p in after if after[p] != before.get(p)} - {
        str(machine / "boot/firmware/smartcam.conf")
    }
    assert not changed, f"a second boot rewrote {changed}"
    assert ("systemctl", "daemon-reload") not in calls2


def test_a_bad_file_changes_nothing_and_says_why_where_the_user_looks(machine: Path) -> None:
    before = snapshot(machine)
    bad = GOOD.replace("hostname = frontdoor", "hostname = -bad-").replace(
        "[camera]", "[camera]\nfps = fast"
    )
    assert run(machine, bad, []) == bootconfig.EX_CONFIG
    boot_error = (machine / "boot/firmware/smartcam-error.txt").read_text()
    assert "[system] hostname" in boot_error and "[camera] fps" in boot_error
    assert (machine / "run/smartcam/config-error.txt").read_text() == boot_error
    after = snapshot(machine)
    written = {p for p in after if after[p] != before.get(p)}
    assert written == {
        str(machine / p)
        for p in (
            "boot/firmware/smartcam.conf",
            "boot/firmware/smartcam-error.txt",
            "run/smartcam/config-error.txt",
        )
    }
    # Fixed: the errors go away and the file is applied.
    assert run(machine, GOOD, []) == 0
    assert not (machine / "boot/firmware/smartcam-error.txt").exists()
    assert not (machine / "run/smartcam/config-error.txt").exists()
    assert (machine / "etc/hostname").read_text() == "frontdoor\n"


def test_empty_system_settings_leave_the_system_as_it_is(machine: Path) -> None:
    before = snapshot(machine)
    assert run(machine, "[camera]\nsource = synthetic\n", []) == 0
    after = snapshot(machine)
    assert {p for p in after if after[p] != before.get(p)} == {
        str(machine / "boot/firmware/smartcam.conf")
    }


def test_removing_the_nas_removes_its_units_and_credentials(machine: Path) -> None:
    calls: list = []
    run(machine, GOOD, calls)
    nfs = GOOD.replace("type = cifs", "type = nfs").replace(
        "share = //nas.local/cams", "share = nas.local:/export/cams"
    )
    run(machine, nfs, calls)
    mount = (machine / "run/systemd/system/mnt-nas.mount").read_text()
    assert "Type=nfs" in mount and "soft" in mount and "credentials" not in mount
    assert not (machine / "run/smartcam/nas-credentials").exists()
    calls.clear()
    run(machine, GOOD.replace("share = //nas.local/cams", "share ="), calls)
    assert not list((machine / "run/systemd/system").glob("*mount"))
    assert ("systemctl", "stop", "mnt-nas.automount") in calls


def imager_first_boot(root: Path) -> None:
    """What Raspberry Pi Imager's settings leave after cloud-init's first boot (trixie): its
    host name in /etc/hostname and /etc/hosts (manage_etc_hosts: "127.0.1.1 <fqdn> <name>"),
    uid 1000 renamed to its user with its key, and a Wi-Fi profile of its own."""
    (root / "etc/cloud/cloud.cfg.d").mkdir(parents=True)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
    )
    (root / "home/alice/.ssh").mkdir(parents=True)
    (root / "home/alice/.ssh/authorized_keys").write_text("ssh-ed25519 AAAAimager alice@pc\n")
    (root / "etc/hostname").write_text("imagercam\n")
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n127.0.1.1 imagercam.local imagercam\n")
    imager_wifi = root / "etc/NetworkManager/system-connections/netplan-wlan0-Home net"
    imager_wifi.write_text("[connection]\nid=netplan-wlan0-Home net\n")


def test_smartcam_conf_wins_over_raspberry_pi_imager_where_both_set_something(
    machine: Path,
) -> None:
    imager_first_boot(machine)
    assert run(machine, GOOD, []) == 0
    # Host name: ours, and cloud-init told to keep it from the next boot.
    assert (machine / "etc/hostname").read_text() == "frontdoor\n"
    hosts = (machine / "etc/hosts").read_text()
    assert "127.0.1.1\tfrontdoor" in hosts and "imagercam" not in hosts
    assert "preserve_hostname: true" in (
        machine / "etc/cloud/cloud.cfg.d/99-smartcam.cfg"
    ).read_text()
    # User: Imager's (uid 1000); SSH keys: both, Imager's first.
    keys = (machine / "home/alice/.ssh/authorized_keys").read_text()
    assert keys.startswith("ssh-ed25519 AAAAimager alice@pc\n") and KEY in keys
    # Wi-Fi: both profiles, ours preferred.
    connections = machine / "etc/NetworkManager/system-connections"
    assert (connections / "netplan-wlan0-Home net").exists()
    assert "autoconnect-priority=10" in (connections / "smartcam-wifi.nmconnection").read_text()
    # The unit runs after cloud-init's stages that set these, so it writes last.
    unit = (
        Path(__file__).parents[2]
        / "roles/smartcam_bootconfig/templates/etc/systemd/system/smartcam-bootconfig.service.j2"
    ).read_text()
    assert "After=cloud-init-local.service cloud-init-network.service" in unit


def test_cloud_init_hosts_line_naming_us_is_left_alone(machine: Path) -> None:
    """cloud-init writes "127.0.1.1 <fqdn> <name>"; with the same name nothing is rewritten."""
    imager_first_boot(machine)
    (machine / "etc/hosts").write_text("127.0.0.1 localhost\n127.0.1.1 frontdoor.lan frontdoor\n")
    (machine / "etc/hostname").write_text("frontdoor\n")
    before = (machine / "etc/hosts").stat().st_mtime_ns
    assert run(machine, GOOD, []) == 0
    assert (machine / "etc/hosts").stat().st_mtime_ns == before


def test_a_bad_file_left_as_it_is_writes_the_boot_partition_once(machine: Path) -> None:
    """A FAT reports the mount's mode (0755 on a Pi) whatever was asked: compared by text."""
    bad = GOOD.replace("[camera]", "[camera]\nfps = fast")
    assert run(machine, bad, []) == bootconfig.EX_CONFIG
    error = machine / "boot/firmware/smartcam-error.txt"
    error.chmod(0o755)
    before = error.stat().st_mtime_ns
    assert run(machine, bad, []) == bootconfig.EX_CONFIG
    assert error.stat().st_mtime_ns == before
