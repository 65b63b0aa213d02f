"""The Debian 12 root filesystem the role tests boot: built once with mmdebstrap, then cached.

The cache lives outside the repository, under ``$SMARTCAM_CACHE/rootfs/<key>/`` (default
``~/.cache/smartcam``), keyed by a hash of everything that decides its contents: the suite, the
mirror, the package list and this file. Containers never write into it: each boots an overlay
of it (see machine.py), so one build serves every scenario and every run.

The package list is what the roles install on an amd64 machine that is not a Pi, so a converge
finds them all present and needs no network (the containers have none but the test link).

    python -m tests.roles.rootfs          # build (or find) it and print its path
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
SOURCES = (
    f"deb {MIRROR} {SUITE} main",
    f"deb {MIRROR} {SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
)
# What the roles install (roles/*/vars/Debian.yml and defaults), plus what the tests use.
PACKAGES = (
    # booting and being reached: systemd as init, sshd for Ansible, python3 for its modules
    "systemd",
    "systemd-sysv",
    "dbus",
    "libpam-systemd",
    "openssh-server",
    "sudo",
    "python3",
    "python3-apt",
    "iproute2",
    "procps",
    "curl",
    "ca-certificates",
    # smartcam_base
    "avahi-daemon",
    "rsyslog",
    "systemd-timesyncd",
    "tzdata",
    # smartcam_nas
    "cifs-utils",
    "nfs-common",
    # smartcam_app (the Pi adds python3-picamera2, python3-simplejpeg and python3-av)
    "python3-venv",
    "python3-numpy",
    "python3-bottle",
    "python3-waitress",
    "python3-gi",
    "gir1.2-gst-rtsp-server-1.0",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    # smartcam_nginx
    "nginx",
)
# Run inside the new tree after the packages are in (mmdebstrap --customize-hook).
CUSTOMIZE = (
    # No console logins to wait for, no host keys baked into the cache (sshd makes its own).
    'chroot "$1" systemctl mask getty@tty1.service console-getty.service serial-getty@.service',
    # This kernel has no rpc_pipefs (nfs-common's mount of it would fail the boot's state).
    'chroot "$1" systemctl mask run-rpc_pipefs.mount',
    'rm -f "$1"/etc/ssh/ssh_host_*',
    "printf '[Unit]\\nBefore=ssh.service\\n[Service]\\nType=oneshot\\n"
    "ExecStart=/usr/bin/ssh-keygen -A\\n[Install]\\nWantedBy=multi-user.target\\n'"
    ' > "$1"/etc/systemd/system/ssh-hostkeys.service',
    'chroot "$1" systemctl enable ssh-hostkeys.service ssh.service',
    # Our own link is configured from outside (machine.py); nothing inside may touch it.
    'echo smartcam-test > "$1"/etc/hostname',
    'mkdir -p "$1"/boot/firmware "$1"/root/.ssh && chmod 0700 "$1"/root/.ssh',
)


def cache_root() -> Path:
    base = os.environ.get("SMARTCAM_CACHE") or os.path.expanduser("~/.cache/smartcam")
    return Path(base) / "rootfs"


def key() -> str:
    """Hash of the inputs: suite, sources, packages, hooks and this file's text."""
    h = hashlib.sha256()
    for part in (SUITE, *SOURCES, *sorted(PACKAGES), *CUSTOMIZE, Path(__file__).read_text()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def path() -> Path:
    return cache_root() / f"{SUITE}-amd64-{key()}"


def missing_tools() -> list[str]:
    return [t for t in ("mmdebstrap", "systemd-nspawn") if shutil.which(t) is None]


def build(log=sys.stderr) -> Path:
    """The cached tree, built first if it is not there (atomically: a killed build leaves none)."""
    target = path()
    if (target / "etc" / "os-release").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        cmd = [
            "mmdebstrap",
            "--variant=apt",
            "--mode=root",
            "--format=directory",
            "--include=" + ",".join(PACKAGES),
            *(f"--customize-hook={hook}" for hook in CUSTOMIZE),
            SUITE,
            str(tmp / "tree"),
            *SOURCES,
        ]
        print("building the test rootfs:", target, file=log, flush=True)
        subprocess.run(cmd, check=True, stdout=log, stderr=log)
        (tmp / "tree").rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in target.parent.glob(f"{SUITE}-amd64-*"):  # earlier keys: rebuilt, never used again
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


if __name__ == "__main__":
    print(build())
