"""Fixtures of the role tests: the cached rootfs, the package builds, and the image built once.

Everything here boots Debian containers (systemd-nspawn) in network namespaces, so it needs
root, mmdebstrap, systemd-nspawn and iproute2; without them every test here is skipped and says
which is missing. The expensive step, building the image through the chroot connection
(playbooks/image.yml), runs once per session; every machine then boots an overlay of it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.roles import ansible, package, rootfs
from tests.roles.machine import Machine

FILES = Path(__file__).parent / "files"
TOOLS = ("mmdebstrap", "systemd-nspawn", "ip", "ssh", "ssh-keygen")


def machines_unavailable() -> str | None:
    """Why machines cannot be booted here, or None."""
    if os.geteuid() != 0:
        return "the role tests boot containers (systemd-nspawn, network namespaces): run as root"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return (
            f"missing {', '.join(missing)}: apt-get install mmdebstrap systemd-container "
            "iproute2 openssh-client"
        )
    if not (ansible.BIN / "ansible-playbook").exists():
        return "ansible is not in the venv: pip install ansible"
    return None


@pytest.fixture(scope="session")
def need_machines() -> None:
    reason = machines_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def scratch(need_machines: None) -> Iterator[Path]:
    """Per-run scratch outside the repository: overlays, keys, logs, wheels.

    Not pytest's tmp_path: pytest deletes old ones while another run may still have machines
    booted on them. One run at a time (a lock): the machines' names and subnets are fixed.
    Set SMARTCAM_KEEP_SCRATCH=1 to keep it (and its logs) after the run.
    """
    with open("/run/lock/smartcam-role-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = Path(tempfile.mkdtemp(prefix="smartcam-roles-", dir="/var/tmp"))
        (path / "ansible-tmp").mkdir()
        try:
            yield path
        finally:
            keep = bool(os.environ.get("SMARTCAM_KEEP_SCRATCH"))
            for state in sorted((path / "machines").glob("*/state.json")):
                machine = Machine.load(state.parent.name, path)
                machine.down() if keep else machine.destroy()
            if not keep:
                shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def base_tree(need_machines: None) -> Path:
    return rootfs.build()


@pytest.fixture(scope="session")
def build1(scratch: Path) -> Path:
    """A wheel of this checkout, as it is."""
    return package.build(scratch / "dist1")


@pytest.fixture(scope="session")
def wheelhouse(need_machines: None) -> Path:
    return package.wheelhouse()


def role_vars(wheel: Path, wheelhouse: Path, **more) -> dict:
    """What every test run passes: the build, offline installs, the synthetic camera's conf."""
    return {
        "smartcam_app_package": str(wheel),
        "smartcam_app_wheelhouse": str(wheelhouse),
        # The machines have every package already and no network but the test link.
        "smartcam_base_apt_update": False,
        **more,
    }


@pytest.fixture(scope="session")
def image(scratch: Path, base_tree: Path, build1: Path, wheelhouse: Path) -> list[str]:
    """Lower layers of a smartcam image: playbooks/image.yml run through chroot, once.

    Checks what image build mode promises: nothing got mounted in the tree and no process
    was left running in it.
    """
    m = Machine("image", 10, scratch, [str(base_tree)])
    m.prepare((FILES / "smartcam.conf").read_text())
    try:
        values = ansible.write_vars(scratch, "image-vars", role_vars(build1, wheelhouse))
        ansible.playbook(scratch, f"{m.root},", "image.yml", "-e", f"@{values}")
        mounts = subprocess.run(
            ["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True, check=True
        ).stdout.split()
        inside = [t for t in mounts if t.startswith(str(m.root) + "/")]
        assert not inside, f"image build mode mounted {inside}"
        running = [
            p.name
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _root_of(p) == str(m.root)
        ]
        assert not running, f"image build mode left processes running in the tree: {running}"
    finally:
        m.unmount()
    return [str(m.upper), str(base_tree)]


def _root_of(proc: Path) -> str | None:
    try:
        return os.readlink(proc / "root")
    except OSError:
        return None
