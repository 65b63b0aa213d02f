"""Generate docs/config.md and smartcam.conf.example from the settings table.

Run `python -m smartcam.config.docs` after changing smartcam/config/schema.py;
tests/config/test_docs.py fails while the committed files differ from what this writes.
`--check` only reports drift (exit 1) without writing.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import textwrap
from pathlib import Path

from smartcam.config.schema import SECTIONS, SETTINGS, Setting

ROOT = Path(__file__).resolve().parents[2]
GENERATED = "Generated from smartcam/config/schema.py by `python -m smartcam.config.docs`"

BANNER = """\
smartcam.conf: the settings of this smartcam camera.

Edit it with any text editor. On a computer it is on the SD card's small "bootfs" drive; on
the camera it is /boot/firmware/smartcam.conf, read at every boot: edit, save, reboot.
Settings changed on the camera's web page are written back into this file, keeping your
comments and layout. The [system] settings win over what Raspberry Pi Imager or cloud-init
set up at first boot; empty ones leave the system as it is.

This file is read as data and never run by a shell, so nothing needs escaping: write
key = value, optionally "quoted" to keep spaces at either end. Lines starting with # or ;
are comments, and a comment needs a line of its own. Windows line endings are fine.
A mistake (an unknown key, a value out of range) stops the camera with a message naming its
line. Check the file with: smartcam config check /boot/firmware/smartcam.conf

Every setting is below, commented out, showing its default. To change one, remove the #
in front of it and edit the value.
"""

SYNTAX = """\
One INI file holds every setting of a camera: `/boot/firmware/smartcam.conf` on the boot
partition (`/boot/smartcam.conf` on older systems; elsewhere `$SMARTCAM_CONF` or `--config`).
It is read at every boot, and settings changed on the camera's web page are written back into
it, keeping comments and layout. `smartcam.conf.example` in the repository is the commented
default file.

- `[section]` headers, then `key = value` lines; keys and section names ignore case.
- Values are data, never run by a shell: surrounding spaces are dropped, and one pair of double
  quotes around a value is removed (use them to keep spaces at either end).
- Lines starting with `#` or `;` are comments; there are no comments after a value, since a
  password may contain `#`.
- UTF-8, with or without a byte order mark; Windows (CRLF) line endings are fine.
- A setting left out takes its default. Unknown sections and keys, duplicates and bad values are
  errors: every one is reported with file, line, section, key and what is allowed, and the
  programs exit with status 78 (EX_CONFIG) so systemd does not restart them in a loop.
- `smartcam config check [FILE]` validates a file and prints the effective settings.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default_md(st: Setting) -> str:
    text = st.default_text()
    if st.default_doc:
        return _cell(text)
    return f"`{_cell(text)}`" if text else "(empty)"


def render_markdown() -> str:
    out = ["# smartcam.conf", "", f"<!-- {GENERATED}; do not edit by hand. -->", "", SYNTAX]
    for section, cls in SECTIONS.items():
        out += [f"## [{section}]", "", inspect.cleandoc(cls.__doc__ or ""), ""]
        out += ["| Key | Default | Allowed | Meaning |", "| --- | --- | --- | --- |"]
        for st in SETTINGS[section].values():
            secret = " Secret: shown as `********`." if st.secret else ""
            row = [f"`{st.name}`", _default_md(st), _cell(st.type.allowed), _cell(st.help)]
            out.append("| " + " | ".join(row) + secret + " |")
        out.append("")
    return "\n".join(out)


def _comment(text: str) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text, 97, break_on_hyphens=False)]


def render_example() -> str:
    out = ["# " + line if line else "#" for line in BANNER.splitlines()]
    out.append(f"# ({GENERATED}.)")
    for section, cls in SECTIONS.items():
        out += ["", f"[{section}]"] + _comment(
            " ".join(inspect.cleandoc(cls.__doc__ or "").split())
        )
        for st in SETTINGS[section].values():
            default = f" Default: {st.default_doc}." if st.default_doc else ""
            out += [""] + _comment(f"{st.name}: {st.help}{default} Allowed: {st.type.allowed}.")
            shown = st.example if st.default_doc else st.default_text()
            out.append(f"#{st.name} = {shown}" if shown else f"#{st.name} =")
    return "\n".join(out) + "\n"


def outputs(root: Path = ROOT) -> dict[Path, str]:
    return {
        root / "docs" / "config.md": render_markdown(),
        root / "smartcam.conf.example": render_example(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    drifted = [p for p, text in outputs(args.root).items() if not _same(p, text)]
    if args.check:
        for p in drifted:
            print(f"{p} is out of date: run python -m smartcam.config.docs", file=sys.stderr)
        return 1 if drifted else 0
    for p in drifted:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(outputs(args.root)[p], encoding="utf-8")
        print(f"wrote {p}")
    return 0


def _same(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except FileNotFoundError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
