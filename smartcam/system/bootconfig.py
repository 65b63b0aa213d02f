"""`smartcam system apply`: apply smartcam.conf to this machine at every boot, [system] and the NAS.

Run by smartcam-bootconfig.service once /boot/firmware is mounted, before the network and the
smartcam processes start. It validates the file with the same schema as `smartcam config
check`; on a bad file it changes nothing, writes the problems where the user will see them
(smartcam-error.txt beside the file on the boot partition, and /run/smartcam/config-error.txt,
which the web page and the SSH login show) and exits 78. On a good file it removes those and
applies, each step only if the machine differs from the file, so a steady-state boot writes
nothing to the card:

    hostname             /etc/hostname, /etc/hosts, the running hostname
    timezone             /etc/localtime, /etc/timezone
    wifi_*               a NetworkManager connection (or wpa_supplicant.conf), the regulatory domain
    ssh_authorized_keys  a marked block in the admin user's ~/.ssh/authorized_keys
    syslog_host          /run/smartcam/rsyslog/remote.conf, and rsyslog (re)started
    [storage] NAS        runtime automount units and credentials in /run (automount.py)

Empty [system] settings leave the system as it is. Where Raspberry Pi Imager (cloud-init on
trixie images) set the same thing at first boot, smartcam.conf wins, from that boot on: the
service runs after cloud-init's local and network stages, so it is the last to write.

    host name   ours; cloud-init is told to keep it (preserve_hostname) from the next boot
    user        Imager's (smartcam.conf makes none); our keys go to it as the uid-1000 user
    SSH keys    both: Imager's lines stay, ours are a marked block in the same file
    Wi-Fi       both networks are kept; for the same network ours has the higher priority

    smartcam system apply [--config FILE] [--root DIR] [--ssh-user USER] [--dry-run]
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from smartcam.config import load
from smartcam.config.parse import HINT, find
from smartcam.errors import ConfigError
from smartcam.system import automount
from smartcam.system.machine import Machine

EX_CONFIG = 78
ERROR_NAME = "smartcam-error.txt"
RUN_DIR = "/run/smartcam"
DO_NOT_EDIT = "DO NOT EDIT: edit /boot/firmware/smartcam.conf"
KEYS_BEGIN = f"# BEGIN smartcam.conf ssh_authorized_keys ({DO_NOT_EDIT})"
KEYS_END = "# END smartcam.conf ssh_authorized_keys"
WIFI_ID = "smartcam-wifi"
# Where Raspberry Pi Imager's settings (cloud-init, on trixie images) and [system] both set
# something, smartcam.conf wins, at every boot: the boot service runs after cloud-init's
# first two stages, and this tells cloud-init to leave the hostname alone from the next boot.
CLOUD_INIT_CFG = "/etc/cloud/cloud.cfg.d/99-smartcam.cfg"
CLOUD_INIT_KEEP = (
    f"# Made by smartcam-bootconfig: [system] hostname in smartcam.conf names this camera.\n"
    f"# {DO_NOT_EDIT}\npreserve_hostname: true\n"
)


# --- the steps --------------------------------------------------------------------------------


def apply_hostname(m: Machine, name: str) -> None:
    if not name:
        return
    if m.read("/etc/hostname").strip() != name:
        m.write("/etc/hostname", name + "\n")
        m.changed(f"hostname {name}")
    hosts = m.read("/etc/hosts")
    line = f"127.0.1.1\t{name}"
    # cloud-init writes "127.0.1.1 <fqdn> <name>": that names us too.
    if re.search(rf"^127\.0\.1\.1(\s+\S+)*\s+{re.escape(name)}(\s|$)", hosts, re.M) is None:
        kept = [h for h in hosts.splitlines() if not h.startswith("127.0.1.1")]
        m.write("/etc/hosts", "\n".join([*kept, line]) + "\n")
        m.changed(f"/etc/hosts: {line}")
    if m.path("/etc/cloud/cloud.cfg.d").is_dir() and m.write(CLOUD_INIT_CFG, CLOUD_INIT_KEEP):
        m.changed("cloud-init keeps the hostname")
    if m.root == Path("/") and os.uname().nodename != name:
        m.run("hostname", name)
        m.run("systemctl", "try-restart", "--no-block", "avahi-daemon.service")


def apply_timezone(m: Machine, tz: str) -> None:
    if not tz:
        return
    target = f"/usr/share/zoneinfo/{tz}"
    if not m.path(target).exists():
        print(f"timezone {tz}: {target} is missing; install tzdata", file=sys.stderr)
        return
    link = m.path("/etc/localtime")
    if not (link.is_symlink() and os.readlink(link) == target):
        if not m.dry_run:
            tmp = link.with_name(".localtime.smartcam-tmp")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            os.symlink(target, tmp)
            os.replace(tmp, link)
        m.changed(f"timezone {tz}")
    m.write("/etc/timezone", tz + "\n")


def nm_connection(ssid: str, password: str) -> str:
    """A NetworkManager keyfile for the Wi-Fi network (stable uuid: same ssid, same file)."""
    esc = ssid.replace("\\", "\\\\")
    lines = [
        f"# Made by smartcam-bootconfig. {DO_NOT_EDIT}",
        "[connection]",
        f"id={WIFI_ID}",
        f"uuid={uuid.uuid5(uuid.NAMESPACE_URL, 'smartcam-wifi:' + ssid)}",
        "type=wifi",
        "autoconnect=true",
        # Above a profile of the same network from Imager (netplan): smartcam.conf wins.
        "autoconnect-priority=10",
        "",
        "[wifi]",
        "mode=infrastructure",
        f"ssid={esc}",
        "",
    ]
    if password:
        lines += ["[wifi-security]", "key-mgmt=wpa-psk", f"psk={password}", ""]
    lines += ["[ipv4]", "method=auto", "", "[ipv6]", "method=auto", ""]
    return "\n".join(lines)


def wpa_supplicant_conf(ssid: str, password: str, country: str) -> str:
    q = ssid.replace("\\", "\\\\").replace('"', '\\"')
    security = f'    psk="{password}"' if password else "    key_mgmt=NONE"
    return "\n".join(
        [
            f"# Made by smartcam-bootconfig. {DO_NOT_EDIT}",
            "ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev",
            "update_config=0",
            f"country={country}",
            "",
            "network={",
            f'    ssid="{q}"',
            security,
            "}",
            "",
        ]
    )


def apply_wifi(m: Machine, ssid: str, password: str, country: str) -> None:
    if country:
        m.run("iw", "reg", "set", country)  # runtime only; nothing written
    if not ssid:
        return
    if m.path("/etc/NetworkManager").is_dir():
        path = f"/etc/NetworkManager/system-connections/{WIFI_ID}.nmconnection"
        if m.write(path, nm_connection(ssid, password), 0o600):
            m.changed(f"Wi-Fi {ssid} (NetworkManager)")
            m.run("nmcli", "connection", "reload")
    elif m.write(
        "/etc/wpa_supplicant/wpa_supplicant.conf",
        wpa_supplicant_conf(ssid, password, country),
        0o600,
    ):
        m.changed(f"Wi-Fi {ssid} (wpa_supplicant)")
    m.run("rfkill", "unblock", "wifi")


def admin_user(m: Machine, wanted: str) -> tuple[str, Path] | None:
    """(name, home) of the user whose keys we manage: as asked, else uid 1000, else root."""
    entries = [
        line.split(":") for line in m.read("/etc/passwd").splitlines() if line.count(":") >= 6
    ]
    for e in entries:
        if (wanted and e[0] == wanted) or (not wanted and e[2] == "1000"):
            return e[0], Path(e[5])
    if wanted:
        print(f"ssh_authorized_keys: no user {wanted}", file=sys.stderr)
        return None
    root = next((e for e in entries if e[0] == "root"), None)
    return ("root", Path(root[5])) if root else None


def apply_ssh_keys(m: Machine, keys: Sequence[str], user: str) -> None:
    if not keys:
        return
    found = admin_user(m, user)
    if found is None:
        return
    name, home = found
    path = f"{home}/.ssh/authorized_keys"
    text = m.read(path)
    block = "\n".join([KEYS_BEGIN, *keys, KEYS_END])
    pattern = re.compile(rf"^{re.escape(KEYS_BEGIN)}\n.*?^{re.escape(KEYS_END)}$", re.M | re.S)
    if pattern.search(text):
        new = pattern.sub(lambda _: block, text)
    else:
        new = (text.rstrip("\n") + "\n" if text.strip() else "") + block + "\n"
    if m.write(path, new, 0o600):
        m.changed(f"SSH keys of {name} ({len(keys)})")
        if not m.dry_run and m.root == Path("/"):
            pw = pwd.getpwnam(name)
            os.chown(m.path(f"{home}/.ssh"), pw.pw_uid, pw.pw_gid)
            os.chmod(m.path(f"{home}/.ssh"), 0o700)
            os.chown(m.path(path), pw.pw_uid, pw.pw_gid)
            m.run("systemctl", "enable", "--now", "--no-block", "ssh.service")


def apply_syslog(m: Machine, host: object | None) -> None:
    path = f"{RUN_DIR}/rsyslog/remote.conf"
    if host is None:
        if m.remove(path):
            m.changed("no syslog forwarding")
            m.run("systemctl", "try-restart", "--no-block", "rsyslog.service")
        return
    name, port = getattr(host, "host", str(host)), getattr(host, "port", None) or 514
    text = (
        f"# Made by smartcam-bootconfig. {DO_NOT_EDIT}\n"
        f'*.* action(type="omfwd" target="{name}" port="{port}" protocol="udp")\n'
    )
    if m.write(path, text):
        m.changed(f"syslog forwarding to {name}:{port}")
        m.run("systemctl", "restart", "--no-block", "rsyslog.service")


def apply_nas(m: Machine, storage: dict[str, object]) -> None:
    settings = automount.load_settings(m.path(automount.SETTINGS_FILE))
    nas = automount.Nas.from_storage(storage)
    if m.dry_run:
        print("would mount:", nas)
        return
    automount.apply(
        nas, settings, root=m.root, systemctl=lambda *a: m.run("systemctl", *a), log=m.changed
    )


# --- reporting --------------------------------------------------------------------------------


def report_error(m: Machine, config: Path, text: str) -> None:
    """Put the problems beside the file (boot partition) and in /run for the page and SSH."""
    message = (
        f"smartcam.conf has problems, so this boot applied none of its [system] and NAS\n"
        f"settings and the camera does not start. Fix the file, then reboot.\n\n{text}\n"
    )
    print(message, file=sys.stderr, flush=True)
    m.write(f"{RUN_DIR}/config-error.txt", message)
    try:
        # The boot partition is a FAT: no modes to compare, and a write there only if the
        # problems changed (a write per boot is a write per boot to the card).
        m.write("!" + str(config.parent / ERROR_NAME), message, mode=None)
    except OSError as err:  # a read-only or full boot partition: /run still has it
        print(f"cannot write {config.parent / ERROR_NAME}: {err}", file=sys.stderr)


def clear_errors(m: Machine, config: Path | None) -> None:
    m.remove(f"{RUN_DIR}/config-error.txt")
    beside = ["!" + str(config.parent / ERROR_NAME)] if config else []
    for path in [*beside, f"/boot/firmware/{ERROR_NAME}", f"/boot/{ERROR_NAME}"]:
        try:
            m.remove(path)
        except OSError:  # a read-only boot partition
            pass


def run(args: argparse.Namespace) -> int:
    """Validate smartcam.conf and apply it: 0, or 78 with the problems reported and nothing
    applied. `args`: config (None: $SMARTCAM_CONF, the boot partition), root, ssh_user,
    dry_run (see smartcam/cli.py)."""
    m = Machine(root=Path(args.root), dry_run=args.dry_run)
    config = Path(args.config) if args.config else find()
    try:
        cfg = load(config)
    except ConfigError as err:
        problems = getattr(err, "problems", None) or [err]
        report_error(
            m,
            config or Path("/boot/firmware/smartcam.conf"),
            "\n".join(map(str, problems)) + f"\n({HINT})",
        )
        return EX_CONFIG
    clear_errors(m, config)
    s = cfg.system
    apply_hostname(m, s.hostname)
    apply_timezone(m, s.timezone)
    apply_wifi(m, s.wifi_ssid, s.wifi_password, s.wifi_country)
    apply_ssh_keys(m, s.ssh_authorized_keys, args.ssh_user)
    apply_syslog(m, s.syslog_host)
    apply_nas(m, cfg.storage.as_dict())
    print(
        f"smartcam.conf ({config or 'defaults'}) applied: "
        f"{len(m.changes)} change(s)" + (f": {'; '.join(m.changes)}" if m.changes else "")
    )
    return 0
