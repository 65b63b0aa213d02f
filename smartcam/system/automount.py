"""The NAS as a systemd automount, made at boot from smartcam.conf's [storage] section.

The units and the credentials go to /run (RAM): nothing about the NAS, least of all its
password, is written to the SD card, and a reboot starts from the file again. Called by the
boot service (`smartcam system apply`, bootconfig.py) with the parsed [storage] settings; the
mount's behaviour (timeouts, options) comes from /etc/smartcam/nas-mount.json, which Ansible
writes.

    <path>.automount   mounts on first access; unmounts after the idle timeout
    <path>.mount       What=, Type=, Options= (nofail, _netdev, credentials=...), TimeoutSec=
    /run/smartcam/nas-credentials   username= and password= for cifs (mode 0600, root)

    smartcam system check-mount-settings FILE    (what the role's `validate:` runs)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartcam.files import write_if_changed

SETTINGS_FILE = "/etc/smartcam/nas-mount.json"
UNIT_DIR = "/run/systemd/system"
DEFAULTS: dict[str, Any] = {
    "mount_timeout": 20,  # seconds a mount may take before it fails (TimeoutSec=)
    "idle_timeout": 600,  # seconds without use before the share is unmounted; 0: never
    "credentials": "/run/smartcam/nas-credentials",
    "cifs_options": (
        "vers=3,uid=smartcam,gid=smartcam,file_mode=0644,dir_mode=0755,echo_interval=10"
    ),
    "nfs_options": "soft,timeo=100,retrans=2,noatime",
}
KINDS = ("cifs", "nfs")


class SettingsError(ValueError):
    """nas-mount.json is not what this program understands."""


def load_settings(path: str | os.PathLike[str] = SETTINGS_FILE) -> dict[str, Any]:
    """DEFAULTS updated from the JSON file (which may be missing); SettingsError if malformed."""
    settings = dict(DEFAULTS)
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return settings
    try:
        given = json.loads(text)
    except json.JSONDecodeError as err:
        raise SettingsError(f"{path}: not JSON: {err}") from None
    if not isinstance(given, dict):
        raise SettingsError(f"{path}: expected an object of settings")
    given.pop("_comment", None)
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise SettingsError(
            f"{path}: unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    for key in ("mount_timeout", "idle_timeout"):
        if key in given and not (isinstance(given[key], int) and given[key] >= 0):
            raise SettingsError(f"{path}: {key} must be a whole number of seconds >= 0")
    for key in ("cifs_options", "nfs_options", "credentials"):
        if key in given and not isinstance(given[key], str):
            raise SettingsError(f"{path}: {key} must be text")
        if key in given and any(c in given[key] for c in "\n\\ "):
            raise SettingsError(f"{path}: {key} must not contain spaces, backslashes or newlines")
    settings.update(given)
    return settings


def unit_name(path: str, suffix: str) -> str:
    """systemd-escape --path --suffix=SUFFIX PATH, in Python (the same rules)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return f"-.{suffix}"
    out = []
    for i, ch in enumerate("/".join(parts)):
        if ch == "/":
            out.append("-")
        elif ch.isascii() and (ch.isalnum() or ch in ":_" or (ch == "." and i > 0)):
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode())
    return "".join(out) + "." + suffix


@dataclass(frozen=True)
class Nas:
    """What [storage] says about the NAS: kind, share, where, and who."""

    type: str
    share: str
    path: str
    username: str = ""
    password: str = ""

    @classmethod
    def from_storage(cls, storage: Mapping[str, Any]) -> Nas | None:
        """The NAS to mount, or None when there is none to mount (type local/mount, no share)."""
        kind, share = str(storage.get("type", "")), str(storage.get("share", ""))
        if kind not in KINDS or not share:
            return None
        return cls(
            kind,
            share,
            str(storage.get("nas", "/mnt/nas")),
            str(storage.get("username", "")),
            str(storage.get("password", "")),
        )


def mount_options(nas: Nas, settings: Mapping[str, Any]) -> str:
    base = settings["cifs_options"] if nas.type == "cifs" else settings["nfs_options"]
    opts = [o for o in base.split(",") if o]
    if nas.type == "cifs":
        opts.append(f"credentials={settings['credentials']}" if nas.username else "guest")
    return ",".join([*opts, "nofail", "_netdev"])


