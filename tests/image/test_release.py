"""The release path (image/): what can be checked of a pi-gen build on a machine that cannot run it.

pi-gen needs the Raspberry Pi archive, so the release image is built elsewhere (`make image`).
Here: its scripts pass shellcheck, its config builds what README says (Lite stages plus ours,
a pinned pi-gen, an admin that is not the service user), the stage runs the same playbook as
the tests' stand-in, and the OS list Raspberry Pi Imager reads describes the image exactly.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "image"
SCRIPTS = [
    IMAGE / "build.sh",
    IMAGE / "stage-smartcam" / "prerun.sh",
    IMAGE / "stage-smartcam" / "00-smartcam" / "00-run.sh",
]
# Imager's os-list schema (rpi-imager doc/json-schema/os-list-schema.json): required per entry.
IMAGER_REQUIRED = {
    "name": str,
    "description": str,
    "icon": str,
    "url": str,
    "extract_size": int,
    "extract_sha256": str,
    "image_download_size": int,
    "release_date": str,
}


def pigen_config(**env: str) -> dict[str, str]:
    """image/config as pi-gen's build.sh sources it."""
    out = subprocess.run(
        ["bash", "-c", f'set -a; . "{IMAGE / "config"}"; env -0'],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        check=True,
    ).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="apt-get install shellcheck")
def test_the_image_scripts_pass_shellcheck() -> None:
    done = subprocess.run(["shellcheck", "-x", *map(str, SCRIPTS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_pigen_builds_lite_plus_our_stage_from_a_pinned_release() -> None:
    cfg = pigen_config(SMARTCAM_REPO="/src/smartcam", SMARTCAM_DEPLOY="/out")
    assert cfg["STAGE_LIST"].split() == [
        "stage0", "stage1", "stage2", "/src/smartcam/image/stage-smartcam"
    ]  # fmt: skip
    assert cfg["RELEASE"] == "trixie" and cfg["DEPLOY_DIR"] == "/out"
    assert cfg["ENABLE_CLOUD_INIT"] == "1"  # Imager's settings dialog (cloud-init) works
    service_user = yaml.safe_load((REPO / "roles/smartcam_base/defaults/main.yml").read_text())[
        "smartcam_base_user"
    ]
    assert cfg["FIRST_USER_NAME"] != service_user
    ref = dict(
        line.split("=", 1)
        for line in (IMAGE / "pi-gen.ref").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert re.fullmatch(r"[0-9a-f]{40}", ref["PIGEN_COMMIT"]) and ref["PIGEN_BRANCH"] == "arm64"
    for script in SCRIPTS:
        assert script.stat().st_mode & 0o111, f"{script} is not executable (pi-gen runs it)"
    assert (IMAGE / "stage-smartcam" / "EXPORT_IMAGE").is_file()


def test_the_stage_runs_playbooks_image_yml_as_a_pi_through_the_chroot_connection(
    tmp_path: Path,
) -> None:
    """The stage's one command, with pi-gen's on_chroot and Ansible recorded instead of run."""
    record = tmp_path / "argv"
    fake = tmp_path / "ansible-playbook"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    fake.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "ROOTFS_DIR": "/work/stage-smartcam/rootfs",
        "SMARTCAM_REPO": str(REPO),
        "SMARTCAM_WHEEL": "/out/dist/smartcam-1.0-py3-none-any.whl",
        "SMARTCAM_ANSIBLE": str(fake),
    }
    calls = tmp_path / "on_chroot"
    script = f'on_chroot() {{ echo "$*" > {calls}; }}; export -f on_chroot; exec "$0"'
    subprocess.run(["bash", "-c", script, str(SCRIPTS[2])], env=env, check=True)
    assert calls.read_text() == "true\n"  # pi-gen's mounts made before the playbook runs
    assert record.read_text().splitlines() == [
        "-i", "/work/stage-smartcam/rootfs,",
        "-e", "smartcam_app_package=/out/dist/smartcam-1.0-py3-none-any.whl",
        "-e", "smartcam_app_raspberry_pi=true",
        f"{REPO}/playbooks/image.yml",
    ]  # fmt: skip
    play = yaml.safe_load((REPO / "playbooks/image.yml").read_text())[0]
    assert play["connection"] == "community.general.chroot"
    assert play["vars"]["smartcam_image_build"] is True
    assert play["vars"]["smartcam_bootconfig_default_config"].endswith("smartcam.conf.example")


def test_the_os_list_describes_the_image_for_raspberry_pi_imager(tmp_path: Path) -> None:
    raw = bytes(range(256)) * 4096  # 1 MiB standing in for the card image
    image = tmp_path / "smartcam-2026-11-30.img.xz"
    image.write_bytes(lzma.compress(raw))
    done = subprocess.run(
        [sys.executable, str(IMAGE / "os_list.py"), str(image)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (entry,) = json.loads(done.stdout)["os_list"]
    for key, kind in IMAGER_REQUIRED.items():
        assert isinstance(entry[key], kind), key
    assert entry["extract_size"] == len(raw)
    assert entry["extract_sha256"] == hashlib.sha256(raw).hexdigest()
    assert entry["image_download_size"] == image.stat().st_size
    assert entry["image_download_sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
    assert entry["release_date"] == "2026-11-30"
    assert entry["url"] == image.resolve().as_uri()
    # Without init_format Imager writes a local image with its settings dialog switched off.
    assert entry["init_format"] == "cloudinit-rpi"
    assert "pi5-64bit" in entry["devices"]
    url = "https://example.org/smartcam-2026-11-30.img.xz"
    done = subprocess.run(
        [sys.executable, str(IMAGE / "os_list.py"), str(image), "--url", url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout)["os_list"][0]["url"] == url
    missing = subprocess.run(
        [sys.executable, str(IMAGE / "os_list.py"), str(tmp_path / "none.img.xz")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert missing.returncode == 2 and "no such file" in missing.stderr
