"""Read smartcam.conf into a Config: our own small INI line reader, so every problem has a line.

The file is data: no interpolation, no includes, no inline comments (a Wi-Fi password may
contain "#"). Every mistake becomes a Problem; all of them are collected and raised together
as one ConfigProblems (a ConfigError, exit status 78), never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartcam.config import values as v
from smartcam.config.checks import CHECKS
from smartcam.config.mqtt import Mqtt
from smartcam.config.rtsp import Rtsp
from smartcam.config.schema import (
    RENAMED,
    SECTIONS,
    SETTINGS,
    Camera,
    Master,
    Motion,
    Peers,
    Setting,
    Storage,
    System,
    Web,
)
from smartcam.errors import ConfigError

DEFAULT_PATHS = (Path("/boot/firmware/smartcam.conf"), Path("/boot/smartcam.conf"))
MASK = "********"
HINT = "every setting is described in smartcam.conf.example and docs/config.md"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config, located as precisely as we know."""

    file: str
    line: int | None
    section: str | None
    key: str | None
    value: str | None  # as written (secrets masked); None when no single value is at fault
    message: str  # what is wrong or what is allowed

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        what = [f"[{self.section}]"] if self.section is not None else []
        if self.key is not None:
            what.append(self.key)
        if self.value is not None:  # shortened: a bad line may be a whole binary blob
            value = self.value if len(self.value) <= 80 else self.value[:79] + "…"
            quoted = json.dumps(value, ensure_ascii=False)
            what += ["=", quoted] if what else [quoted]
        return ": ".join([where, " ".join(what), self.message] if what else [where, self.message])