def _escape_value(text: str) -> str:
    """A value for a unit file line: specifiers (%) doubled, backslashes kept literal."""
    return text.replace("\\", "\\\\").replace("%", "%%")


def render(nas: Nas, settings: Mapping[str, Any]) -> dict[str, str]:
    """Unit file name -> text for the mount and automount units."""
    banner = (
        "# Made at boot from smartcam.conf by the smartcam-bootconfig service.\n"
        "# DO NOT EDIT: edit /boot/firmware/smartcam.conf and reboot.\n"
    )
    mount, automount = unit_name(nas.path, "mount"), unit_name(nas.path, "automount")
    idle = settings["idle_timeout"]
    return {
        mount: banner
        + "\n".join(
            [
                "[Unit]",
                f"Description=smartcam NAS ({nas.type}) at {nas.path}",
                "Documentation=file:///boot/firmware/smartcam.conf",
                "After=network-online.target",
                "Wants=network-online.target",
                # Each access to the automount while the NAS is away is a mount attempt; a few
                # quick failures (Wi-Fi down, the NAS booting) would hit the default start
                # limit and leave the automount dead until reboot. The NAS must come back.
                "StartLimitIntervalSec=0",
                "",
                "[Mount]",
                f"What={_escape_value(nas.share)}",
                f"Where={nas.path}",
                f"Type={nas.type}",
                f"Options={_escape_value(mount_options(nas, settings))}",
                f"TimeoutSec={settings['mount_timeout']}",
                "DirectoryMode=0755",
                "ForceUnmount=yes",
                "LazyUnmount=yes",
                "",
            ]
        ),
        automount: banner
        + "\n".join(
            [
                "[Unit]",
                f"Description=smartcam NAS at {nas.path}, mounted on first use",
                "",
                "[Automount]",
                f"Where={nas.path}",
                f"TimeoutIdleSec={idle}",
                "DirectoryMode=0755",
                "",
                "[Install]",
                "WantedBy=remote-fs.target",
                "",
            ]
        ),
    }


def credentials_text(nas: Nas) -> str:
    return f"username={nas.username}\npassword={nas.password}\n"


def remove_if_present(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def run_systemctl(*args: str) -> None:
    subprocess.run(["systemctl", *args], check=False)


def apply(
    nas: Nas | None,
    settings: Mapping[str, Any],
    root: Path = Path("/"),
    systemctl: Callable[..., None] = run_systemctl,
    log: Callable[[str], None] = print,
) -> bool:
    """Make the runtime units and credentials for `nas` (or remove ours when None).

    Returns whether anything changed; reloads systemd and (re)starts the automount if so.
    """
    unit_dir = root / UNIT_DIR.lstrip("/")
    creds = root / str(settings["credentials"]).lstrip("/")
    ours = sorted(p for p in unit_dir.glob("*.*mount") if _is_ours(p))
    wanted = render(nas, settings) if nas else {}
    changed = False
    for name, text in wanted.items():
        changed |= write_if_changed(unit_dir / name, text, 0o644)
    for old in ours:
        if old.name not in wanted:
            systemctl("stop", old.name)
            changed |= remove_if_present(old)
    if nas and nas.type == "cifs" and nas.username:
        changed |= write_if_changed(creds, credentials_text(nas), 0o600)
    else:
        changed |= remove_if_present(creds)
    if nas:
        (root / nas.path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    if changed:
        systemctl("daemon-reload")
        log(f"NAS: {nas.type} {nas.share} at {nas.path}" if nas else "NAS: none")
    if nas:
        if changed:  # a share mounted with the old settings is unmounted (lazily) first
            systemctl("stop", unit_name(nas.path, "mount"))
        systemctl("start", "--no-block", unit_name(nas.path, "automount"))
    return changed


def _is_ours(path: Path) -> bool:
    try:
        return "smartcam-bootconfig" in path.read_text()
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    """`smartcam system check-mount-settings FILE`: 0 if nas-mount.json is good, else 1 and why."""
    try:
        load_settings(args.file)
    except SettingsError as err:
        print(err, file=sys.stderr)
        return 1
    return 0
