"""Each role's meta/argument_specs.yml and README "Role Variables" come from defaults/main.yml.

defaults/main.yml is the one place a role variable is declared: its comment block is its
documentation, its value the default. This writes the argument specs (so a wrong type fails
before any task runs) and the README section from it; test_lint.py fails when they drift.

    python -m tests.roles.roledocs          # rewrite them
    python -m tests.roles.roledocs --check  # exit 1 and name the stale files
"""

from __future__ import annotations

import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
BEGIN = "<!-- BEGIN variables: generated from defaults/main.yml by tests/roles/roledocs.py -->"
END = "<!-- END variables -->"
# Variables a role reads but cannot declare in defaults/main.yml (which it does not own):
# name -> (type, default, description).
EXTRA: dict[str, dict[str, tuple[str, Any, str]]] = {
    "smartcam_nginx": {
        "smartcam_nginx_image_build": (
            "bool",
            "{{ smartcam_image_build | default(false) | bool }}",
            "Build an image (a chroot): install and enable, start or reload nothing. "
            "Taken from smartcam_image_build when not set.",
        ),
    },
}


@dataclass
class Var:
    name: str
    value: Any
    text: str  # the value as written in defaults/main.yml
    doc: list[str]  # comment lines (without "# ")

    @property
    def type(self) -> str:
        if self.name.endswith("_image_build"):
            return "bool"
        for t, name in (
            (bool, "bool"),
            (int, "int"),
            (float, "float"),
            (list, "list"),
            (dict, "dict"),
        ):
            if isinstance(self.value, t):
                return name
        return "str"


def read_defaults(role: Path) -> tuple[list[str], list[Var]]:
    """(the file's header comment, its variables in order, each with its comment block)."""
    path = role / "defaults" / "main.yml"
    text = path.read_text()
    values = yaml.safe_load(text) or {}
    header: list[str] = []
    block: list[str] = []
    out: list[Var] = []
    lines = text.splitlines()
    seen_var = False
    for i, line in enumerate(lines):
        if line.startswith("#"):
            block.append(line[1:].strip())
        elif not line.strip() or line == "---":
            if block and not seen_var and not header:
                header = block
            block = [] if not line.strip() else block
        elif m := re.match(r"^([a-z_][a-z0-9_]*):(.*)$", line):
            seen_var = True
            name = m.group(1)
            body = [m.group(2).strip()]
            for nxt in lines[i + 1 :]:
                if nxt.startswith((" ", "-")) and nxt.strip():
                    body.append(nxt)
                else:
                    break
            # A variable right under another (no blank line, no comment) shares its comment.
            shared = not block and out and lines[i - 1].strip() and not lines[i - 1].startswith("#")
            doc = out[-1].doc if shared else block
            out.append(Var(name, values[name], "\n".join(b for b in body if b), doc))
            block = []
    return header, out


def paragraphs(doc: list[str]) -> str:
    return " ".join(doc).strip()


def _folded(key: str, text: str, indent: int) -> list[str]:
    """key: >- and the text wrapped to 100 columns under it (yamllint's limit is 120)."""
    pad = " " * indent
    lines = textwrap.wrap(text, 100 - indent - 2, break_long_words=False, break_on_hyphens=False)
    return [f"{pad}{key}: >-", *(f"{pad}  {line}" for line in lines)]


def _value(key: str, value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, list | dict) and value:
        body = yaml.safe_dump(value, default_flow_style=False, sort_keys=False, width=1000)
        return [f"{pad}{key}:", *(f"{pad}  {line}" for line in body.splitlines())]
    text = yaml.safe_dump({key: value}, default_flow_style=True, width=1000)
    return [pad + text.strip()[1:-1]]


def argument_specs(role: Path) -> str:
    header, variables = read_defaults(role)
    rows = [(v.name, v.type, v.value, paragraphs(v.doc) or v.name) for v in variables]
    rows += [(name, t, d, doc) for name, (t, d, doc) in EXTRA.get(role.name, {}).items()]
    summary = paragraphs(header).split(". ")[0].split(": ", 1)[-1].rstrip(".")
    out = [
        "---",
        "# Generated from defaults/main.yml by tests/roles/roledocs.py: edit those.",
        "argument_specs:",
        "  main:",
        *_folded("short_description", summary[:1].upper() + summary[1:] + ".", 4),
        *_folded("description", paragraphs(header) or role.name, 4),
        "    author: smartcam",
        "    options:",
    ]
    for name, vtype, default, doc in rows:
        out.append(f"      {name}:")
        out.append(f"        type: {vtype}")
        if vtype == "list":
            out.append("        elements: str")
        out += _value("default", default, 8)
        out += _folded("description", doc, 8)
    return "\n".join(out) + "\n"


def readme_section(role: Path) -> str:
    _, variables = read_defaults(role)
    parts = [BEGIN, ""]
    for v in variables:
        shown = f"{v.name}: {v.text}" if "\n" not in v.text else f"{v.name}:\n{v.text}"
        parts += ["```yaml", shown.rstrip(), "```", "", paragraphs(v.doc), ""]
    for name, (_, default, doc) in EXTRA.get(role.name, {}).items():
        parts += ["```yaml", f'{name}: "{default}"', "```", "", doc, ""]
    parts.append(END)
    return "\n".join(parts)


def expected(role: Path) -> dict[Path, str]:
    out = {role / "meta" / "argument_specs.yml": argument_specs(role)}
    readme = role / "README.md"
    if readme.exists():
        text = readme.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            out[readme] = head + readme_section(role) + tail
    return out


def roles() -> list[Path]:
    return sorted(p for p in ROLES.iterdir() if (p / "defaults" / "main.yml").exists())


def stale() -> list[Path]:
    return [
        path
        for role in roles()
        for path, text in expected(role).items()
        if not path.exists() or path.read_text() != text
    ]


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        bad = stale()
        for path in bad:
            print(f"stale: {path} (run python -m tests.roles.roledocs)")
        return 1 if bad else 0
    for role in roles():
        for path, text in expected(role).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
