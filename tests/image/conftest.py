"""Fixtures of the SD-image tests: the stand-in built once (cached), the card, the NAS, the guests.

They need root (mmdebstrap, the chroot converge, mke2fs -d keeping owners), qemu-user's binfmt
for arm64, qemu-system-aarch64, mtools, dosfstools, fdisk and Samba; without them every test here
is skipped and says what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.image import card, standin, vm
from tests.image.samba import Samba
from tests.roles import ansible, package

FIGURES: dict[str, object] = {}


def unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the image tests build a root filesystem and a card image: run as root"
    missing = vm.missing_tools() + [t for t in ("mmdebstrap",) if shutil.which(t) is None]
    if missing:
        return (
            f"missing {', '.join(missing)}: apt-get install qemu-system-arm qemu-user-static "
            "mtools dosfstools fdisk samba smbclient mmdebstrap"
        )
    if not (ansible.BIN / "ansible-playbook").exists():
        return "ansible is not in the venv: pip install ansible"
    return standin.qemu_user_ready()


@pytest.fixture(scope="session")
def image_scratch() -> Iterator[Path]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    path = Path(tempfile.mkdtemp(prefix="smartcam-image-", dir="/var/tmp"))
    (path / "ansible-tmp").mkdir()
    yield path
    (path / "figures.json").write_text(json.dumps(FIGURES, indent=2))
    print(f"\nimage figures: {json.dumps(FIGURES)}")
    if not os.environ.get("SMARTCAM_KEEP_SCRATCH"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def standin_tree(image_scratch: Path) -> Path:
    """The stand-in made a smartcam by playbooks/image.yml (built, or found in the cache)."""
    wheel = package.build(image_scratch / "dist")
    started = time.monotonic()
    built = standin.build_image(wheel, standin.wheelhouse(), image_scratch)
    FIGURES["standin_seconds"] = round(time.monotonic() - started, 1)
    return built / "tree"


@pytest.fixture(scope="session")
def card_image(image_scratch: Path, standin_tree: Path) -> Path:
    """The card image, assembled once without mounting; tests flash copies of it."""
    started = time.monotonic()
    out = card.assemble(standin_tree, image_scratch / "smartcam.img")
    FIGURES["assemble_seconds"] = round(time.monotonic() - started, 1)
    FIGURES["image_mib"] = out.stat().st_size >> 20
    FIGURES["image_used_mib"] = int(
        subprocess.run(["du", "-m", str(out)], capture_output=True, text=True).stdout.split()[0]
    )
    return out


@pytest.fixture(scope="session")
def nas(image_scratch: Path) -> Iterator[Samba]:
    server = Samba(image_scratch / "nas")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ssh_key(image_scratch: Path) -> Path:
    key = image_scratch / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key
