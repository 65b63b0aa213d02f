"""The SD card: a two-partition image made from the stand-in's tree without mounting anything.

The layout is pi-gen's: an MBR, a FAT32 partition labelled ``bootfs`` (what /boot/firmware holds,
smartcam.conf among it) and an ext4 partition labelled ``rootfs``. The FAT is made and filled
with mtools, the ext4 with ``mke2fs -d``, and both are written into the image at their offsets.
smartcam.conf is then read and edited inside the image with mtools, as a user does with the
card in a PC.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

MiB = 1 << 20
BOOT_START_MB = 4
BOOT_MB = 64
BOOT_OFFSET = BOOT_START_MB * MiB
CONF = "smartcam.conf"


def _run(*cmd: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def _du_mb(tree: Path) -> int:
    return int(_run("du", "-sm", "--apparent-size", str(tree)).stdout.split()[0])


def assemble(tree: Path, out: Path) -> Path:
    """card.img from the tree: its /boot/firmware on the FAT, the rest on the ext4."""
    root_mb = _du_mb(tree) * 13 // 10 + 256  # pi-gen: the tree + 20 % + 200 MiB; a bit more
    work = out.parent
    boot, root = work / "boot.vfat", work / "root.ext4"
    for f in (boot, root, out):
        f.unlink(missing_ok=True)
    _run("mkfs.vfat", "-C", "-F", "32", "-n", "bootfs", str(boot), str(BOOT_MB * 1024))
    files = sorted((tree / "boot" / "firmware").iterdir())
    if files:
        _run("mcopy", "-s", "-i", str(boot), *map(str, files), "::")
    _run("mke2fs", "-q", "-t", "ext4", "-L", "rootfs", "-d", str(tree), str(root), f"{root_mb}M")
    total = BOOT_START_MB + BOOT_MB + root_mb
    _run("truncate", "-s", f"{total}M", str(out))
    table = (
        "label: dos\n"
        f"start={BOOT_START_MB * 2048}, size={BOOT_MB * 2048}, type=c\n"
        f"start={(BOOT_START_MB + BOOT_MB) * 2048}, size={root_mb * 2048}, type=83\n"
    )
    _run("sfdisk", "--quiet", str(out), input=table)
    for part, start in ((boot, BOOT_START_MB), (root, BOOT_START_MB + BOOT_MB)):
        _run("dd", f"if={part}", f"of={out}", "bs=1M", f"seek={start}", "conv=notrunc,sparse")
        part.unlink()
    return out


def copy(card: Path, to: Path) -> Path:
    """Another card with the same image (as flashing it twice)."""
    _run("cp", "--sparse=always", "--reflink=auto", str(card), str(to))
    return to


def _fat(card: Path) -> str:
    return f"{card}@@{BOOT_OFFSET}"


def read(card: Path, name: str = CONF) -> str | None:
    """A file on the card's FAT partition, or None."""
    done = subprocess.run(["mtype", "-i", _fat(card), f"::{name}"], capture_output=True)
    return done.stdout.decode() if done.returncode == 0 else None


def write(card: Path, text: str, name: str = CONF) -> None:
    src = card.with_name(f".{card.name}.{name}")
    src.write_text(text)
    try:
        _run("mcopy", "-o", "-i", _fat(card), str(src), f"::{name}")
    finally:
        src.unlink()


def edit(text: str, changes: dict[str, dict[str, str]]) -> str:
    """smartcam.conf with values set as a user does it: the commented-out default line of each
    key in its section uncommented and given the value (or a line added to the section)."""
    out: list[str] = []
    section = None
    pending = {s: dict(keys) for s, keys in changes.items()}

    def flush(name: str | None) -> None:
        for key, value in pending.pop(name, {}).items():
            out.append(f"{key} = {value}")

    for line in text.splitlines():
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            flush(section)
            section = header.group(1)
        keys = pending.get(section, {})
        found = re.match(r"\s*[#;]?\s*([a-z_]+)\s*=", line)
        if found and found.group(1) in keys:
            out.append(f"{found.group(1)} = {keys.pop(found.group(1))}")
            continue
        out.append(line)
    flush(section)
    for name in list(pending):
        out.append(f"\n[{name}]")
        flush(name)
    return "\n".join(out) + "\n"


def configure(card: Path, changes: dict[str, dict[str, str]]) -> str:
    """Edit smartcam.conf on the card; returns the new text."""
    text = edit(read(card) or "", changes)
    write(card, text)
    return text