class ConfigProblems(ConfigError):
    """A config with one or more problems; str() is all of them, one per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(map(str, self.problems)))


@dataclass(frozen=True)
class Config:
    """Every setting, by section; built only through validation, so its values are all valid."""

    camera: Camera = field(default_factory=Camera)
    motion: Motion = field(default_factory=Motion)
    storage: Storage = field(default_factory=Storage)
    peers: Peers = field(default_factory=Peers)
    web: Web = field(default_factory=Web)
    system: System = field(default_factory=System)
    master: Master = field(default_factory=Master)
    mqtt: Mqtt = field(default_factory=Mqtt)
    rtsp: Rtsp = field(default_factory=Rtsp)
    path: Path | None = None  # the file it was read from; None: built-in defaults or text

    def as_text(self, mask_secrets: bool = True) -> str:
        """The effective config as INI text, every setting present; parses back to an equal one."""
        origin = f" from {self.path}" if self.path else ""
        out = [f"# Effective smartcam settings{origin}, defaults filled in."]
        for section, settings in SETTINGS.items():
            out.append(f"\n[{section}]")
            for name, st in settings.items():
                text = st.type.format(getattr(getattr(self, section), name))
                text = _shown(st, text) if mask_secrets else text
                out.append(f"{name} = {text}" if text else f"{name} =")
        return "\n".join(out) + "\n"

    def replace(self, section: str, **values: Any) -> Config:
        """A new Config with some settings of one section changed, validated like the file.

        A str value is parsed as if written in the file; any other value must be of the
        setting's type (it is formatted and parsed back, which checks its range).
        """
        file = str(self.path or "<set>")
        if section not in SETTINGS:
            raise ConfigProblems([unknown_section(file, None, section)])
        current = {s: dict(getattr(self, s).as_dict()) for s in SETTINGS}
        problems, written = [], {}
        for key, value in values.items():
            st = SETTINGS[section].get(key)
            if st is None:
                problems.append(unknown_key(file, None, section, key))
                continue
            try:
                text = value if isinstance(value, str) else st.type.format(value)
            except (TypeError, ValueError, AttributeError, IndexError, KeyError, OverflowError):
                shown = MASK if st.secret else repr(value)
                problems.append(Problem(file, None, section, key, shown, expected(st, "")))
                continue
            written[(section, key)] = text
            parsed = _parse_value(st, text, file, None, problems)
            if parsed is not _FAILED:
                current[section][key] = parsed
        return _build(current, {}, written, file, self.path, problems)


_FAILED = object()


def expected(st: Setting, detail: str) -> str:
    return f"expected {st.type.allowed}" + (f"; {detail}" if detail else "")


def _shown(st: Setting, text: str) -> str:
    return MASK if st.secret and text.strip() else st.type.shown(text.strip())


def _parse_value(st: Setting, text: str, file: str, line: int | None, out: list[Problem]) -> Any:
    try:
        return st.type.parse(v.unquote(text))
    except v.Invalid as err:
        detail = str(err)
        if _INLINE_COMMENT.search(text) and not st.secret:
            detail = "; ".join(filter(None, [detail, INLINE_HINT]))
        out.append(Problem(file, line, st.section, st.name, _shown(st, text), expected(st, detail)))
        return _FAILED


_INLINE_COMMENT = re.compile(r"\s[#;]")
INLINE_HINT = "a # or ; after a value is part of it: put comments on a line of their own"


def unknown_section(file: str, line: int | None, section: str) -> Problem:
    hint = v.did_you_mean(section, list(SETTINGS))
    message = "unknown section" + (f"; {hint}" if hint else f"; sections are {', '.join(SETTINGS)}")
    return Problem(file, line, section, None, None, message)


def unknown_key(file: str, line: int | None, section: str, key: str) -> Problem:
    if (section, key) in RENAMED:
        message = f"`{key}` was renamed to `{RENAMED[section, key]}`"
    elif hint := v.did_you_mean(key, list(SETTINGS[section])):
        message = f"unknown key; {hint}"
    else:
        homes = [s for s, settings in SETTINGS.items() if key in settings]
        message = f"unknown key; it belongs in [{homes[0]}]" if homes else "unknown key"
    return Problem(file, line, section, key, None, message)


def _build(
    values: dict[str, dict[str, Any]],
    lines: Mapping[tuple[str, str], int],
    written: Mapping[tuple[str, str], str],
    file: str,
    path: Path | None,
    problems: list[Problem],
) -> Config:
    """Run the cross-setting checks on parsed values; raise every problem, or build the Config."""
    failed = {(p.section, p.key) for p in problems}
    for check in CHECKS:
        keys = (check.key, *check.uses)
        if any(k in failed for k in keys):
            continue  # a value that did not parse already has its own problem
        message = check.test(*(values[s][k] for s, k in keys))
        if message:
            line = next((lines[k] for k in keys if k in lines), None)
            st = SETTINGS[check.key[0]][check.key[1]]
            text = written.get(check.key)
            shown = None if text is None else _shown(st, text)
            problems.append(Problem(file, line, *check.key, shown, message))
    if problems:
        problems.sort(key=lambda p: p.line if p.line is not None else sys.maxsize)
        raise ConfigProblems(problems)
    return Config(**{s: SECTIONS[s](**values[s]) for s in SETTINGS}, path=path)


# --- the line reader -------------------------------------------------------------------------

_HEADER = re.compile(r"\[(?P<name>[^\]]*)\]\s*(?:[#;].*)?")
_ENTRY = re.compile(r"(?P<key>[^=]*?)\s*=(?P<value>.*)")
_BOM = "\ufeff"


@dataclass(frozen=True)
class Line:
    """One classified line: kind is blank, comment, section, entry or bad."""

    kind: str
    name: str = ""  # section name or key, stripped and lowercased
    value: str = ""  # an entry's value text as written (stripped, quotes kept)


def classify(text: str) -> Line:
    stripped = text.strip()
    if not stripped:
        return Line("blank")
    if stripped[0] in "#;":
        return Line("comment")
    if m := _HEADER.fullmatch(stripped):
        name = m["name"].strip().lower()
        return Line("section", name) if name else Line("bad", value="[]")
    m = _ENTRY.fullmatch(stripped)
    if m and m["key"] and not m["key"].startswith("["):
        return Line("entry", m["key"].lower(), m["value"].strip())
    return Line("bad", value=stripped)


_SECRET_NAMES = {st.name for settings in SETTINGS.values() for st in settings.values() if st.secret}


def _masked_line(text: str) -> str:
    """A bad line as shown in a problem, unless it may hold a secret ("password: hunter2")."""
    first = re.split(r"[^a-z0-9_]", text.lower(), maxsplit=1)[0]
    return f"{first} {MASK}" if first in _SECRET_NAMES else text


def split_lines(text: str) -> list[str]:
    """Lines without their endings; CRLF and a leading BOM are what Windows editors write."""
    return [line.removesuffix("\r") for line in text.removeprefix(_BOM).split("\n")]


def decode(data: bytes, file: str) -> tuple[str, list[Problem]]:
    """UTF-8 text of a file; each undecodable line is a Problem and is read as blank."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "", [Problem(file, None, None, None, None, "saved as UTF-16; save it as UTF-8")]
    lines, problems = [], []
    for n, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            bad = raw[err.start : err.start + 1].hex()
            message = f"not UTF-8 text (byte 0x{bad}); save the file as UTF-8"
            problems.append(Problem(file, n, None, None, None, message))
            lines.append("")
    return "\n".join(lines), problems


