"""Raspberry Pi Imager's OS list for a smartcam image, so Imager offers it with its settings dialog.

Imager 2.x opens a local image with customisation switched off: only an OS list entry that
declares `init_format` lets the user set the account, Wi-Fi and SSH keys before writing the
card. This writes that entry (Imager's os-list schema: name, description, icon, url, sizes and
SHA-256 of the download and of the extracted image, release date), for the image given:

    python image/os_list.py build/image/smartcam-2026-11-30.img.xz [--url https://...] > list.json
    rpi-imager --repo file://$PWD/list.json

Without --url the entry points at the local file. Raspberry Pi OS trixie images take Imager's
settings through cloud-init (`cloudinit-rpi`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import lzma
import re
import sys
from pathlib import Path

INIT_FORMAT = "cloudinit-rpi"
# Imager's device tags for the 64-bit boards smartcam runs on (Pi 3 and Zero 2 W included).
DEVICES = ["pi5-64bit", "pi4-64bit", "pi3-64bit"]
ICON = "https://downloads.raspberrypi.com/raspios_lite_arm64/Raspberry_Pi_OS_(64-bit).png"
CHUNK = 1 << 20


def digest(path: Path, unpack: bool) -> tuple[int, str]:
    """(size, sha256) of the file, or of what it decompresses to."""
    h = hashlib.sha256()
    size = 0
    with (lzma.open(path) if unpack else path.open("rb")) as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def release_date(path: Path) -> str:
    """The date in pi-gen's file name (smartcam-YYYY-MM-DD.img.xz), else the file's own."""
    found = re.search(r"\d{4}-\d{2}-\d{2}", path.name)
    if found:
        return found.group(0)
    return dt.date.fromtimestamp(path.stat().st_mtime).isoformat()


def entry(image: Path, url: str | None) -> dict:
    download_size, download_sha = digest(image, unpack=False)
    extract_size, extract_sha = digest(image, unpack=image.suffix == ".xz")
    return {
        "name": "smartcam",
        "description": "Raspberry Pi OS Lite (64-bit) as a smartcam camera: edit smartcam.conf "
        "on the bootfs drive, boot, and it records to your NAS",
        "icon": ICON,
        "url": url or image.resolve().as_uri(),
        "extract_size": extract_size,
        "extract_sha256": extract_sha,
        "image_download_size": download_size,
        "image_download_sha256": download_sha,
        "release_date": release_date(image),
        "init_format": INIT_FORMAT,
        "devices": DEVICES,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path, help="the image: .img or .img.xz")
    parser.add_argument("--url", help="where users download it (default: the local file)")
    args = parser.parse_args(argv)
    if not args.image.is_file():
        parser.error(f"{args.image}: no such file")
    json.dump({"os_list": [entry(args.image, args.url)]}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
