"""Write settings back into smartcam.conf, changing only their value text.

The web page saves settings here, into the file the user edits by hand, so every comment,
blank line, the order and the line endings stay as they were. The result is validated
before anything is written, and written atomically, so a bad value never lands and a power
cut leaves either the old file or the new one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from smartcam.config import values as v
from smartcam.config.parse import (
    Config,
    ConfigProblems,
    Problem,
    classify,
    decode,
    from_text,
    unknown_key,
    unknown_section,
)
from smartcam.config.schema import SETTINGS
from smartcam.files import write_atomic

_VALUE = re.compile(r"(?P<prefix>[^=]*=)(?P<space>[ \t]*)(?P<value>.*?)\s*")
_COMMENTED = re.compile(r"\s*[#;]\s*(?P<key>[A-Za-z0-9_]+)\s*=.*")


def set_values(path: str | os.PathLike[str], changes: Mapping[str, Mapping[str, Any]]) -> Config:
    """Set {section: {key: value}} in the file at `path` and return the new, validated Config.

    A str value is written as its text (as a user would type it); any other value is
    formatted by its setting's type. A key the file lacks goes after its commented-out
    `#key = ...` line if there is one, else at the end of its section; a missing section
    goes at the end of the file, which is created if it does not exist. Raises
    ConfigProblems, leaving the file untouched, if the result would not be valid.
    """
    target = Path(path).resolve()  # through a symlink: edit the file, not replace the link
    file = str(path)
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        data = b""
    text, problems = decode(data, file)
    texts = _value_texts(changes, file, problems)
    if problems:
        raise ConfigProblems(problems)
    crlf = data.count(b"\r\n") * 2 > data.count(b"\n")  # new lines end like most lines do
    new_text = "\n".join(_apply(text.split("\n"), texts, "\r" if crlf else ""))
    cfg = from_text(new_text, file)  # raises, and nothing is written
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    write_atomic(target, bom + new_text.encode("utf-8"))
    return replace(cfg, path=Path(path))


def _value_texts(
    changes: Mapping[str, Mapping[str, Any]], file: str, problems: list[Problem]
) -> dict[tuple[str, str], str]:
    texts = {}
    for section, pairs in changes.items():
        if section.lower() not in SETTINGS:
            problems.append(unknown_section(file, None, section))
            continue
        for key, value in pairs.items():
            st = SETTINGS[section.lower()].get(key.lower())
            if st is None:
                problems.append(unknown_key(file, None, section.lower(), key))
                continue
            try:
                text = value if isinstance(value, str) else st.type.format(value)
            except (TypeError, ValueError, AttributeError, IndexError, KeyError, OverflowError):
                text = "\0"  # not formattable: reported just below
            if not v.printable(text):  # a line break would smuggle in another line
                message = f"expected {st.type.allowed} on one line, without control characters"
                problems.append(Problem(file, None, st.section, st.name, None, message))
            texts[st.section, st.name] = text
    return texts


def _apply(lines: list[str], texts: dict[tuple[str, str], str], cr: str) -> list[str]:
    """Lines (each may keep its "\\r") with the values set; missing keys and sections added."""
    section = None
    last: dict[str, int] = {}  # section -> its header or last entry line
    commented: dict[tuple[str, str], int] = {}
    done = set()
    for i, raw in enumerate(lines):
        line = classify(raw)
        if line.kind == "section":
            section = line.name
            last[section] = i
        elif line.kind == "entry" and section is not None:
            last[section] = i
            if (section, line.name) in texts:
                lines[i] = _with_value(raw, texts[section, line.name])
                done.add((section, line.name))
        elif line.kind == "comment" and section is not None and (m := _COMMENTED.fullmatch(raw)):
            commented.setdefault((section, m["key"].lower()), i)
    missing = [k for k in texts if k not in done]
    if not missing:
        return lines
    if lines[-1].strip():  # end the last line before adding any
        lines[-1] += cr
        lines.append("")
    inserts: list[tuple[int, str]] = []
    appended: dict[str, list[str]] = {}
    for key in missing:
        new = f"{key[1]} = {texts[key]}".rstrip() + cr
        at = commented.get(key, last.get(key[0]))
        if at is None:
            appended.setdefault(key[0], []).append(new)
        else:
            inserts.append((at + 1, new))
    # bottom up so earlier indexes stay right; reversed within one index to keep the given order
    for at, new in reversed(sorted(inserts, key=lambda x: x[0])):
        lines.insert(at, new)
    for name, entries in appended.items():
        blank = [cr] if len(lines) > 1 and lines[-2].strip() else []
        lines[-1:] = [*blank, f"[{name}]{cr}", *entries, ""]
    return lines


def _with_value(raw: str, text: str) -> str:
    cr = "\r" if raw.endswith("\r") else ""
    m = _VALUE.fullmatch(raw.removesuffix("\r"))
    assert m is not None  # classify() said it is an entry
    return (m["prefix"] + (m["space"] or " ") + text).rstrip() + cr