def _read(text: str, file: str, path: Path | None, problems: list[Problem]) -> Config:
    values: dict[str, dict[str, Any]] = {s: {} for s in SETTINGS}
    lines: dict[tuple[str, str], int] = {}
    written: dict[tuple[str, str], str] = {}
    headers: dict[str, int] = {}
    section: str | None = None  # None: before any header, or inside an unknown section
    for n, raw in enumerate(split_lines(text), 1):
        line = classify(raw)
        if line.kind == "bad":
            message = 'expected "key = value", a [section] header, or a comment starting # or ;'
            problems.append(Problem(file, n, None, None, _masked_line(line.value), message))
        elif line.kind == "section":
            section = line.name if line.name in SETTINGS else None
            if section is None:
                problems.append(unknown_section(file, n, line.name))
            elif line.name in headers:
                message = f"duplicate section; it already started on line {headers[line.name]}"
                problems.append(Problem(file, n, line.name, None, None, message))
            headers.setdefault(line.name, n)
        elif line.kind == "entry" and section is not None:
            key = (section, line.name)
            st = SETTINGS[section].get(line.name)
            if st is None:
                problems.append(unknown_key(file, n, section, line.name))
            elif key in lines:
                message = f"duplicate key; already set on line {lines[key]}"
                problems.append(Problem(file, n, section, line.name, None, message))
            else:
                lines[key], written[key] = n, line.value
                parsed = _parse_value(st, line.value, file, n, problems)
                if parsed is not _FAILED:
                    values[section][line.name] = parsed
        elif line.kind == "entry" and not headers:
            homes = [s for s, settings in SETTINGS.items() if line.name in settings]
            where = f"[{homes[0]}]" if homes else "its [section]"
            message = f"setting before any [section]; put it under {where}"
            problems.append(Problem(file, n, None, line.name, None, message))
    for section, settings in SETTINGS.items():  # defaults for what the file leaves out
        for name, st in settings.items():
            values[section].setdefault(name, st.default())
    return _build(values, lines, written, file, path, problems)


# --- public entry points ---------------------------------------------------------------------


def from_text(text: str, filename: str = "<string>") -> Config:
    """A Config from INI text (Config.path stays None); raises ConfigProblems."""
    return _read(text, filename, None, [])


def from_bytes(data: bytes, filename: str, path: Path | None = None) -> Config:
    text, problems = decode(data, filename)
    return _read(text, filename, path, problems)


def default() -> Config:
    """Every setting at its default."""
    return Config()


def find(env: Mapping[str, str] = os.environ) -> Path | None:
    """The file `load()` reads when given no path: $SMARTCAM_CONF, then the boot partition."""
    if env.get("SMARTCAM_CONF"):
        return Path(env["SMARTCAM_CONF"])
    return next((p for p in DEFAULT_PATHS if p.exists()), None)


def load(
    path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] = os.environ
) -> Config:
    """Read and validate smartcam.conf; a path given (or in $SMARTCAM_CONF) must exist."""
    found = Path(path) if path is not None else find(env)
    if found is None:
        return default()
    try:
        data = found.read_bytes()
    except FileNotFoundError:
        raise ConfigProblems(
            [Problem(str(found), None, None, None, None, "file not found")]
        ) from None
    except OSError as err:
        message = f"cannot read it: {err.strerror or err}"
        raise ConfigProblems([Problem(str(found), None, None, None, None, message)]) from None
    return from_bytes(data, str(found), found)


def setting_problem(cfg: Config, section: str, key: str, message: str) -> ConfigProblems:
    """A problem found with one setting after the file was loaded (e.g. by the hardware),
    with the file, line and value as written, as every config problem has."""
    file, line, written = str(cfg.path or "<defaults>"), None, None
    if cfg.path is not None:
        try:
            text, _ = decode(cfg.path.read_bytes(), file)
        except OSError:
            text = ""
        current = None
        for n, raw in enumerate(split_lines(text), 1):
            entry = classify(raw)
            if entry.kind == "section":
                current = entry.name
            elif entry.kind == "entry" and (current, entry.name) == (section, key):
                line, written = n, v.unquote(entry.value)
    if written is None:  # not in the file: its default
        st = SETTINGS[section][key]
        written = st.type.format(getattr(getattr(cfg, section), key))
    return ConfigProblems([Problem(file, line, section, key, written, message)])


def report(err: ConfigError, file: Any = None) -> None:
    """Print every problem of `err` on its own line, then where to read more."""
    file = file or sys.stderr
    for problem in getattr(err, "problems", None) or [err]:
        print(problem, file=file)
    print(f"smartcam: {HINT}", file=file)


def load_or_exit(path: str | os.PathLike[str] | None = None) -> Config:
    """load(), or print every problem to stderr and exit 78 so systemd does not restart-loop."""
    try:
        return load(path)
    except ConfigError as err:
        report(err)
        sys.exit(err.exit_status)
